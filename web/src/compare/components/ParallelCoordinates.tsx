import { colorFor } from '../../common/utils/series.ts';
import { formatMetric } from '../../common/utils/format.ts';
import { extent, normalize, type Dimension } from '../utils/compare.ts';

/** Parallel coordinates in SVG: one vertical axis per dimension, one polyline per run. */
export function ParallelCoordinates({ dims, labels }: { dims: Dimension[]; labels: string[] }) {
  if (dims.length < 2) return <p className="muted">Choose at least two params or metrics.</p>;
  const width = Math.max(600, dims.length * 160);
  const height = 320;
  const top = 30;
  const bottom = 30;
  const left = 60;
  const step = (width - 2 * left) / (dims.length - 1);
  const positions = dims.map(normalize);
  const y = (t: number) => top + (1 - t) * (height - top - bottom);
  return (
    <div className="parcoords-wrap">
      <svg width={width} height={height} role="img" aria-label="Parallel coordinates of the compared runs" className="parcoords">
        {labels.map((label, run) => {
          const pts: string[] = [];
          dims.forEach((_, d) => {
            const t = positions[d]?.[run];
            if (t !== undefined) pts.push(`${left + d * step},${y(t)}`);
          });
          return (
            <polyline key={run} points={pts.join(' ')} fill="none" stroke={colorFor(run)} strokeWidth={1.6} opacity={0.8}>
              <title>{label}</title>
            </polyline>
          );
        })}
        {dims.map((dim, d) => {
          const x = left + d * step;
          const range = extent(dim);
          return (
            <g key={dim.id}>
              <line x1={x} x2={x} y1={top} y2={height - bottom} stroke="#444" />
              <text x={x} y={16} textAnchor="middle" className="axis-title">
                {dim.label}
              </text>
              {dim.kind === 'numeric' && range ? (
                <>
                  <text x={x + 4} y={top + 4} className="axis-tick">
                    {formatMetric(range[1])}
                  </text>
                  <text x={x + 4} y={height - bottom} className="axis-tick">
                    {formatMetric(range[0])}
                  </text>
                </>
              ) : (
                dim.categories.map((c, i) => (
                  <text key={c} x={x + 4} y={y(dim.categories.length <= 1 ? 0.5 : i / (dim.categories.length - 1)) + 4} className="axis-tick">
                    {c}
                  </text>
                ))
              )}
            </g>
          );
        })}
      </svg>
    </div>
  );
}

/** A scatter of two dimensions, one dot per run (categorical axes spread their categories). */
export function Scatter({ x, y, labels }: { x: Dimension; y: Dimension; labels: string[] }) {
  const width = 560;
  const height = 360;
  const pad = 50;
  const nx = normalize(x);
  const ny = normalize(y);
  const ex = extent(x);
  const ey = extent(y);
  return (
    <svg width={width} height={height} role="img" aria-label={`Scatter of ${y.label} against ${x.label}`} className="scatter">
      <line x1={pad} x2={width - 10} y1={height - pad} y2={height - pad} stroke="#444" />
      <line x1={pad} x2={pad} y1={10} y2={height - pad} stroke="#444" />
      <text x={(width + pad) / 2} y={height - 10} textAnchor="middle" className="axis-title">
        {x.label}
      </text>
      <text x={14} y={(height - pad) / 2} textAnchor="middle" transform={`rotate(-90 14 ${(height - pad) / 2})`} className="axis-title">
        {y.label}
      </text>
      {ex && (
        <>
          <text x={pad} y={height - pad + 16} className="axis-tick">
            {formatMetric(ex[0])}
          </text>
          <text x={width - 10} y={height - pad + 16} textAnchor="end" className="axis-tick">
            {formatMetric(ex[1])}
          </text>
        </>
      )}
      {ey && (
        <>
          <text x={pad - 4} y={height - pad} textAnchor="end" className="axis-tick">
            {formatMetric(ey[0])}
          </text>
          <text x={pad - 4} y={16} textAnchor="end" className="axis-tick">
            {formatMetric(ey[1])}
          </text>
        </>
      )}
      {labels.map((label, i) => {
        const tx = nx[i];
        const ty = ny[i];
        if (tx === undefined || ty === undefined) return null;
        return (
          <circle key={label + i} cx={pad + 8 + tx * (width - pad - 26)} cy={height - pad - 8 - ty * (height - pad - 26)} r={5} fill={colorFor(i)}>
            <title>
              {label}: {String(x.values[i])}, {String(y.values[i])}
            </title>
          </circle>
        );
      })}
    </svg>
  );
}
