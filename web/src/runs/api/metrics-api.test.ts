import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { fetchDownsampled, prefetchDownsampled } from './metrics-api.ts';

/** Prefetched downsampled requests, against a stubbed fetch. */

let sent: string[];
let failNext: boolean;

beforeEach(() => {
  sent = [];
  failNext = false;
  vi.stubGlobal('window', { location: { pathname: '/experiments/1' } });
  vi.stubGlobal('fetch', async (url: string) => {
    sent.push(url);
    if (failNext) {
      failNext = false;
      return new Response(JSON.stringify({ error_code: 'INTERNAL_ERROR', message: 'boom' }), { status: 500 });
    }
    const runIds = new URL(url, 'http://x').searchParams.getAll('run_ids');
    return new Response(JSON.stringify({ series: runIds.map((run_id) => ({ run_id, total_points: sent.length, bucketed: false, x: [], x_end: [], min: [], max: [], count: [] })) }), { status: 200 });
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
});

const request = (key: string) => ({ runIds: ['a', 'b'], key, xAxis: 'step' as const, maxBuckets: 125 });

describe('prefetchDownsampled', () => {
  test('the next fetch of the same request takes over the prefetched one instead of sending another', async () => {
    prefetchDownsampled(request('loss'));
    const response = await fetchDownsampled(request('loss'));
    expect(sent).toHaveLength(1);
    expect(response.series.map((s) => s.run_id)).toEqual(['a', 'b']);
    // Taken once: a later fetch (a reload) asks the server again.
    await fetchDownsampled(request('loss'));
    expect(sent).toHaveLength(2);
  });

  test('a fetch of a different request is not answered by a prefetch', async () => {
    prefetchDownsampled(request('acc'));
    await fetchDownsampled({ ...request('acc'), maxBuckets: 1000 });
    expect(sent).toHaveLength(2);
    expect(sent[1]).toContain('max_buckets=1000');
    await fetchDownsampled(request('acc'));
    expect(sent).toHaveLength(2);
  });

  test('a failed prefetch is retried as an ordinary request', async () => {
    failNext = true;
    prefetchDownsampled(request('lr'));
    const response = await fetchDownsampled(request('lr'));
    expect(sent).toHaveLength(2);
    expect(response.series).toHaveLength(2);
  });
});
