import { colorFor } from '../../common/utils/series.ts';

/** The drawn series: per run its line, or with smoothing its faint raw line and then the smoothed one. */
export function chartSeries(runs: Array<{ label: string }>, smoothed: boolean): Array<{ label: string; color: string }> {
  return runs.flatMap((r, i) => (smoothed ? [{ label: `${r.label} (raw)`, color: faded(colorFor(i)) }, { label: r.label, color: colorFor(i) }] : [{ label: r.label, color: colorFor(i) }]));
}

/** A `#rrggbb` colour at about a quarter opacity (`#rrggbbaa`). */
export function faded(color: string): string {
  return /^#[0-9a-f]{6}$/i.test(color) ? `${color}44` : color;
}
