import { useRef, useState } from 'react';
import { normalize, type Dimension } from '../utils/compare.ts';
import { brushAfterKey, brushDescription, type Brush } from '../utils/plots.ts';
import { useWidth } from '../hooks/useWidth.ts';
import { axisTicks } from './Axis.tsx';

const HEIGHT = 380;
const TOP = 44;
const BOTTOM = 24;
const LEFT = 80;
const RIGHT = 100;
/** Below this drag length (in axis positions) a press on an axis clears its brush. */
const MIN_BRUSH = 0.01;

export interface ParallelCoordinatesProps {
  dims: Dimension[];
  labels: string[];
  /** Colour of each run's line. */
  colors: string[];
  /** Runs passing the brushes (the others are drawn grey). */
  active: boolean[];
  brushes: Record<string, Brush>;
  onBrush: (dimId: string, brush: Brush | undefined) => void;
}

/**
 * Parallel coordinates in SVG across the full width: one vertical axis per dimension with ticks
 * (nice numbers, or every category), one polyline per run. Dragging along an axis brushes a range
 * (from the keyboard: Tab to an axis, ↑/↓ move, Shift+↑/↓ resize, Esc clears); runs outside every
 * brushed range turn grey (the page filters on them). Tick labels sit on a halo
 * so lines never run through them.
 */
export function ParallelCoordinates({ dims, labels, colors, active, brushes, onBrush }: ParallelCoordinatesProps) {
  const [wrap, width] = useWidth<HTMLDivElement>();
  const [drag, setDrag] = useState<{ id: string; start: number; end: number } | undefined>(undefined);
  const svg = useRef<SVGSVGElement>(null);
  if (dims.length < 2) return <p className="muted">Choose at least two params or metrics.</p>;
  const w = Math.max(480, width);
  const step = (w - LEFT - RIGHT) / (dims.length - 1);
  const positions = dims.map(normalize);
  const y = (t: number) => TOP + (1 - t) * (HEIGHT - TOP - BOTTOM);
  const tOf = (clientY: number) => {
    const box = svg.current?.getBoundingClientRect();
    const py = clientY - (box?.top ?? 0);
    return Math.min(1, Math.max(0, 1 - (py - TOP) / (HEIGHT - TOP - BOTTOM)));
  };
  const line = (run: number) =>
    dims
      .map((_, d) => {
        const t = positions[d]?.[run];
        return t === undefined ? undefined : `${LEFT + d * step},${y(t)}`;
      })
      .filter(Boolean)
      .join(' ');
  const order = labels.map((_, i) => i).sort((a, b) => Number(active[a]) - Number(active[b]));
  const shownBrush = (id: string): Brush | undefined => (drag?.id === id ? { lo: Math.min(drag.start, drag.end), hi: Math.max(drag.start, drag.end) } : brushes[id]);

  return (
    <div className="parcoords-wrap" ref={wrap}>
      <svg
        ref={svg}
        width={w}
        height={HEIGHT}
        // A group, not an image: an image hides its children, and each axis's brush is a slider
        // that screen-reader users reach with Tab and move with the arrows.
        role="group"
        aria-label="Parallel coordinates of the compared runs"
        className="parcoords"
        data-axes={dims.length}
        data-active-runs={active.filter(Boolean).length}
      >
        {order.map((run) => (
          <polyline
            key={run}
            points={line(run)}
            fill="none"
            stroke={active[run] ? colors[run] : 'var(--inactive-line)'}
            strokeWidth={active[run] ? 1.8 : 1}
            opacity={active[run] ? 0.9 : 0.5}
            data-run={labels[run]}
            data-active={active[run] ? 'true' : 'false'}
          >
            <title>{labels[run]}</title>
          </polyline>
        ))}
        {dims.map((dim, d) => {
          const x = LEFT + d * step;
          const ticks = axisTicks(dim);
          const brush = shownBrush(dim.id);
          return (
            <g key={dim.id} data-axis={dim.id} data-ticks={ticks.length}>
              <line x1={x} x2={x} y1={TOP} y2={HEIGHT - BOTTOM} className="axis-line" />
              <text x={x} y={16} textAnchor="middle" className="axis-title">
                <title>{dim.id}</title>
                {dim.label.length > 22 ? `${dim.label.slice(0, 21)}…` : dim.label}
              </text>
              <text x={x} y={30} textAnchor="middle" className="axis-kind">
                {dim.id.startsWith('metrics.') ? 'metric' : 'param'}
              </text>
              {ticks.map((tick) => (
                <g key={tick.label}>
                  <line x1={x - 4} x2={x} y1={y(tick.t)} y2={y(tick.t)} className="axis-line" />
                  <text x={x - 7} y={y(tick.t) + 3.5} textAnchor="end" className="axis-tick halo">
                    {tick.label.length > 14 ? `${tick.label.slice(0, 13)}…` : tick.label}
                  </text>
                </g>
              ))}
              {brush && <rect x={x - 8} width={16} y={y(brush.hi)} height={Math.max(2, y(brush.lo) - y(brush.hi))} className="brush" />}
              <rect
                x={x - 14}
                width={28}
                y={TOP - 4}
                height={HEIGHT - TOP - BOTTOM + 8}
                className="brush-target"
                data-brush-target={dim.id}
                role="slider"
                aria-label={`Brush ${dim.label}`}
                aria-orientation="vertical"
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={brush ? Math.round(((brush.lo + brush.hi) / 2) * 100) : 50}
                aria-valuetext={brushDescription(dim, brush)}
                onPointerDown={(e) => {
                  e.currentTarget.setPointerCapture(e.pointerId);
                  const t = tOf(e.clientY);
                  setDrag({ id: dim.id, start: t, end: t });
                }}
                onPointerMove={(e) => {
                  if (drag?.id === dim.id) setDrag({ ...drag, end: tOf(e.clientY) });
                }}
                onPointerUp={() => {
                  if (drag?.id !== dim.id) return;
                  const lo = Math.min(drag.start, drag.end);
                  const hi = Math.max(drag.start, drag.end);
                  onBrush(dim.id, hi - lo < MIN_BRUSH ? undefined : { lo, hi });
                  setDrag(undefined);
                }}
                tabIndex={0}
                aria-keyshortcuts="ArrowUp ArrowDown Shift+ArrowUp Shift+ArrowDown Escape"
                data-brush={brush ? `${brush.lo.toFixed(3)}-${brush.hi.toFixed(3)}` : undefined}
                onKeyDown={(e) => {
                  const next = brushAfterKey(brushes[dim.id], e.key, e.shiftKey);
                  if (next === 'ignored') return;
                  e.preventDefault();
                  onBrush(dim.id, next);
                }}
              >
                <title>Drag to filter runs by {dim.label}, click to clear; or focus the axis: ↑/↓ move the range, Shift+↑/↓ resize it, Esc clears it</title>
              </rect>
            </g>
          );
        })}
      </svg>
    </div>
  );
}
