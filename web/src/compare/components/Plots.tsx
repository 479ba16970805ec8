import { formatMetric } from '../../common/utils/format.ts';
import { normalize, type Dimension } from '../utils/compare.ts';
import { band, boxGroups, colorScale, idwGrid, niceTicks, position } from '../utils/plots.ts';
import { useWidth } from '../hooks/useWidth.ts';
import { axisTicks } from './Axis.tsx';

const PAD = { left: 70, right: 20, top: 16, bottom: 50 };

/** Frame of a 2-D plot: axes with ticks and grid lines, titles; children draw inside. */
function Frame({
  width,
  height,
  x,
  y,
  xTicks,
  yTicks,
  label,
  testId,
  children,
}: {
  width: number;
  height: number;
  x: string;
  y: string;
  xTicks: Array<{ t: number; label: string }>;
  yTicks: Array<{ t: number; label: string }>;
  label: string;
  testId: string;
  children: React.ReactNode;
}) {
  const px = (t: number) => PAD.left + t * (width - PAD.left - PAD.right);
  const py = (t: number) => height - PAD.bottom - t * (height - PAD.top - PAD.bottom);
  return (
    <svg width={width} height={height} role="img" aria-label={label} className="plot" data-testid={testId} data-x-ticks={xTicks.length} data-y-ticks={yTicks.length}>
      {xTicks.map((tick) => (
        <g key={`x-${tick.label}`}>
          <line x1={px(tick.t)} x2={px(tick.t)} y1={PAD.top} y2={height - PAD.bottom} className="grid-line" />
          <text x={px(tick.t)} y={height - PAD.bottom + 15} textAnchor="middle" className="axis-tick">
            {tick.label.length > 14 ? `${tick.label.slice(0, 13)}…` : tick.label}
          </text>
        </g>
      ))}
      {yTicks.map((tick) => (
        <g key={`y-${tick.label}`}>
          <line x1={PAD.left} x2={width - PAD.right} y1={py(tick.t)} y2={py(tick.t)} className="grid-line" />
          <text x={PAD.left - 6} y={py(tick.t) + 3.5} textAnchor="end" className="axis-tick">
            {tick.label.length > 10 ? `${tick.label.slice(0, 9)}…` : tick.label}
          </text>
        </g>
      ))}
      {children}
      <line x1={PAD.left} x2={width - PAD.right} y1={height - PAD.bottom} y2={height - PAD.bottom} className="axis-line" />
      <line x1={PAD.left} x2={PAD.left} y1={PAD.top} y2={height - PAD.bottom} className="axis-line" />
      <text x={(width + PAD.left) / 2} y={height - 10} textAnchor="middle" className="axis-title">
        {x}
      </text>
      <text x={16} y={(height - PAD.bottom) / 2} textAnchor="middle" transform={`rotate(-90 16 ${(height - PAD.bottom) / 2})`} className="axis-title">
        {y}
      </text>
    </svg>
  );
}

function scales(width: number, height: number) {
  return {
    px: (t: number) => PAD.left + 10 + t * (width - PAD.left - PAD.right - 20),
    py: (t: number) => height - PAD.bottom - 10 - t * (height - PAD.top - PAD.bottom - 20),
  };
}

/** Ticks placed like the points (the point area is inset by 10 px from the frame). */
function insetTicks(dim: Dimension, width: number, inset = 10): Array<{ t: number; label: string }> {
  const share = inset / Math.max(1, width);
  return axisTicks(dim, 6).map((tick) => ({ ...tick, t: share + tick.t * (1 - 2 * share) }));
}

/** A scatter of two dimensions across the full width, one dot per run, coloured like the other plots. */
export function Scatter({ x, y, labels, colors }: { x: Dimension; y: Dimension; labels: string[]; colors: string[] }) {
  const [wrap, width] = useWidth<HTMLDivElement>();
  const height = 440;
  const nx = normalize(x);
  const ny = normalize(y);
  const { px, py } = scales(width, height);
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  return (
    <div ref={wrap} className="plot-wrap">
      <Frame width={width} height={height} x={x.id} y={y.id} xTicks={insetTicks(x, plotW)} yTicks={insetTicks(y, plotH)} label={`Scatter of ${y.label} against ${x.label}`} testId="scatter">
        {labels.map((label, i) => {
          const tx = nx[i];
          const ty = ny[i];
          if (tx === undefined || ty === undefined) return null;
          return (
            <circle key={`${label}-${i}`} cx={px(tx)} cy={py(ty)} r={6} fill={colors[i]} className="dot">
              <title>
                {label}: {x.label} {String(x.values[i])}, {y.label} {String(y.values[i])}
              </title>
            </circle>
          );
        })}
      </Frame>
    </div>
  );
}

/** Box plots of a metric grouped by a param's values (one box per value), with whiskers and outliers. */
export function BoxPlot({ x, y }: { x: Dimension; y: Dimension }) {
  const [wrap, width] = useWidth<HTMLDivElement>();
  const height = 360;
  const groups = boxGroups(x, y);
  if (y.kind !== 'numeric') return <p className="muted">Box plots need a numeric metric or param on the Y axis.</p>;
  if (groups.length === 0) return <p className="muted">No run has both {x.label} and {y.label}.</p>;
  const lo = Math.min(...groups.map((g) => g.stats.min));
  const hi = Math.max(...groups.map((g) => g.stats.max));
  const { py } = scales(width, height);
  const plotH = height - PAD.top - PAD.bottom;
  const share = 10 / plotH;
  const yTicks = niceTicks(lo, hi, 6).map((v) => ({ t: share + position(v, lo, hi) * (1 - 2 * share), label: formatMetric(v) }));
  const slot = (width - PAD.left - PAD.right) / groups.length;
  const boxW = Math.min(60, slot * 0.5);
  const xTicks = groups.map((g, i) => ({ t: (i + 0.5) / groups.length, label: g.group }));
  const ty = (v: number) => py(position(v, lo, hi));
  return (
    <div ref={wrap} className="plot-wrap">
      <Frame width={width} height={height} x={x.id} y={y.id} xTicks={xTicks} yTicks={yTicks} label={`Box plots of ${y.label} by ${x.label}`} testId="box-plot">
        {groups.map((g, i) => {
          const cx = PAD.left + (i + 0.5) * slot;
          const s = g.stats;
          return (
            <g key={g.group} data-box={g.group} data-count={s.count}>
              <title>
                {x.label} = {g.group}: n {s.count}, median {formatMetric(s.median)}, quartiles {formatMetric(s.q1)}–{formatMetric(s.q3)}, range {formatMetric(s.min)}–{formatMetric(s.max)}
              </title>
              <line x1={cx} x2={cx} y1={ty(s.low)} y2={ty(s.q1)} className="whisker" />
              <line x1={cx} x2={cx} y1={ty(s.q3)} y2={ty(s.high)} className="whisker" />
              <line x1={cx - boxW / 4} x2={cx + boxW / 4} y1={ty(s.low)} y2={ty(s.low)} className="whisker" />
              <line x1={cx - boxW / 4} x2={cx + boxW / 4} y1={ty(s.high)} y2={ty(s.high)} className="whisker" />
              <rect x={cx - boxW / 2} width={boxW} y={ty(s.q3)} height={Math.max(1, ty(s.q1) - ty(s.q3))} className="box" />
              <line x1={cx - boxW / 2} x2={cx + boxW / 2} y1={ty(s.median)} y2={ty(s.median)} className="median" />
              {s.outliers.map((v, k) => (
                <circle key={k} cx={cx} cy={ty(v)} r={3} className="outlier" />
              ))}
            </g>
          );
        })}
      </Frame>
    </div>
  );
}

const GRID = 40;

/**
 * A filled contour plot of a metric (z) over two dimensions: the runs' values interpolated onto a
 * grid (inverse-distance weighting) and coloured in bands; the runs are drawn on top.
 */
export function ContourPlot({ x, y, z, labels }: { x: Dimension; y: Dimension; z: Dimension; labels: string[] }) {
  const [wrap, width] = useWidth<HTMLDivElement>();
  const height = 420;
  const nx = normalize(x);
  const ny = normalize(y);
  const points = labels.flatMap((_, i) => {
    const tx = nx[i];
    const ty = ny[i];
    const zv = z.values[i];
    return tx !== undefined && ty !== undefined && typeof zv === 'number' && Number.isFinite(zv) ? [{ x: tx, y: ty, z: zv, i }] : [];
  });
  if (z.kind !== 'numeric') return <p className="muted">The contour's Z must be numeric.</p>;
  if (points.length < 3) return <p className="muted">A contour needs at least three runs with {x.label}, {y.label} and {z.label}.</p>;
  const lo = Math.min(...points.map((p) => p.z));
  const hi = Math.max(...points.map((p) => p.z));
  const grid = idwGrid(points, GRID);
  // Bands between nice values of z (so a flat field does not flicker across a boundary).
  const levels = niceTicks(lo, hi, 8);
  const { px, py } = scales(width, height);
  const cellW = (px(1) - px(0)) / GRID;
  const cellH = (py(0) - py(1)) / GRID;
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  return (
    <div ref={wrap} className="plot-wrap">
      <Frame width={width} height={height} x={x.id} y={y.id} xTicks={insetTicks(x, plotW)} yTicks={insetTicks(y, plotH)} label={`Contour of ${z.label} over ${x.label} and ${y.label}`} testId="contour">
        <g data-levels={levels.length + 1}>
          {grid.map((line, row) =>
            line.map((value, col) => (
              <rect
                key={`${row}-${col}`}
                x={px(0) + col * cellW}
                y={py(0) - (row + 1) * cellH}
                width={cellW + 0.5}
                height={cellH + 0.5}
                fill={Number.isFinite(value) ? colorScale(band(value, levels)) : 'transparent'}
              />
            )),
          )}
        </g>
        {points.map((p) => (
          <circle key={p.i} cx={px(p.x)} cy={py(p.y)} r={4.5} className="contour-point">
            <title>
              {labels[p.i]}: {z.label} {formatMetric(p.z)}
            </title>
          </circle>
        ))}
      </Frame>
    </div>
  );
}
