import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { fetchDownsampled } from './metrics-api.ts';
import { prefetchRunPage } from './run-prefetch.ts';
import { getRun } from './runs-api.ts';

/** The run page's prefetch, against a stubbed fetch. */

let sent: string[];
let stored: Record<string, string>;

beforeEach(() => {
  sent = [];
  stored = {};
  vi.stubGlobal('window', { location: { pathname: '/experiments/1' } });
  vi.stubGlobal('localStorage', { getItem: (key: string) => stored[key] ?? null });
  vi.stubGlobal('fetch', async (url: string) => {
    sent.push(url);
    const u = new URL(url, 'http://x');
    if (u.pathname.endsWith('/runs/get')) {
      const runId = u.searchParams.get('run_id');
      return Response.json({ run: { info: { run_id: runId }, data: { metrics: [{ key: 'loss' }, { key: 'acc' }, { key: 'loss' }] } } });
    }
    return Response.json({ series: [] });
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('prefetchRunPage', () => {
  test('on the metrics tab each metric’s chart request starts once the run names them, and the page takes them over', async () => {
    prefetchRunPage('1', 'r1', new URL('http://x/experiments/1/runs/r1?tab=metrics'));
    await settle();
    const paths = sent.map((url) => new URL(url, 'http://x'));
    expect(paths.map((u) => u.pathname.split('/').slice(-2).join('/'))).toEqual(['runs/get', 'experiments/get', 'metrics/history-downsampled', 'metrics/history-downsampled']);
    expect(paths.slice(2).map((u) => [u.searchParams.get('metric_key'), u.searchParams.get('x_axis'), u.searchParams.get('max_buckets')])).toEqual([
      ['loss', 'step', '1000'],
      ['acc', 'step', '1000'],
    ]);
    await getRun('r1');
    await fetchDownsampled({ runIds: ['r1'], key: 'loss', xAxis: 'step', maxBuckets: 1000 });
    expect(sent).toHaveLength(4);
  });

  test('the charts follow the stored x axis', async () => {
    stored['trove.chart-settings'] = JSON.stringify({ xMode: 'relative', logY: false, smoothing: 0 });
    prefetchRunPage('2', 'r2', new URL('http://x/experiments/2/runs/r2?tab=metrics'));
    await settle();
    expect(sent.slice(2).map((url) => new URL(url, 'http://x').searchParams.get('x_axis'))).toEqual(['timestamp', 'timestamp']);
  });

  test('other tabs prefetch only the run and its experiment', async () => {
    prefetchRunPage('3', 'r3', new URL('http://x/experiments/3/runs/r3'));
    await settle();
    expect(sent.map((url) => new URL(url, 'http://x').pathname.split('/').pop())).toEqual(['get', 'get']);
  });
});
