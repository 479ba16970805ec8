import { describe, expect, it } from 'vitest';
import { effectiveFilter, parseSavedViews, parseSort, readView, saveView, writeView } from './runs-view.ts';

describe('runs view in the URL', () => {
  it('reads defaults from an empty query', () => {
    expect(readView(new URLSearchParams())).toEqual({ filter: '', lifecycle: 'ACTIVE_ONLY', since: '', groupBy: '', experiments: [], hidden: [], colors: {}, columns: undefined, charts: undefined });
  });

  it('writes a view and reads the same view back, keeping unrelated parameters', () => {
    const view = {
      filter: "params.a = 'x'",
      lifecycle: 'ALL' as const,
      since: '24h' as const,
      groupBy: 'params.penalty',
      experiments: ['4', '7'],
      hidden: ['r1'],
      colors: { r2: '#123abc' },
      columns: { visible: ['name', 'metrics.loss', 'params.a,b'], sort: { column: 'metrics.loss', desc: false } },
      charts: { sections: [{ id: 's', title: 'Bars', charts: [{ id: 'c', metric: 'loss', type: 'bar' as const, span: 2 as const, height: 180 }] }] },
    };
    const query = writeView(view, new URLSearchParams('view=chart'));
    expect(query.get('view')).toBe('chart');
    expect(readView(query)).toEqual(view);
  });

  it('ignores values it does not know instead of failing', () => {
    const view = readView(new URLSearchParams('lifecycle=BAD&since=2y&group=status&colors=notjson&cols=[1]'));
    expect(view.lifecycle).toBe('ACTIVE_ONLY');
    expect(view.since).toBe('');
    expect(view.groupBy).toBe('');
    expect(view.colors).toEqual({});
    expect(view.columns).toBeUndefined();
  });

  it('reads a sort with or without a direction', () => {
    expect(parseSort('metrics.acc:asc')).toEqual({ column: 'metrics.acc', desc: false });
    expect(parseSort('start')).toEqual({ column: 'start', desc: true });
    expect(parseSort('nonsense')).toBeUndefined();
  });

  it('adds the start of the time range to the filter, rounded to the minute', () => {
    const now = Date.UTC(2026, 0, 2, 12, 30, 45);
    const from = Date.UTC(2026, 0, 1, 12, 30, 0);
    expect(effectiveFilter('', '24h', now)).toBe(`attributes.start_time >= ${from}`);
    expect(effectiveFilter("params.a = '1'", '24h', now)).toBe(`params.a = '1' and attributes.start_time >= ${from}`);
    expect(effectiveFilter('x', '', now)).toBe('x');
  });

  it('saves views by name, replacing one of the same name', () => {
    const views = saveView(saveView([], { name: 'b', query: 'q1' }), { name: 'a', query: 'q2' });
    expect(saveView(views, { name: 'b', query: 'q3' })).toEqual([
      { name: 'a', query: 'q2' },
      { name: 'b', query: 'q3' },
    ]);
    expect(parseSavedViews([{ name: 'x', query: 'y' }, { name: 1 }])).toEqual([{ name: 'x', query: 'y' }]);
    expect(parseSavedViews('x')).toBeUndefined();
  });
});
