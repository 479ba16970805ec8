import { formatMetric } from '../../common/utils/format.ts';
import { extent, type Dimension } from '../utils/compare.ts';
import { colorScale, niceTicks, position } from '../utils/plots.ts';

/** Ticks of a dimension as (position in [0, 1], label): nice numbers on numeric axes, every category otherwise. */
export function axisTicks(dim: Dimension, count = 5): Array<{ t: number; label: string }> {
  if (dim.kind === 'categorical') {
    const n = dim.categories.length;
    return dim.categories.map((c, i) => ({ t: n <= 1 ? 0.5 : i / (n - 1), label: c }));
  }
  const range = extent(dim);
  if (!range) return [];
  return niceTicks(range[0], range[1], count).map((v) => ({ t: position(v, range[0], range[1]), label: formatMetric(v) }));
}

/** A horizontal gradient legend of the colour scale with its metric's range. */
export function ColorLegend({ label, range }: { label: string; range: [number, number] }) {
  const stops = [0, 0.25, 0.5, 0.75, 1];
  return (
    <div className="color-legend" data-testid="color-legend">
      <span className="small">{label}</span> <span className="mono small">{formatMetric(range[0])}</span>
      <span className="color-ramp" style={{ background: `linear-gradient(to right, ${stops.map((s) => colorScale(s)).join(', ')})` }} aria-hidden="true" />
      <span className="mono small">{formatMetric(range[1])}</span>
    </div>
  );
}
