import { describe, expect, it } from 'vitest';
import { addChart, clampHeight, addSection, defaultLayout, matchesSearch, moveChart, nextHeight, parseLayout, removeChart, removeSection, updateChart } from './charts-layout.ts';

const ids = (layout: ReturnType<typeof defaultLayout>) => layout.sections.map((s) => `${s.id}:${s.charts.map((c) => c.id).join(',')}`);

describe('charts workspace layout', () => {
  it('starts with one section holding a line chart per metric', () => {
    const layout = defaultLayout(['acc', 'loss']);
    expect(layout.sections).toHaveLength(1);
    expect(layout.sections[0]?.charts.map((c) => [c.metric, c.type])).toEqual([
      ['acc', 'line'],
      ['loss', 'line'],
    ]);
  });

  it('adds and removes sections and charts', () => {
    let layout = addSection(defaultLayout(['acc']), 'Bars', 'sB');
    layout = addChart(layout, 'sB', { metric: 'acc', type: 'bar', id: 'cB' });
    expect(ids(layout)).toEqual(['s0:c0', 'sB:cB']);
    expect(ids(removeChart(layout, 'c0'))).toEqual(['s0:', 'sB:cB']);
    expect(ids(removeSection(layout, 's0'))).toEqual(['sB:cB']);
  });

  it('moves a dragged chart before another, across sections, or to the end of a section', () => {
    let layout = addSection(defaultLayout(['a', 'b', 'c']), 'Other', 's1');
    expect(ids(moveChart(layout, 'c2', { beforeChart: 'c0' }))).toEqual(['s0:c2,c0,c1', 's1:']);
    layout = moveChart(layout, 'c1', { section: 's1' });
    expect(ids(layout)).toEqual(['s0:c0,c2', 's1:c1']);
    expect(ids(moveChart(layout, 'c0', { beforeChart: 'c0' }))).toEqual(ids(layout));
  });

  it('resizes a chart: width in columns and height cycling through the sizes', () => {
    const layout = updateChart(defaultLayout(['a']), 'c0', { span: 2, height: nextHeight(260) });
    expect(layout.sections[0]?.charts[0]).toMatchObject({ span: 2, height: 380 });
    expect(nextHeight(380)).toBe(180);
    expect(nextHeight(300)).toBe(380);
    expect(clampHeight(57)).toBe(120);
    expect(clampHeight(333)).toBe(330);
    expect(clampHeight(5000)).toBe(900);
  });

  it('reads a layout back from JSON and refuses what is not one', () => {
    const layout = addChart(defaultLayout(['a']), 's0', { metric: 'b', type: 'bar', id: 'x' });
    expect(parseLayout(JSON.parse(JSON.stringify(layout)))).toEqual(layout);
    expect(parseLayout({ sections: [{ id: 1 }] })).toBeUndefined();
    expect(parseLayout('x')).toBeUndefined();
  });

  it('finds charts by part of the metric name', () => {
    const [chart] = defaultLayout(['val_loss'])?.sections[0]?.charts ?? [];
    expect(chart && matchesSearch(chart, 'LOSS')).toBe(true);
    expect(chart && matchesSearch(chart, 'acc')).toBe(false);
  });
});
