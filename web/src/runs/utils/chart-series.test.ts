import { describe, expect, it } from 'vitest';
import { colorFor } from '../../common/utils/series.ts';
import { chartSeries, faded } from './chart-series.ts';

describe('chartSeries', () => {
  it('draws one line per run without smoothing', () => {
    expect(chartSeries([{ label: 'a' }, { label: 'b' }], false)).toEqual([
      { label: 'a', color: colorFor(0) },
      { label: 'b', color: colorFor(1) },
    ]);
  });

  it('draws the raw line faint before the smoothed one, in the run’s colour, when smoothing', () => {
    const series = chartSeries([{ label: 'a' }, { label: 'b' }], true);
    expect(series.map((s) => s.label)).toEqual(['a (raw)', 'a', 'b (raw)', 'b']);
    expect(series[0]?.color).toBe(`${colorFor(0)}44`);
    expect(series[1]?.color).toBe(colorFor(0));
    expect(series[2]?.color).toBe(`${colorFor(1)}44`);
  });

  it('leaves colours that are not #rrggbb unchanged when fading', () => {
    expect(faded('rgb(1, 2, 3)')).toBe('rgb(1, 2, 3)');
  });
});
