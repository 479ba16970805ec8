import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './test-server.ts';

const URL = '/ajax-api/2.0/trove/metrics/history-downsampled';

describe('Trove downsampled metric history API', () => {
  let t: TestServer;
  let experimentId: string;
  before(async () => {
    t = await startTestServer();
    experimentId = (await t.call('POST', 'experiments/create', { name: 'downsample' })).body.experiment_id;
  });
  after(async () => {
    await t.close();
  });

  async function newRun(): Promise<string> {
    const res = await t.call('POST', 'runs/create', { experiment_id: experimentId });
    return res.body.run.info.run_id as string;
  }

  /** Logs `count` points of `key` with step i and value f(i), in batches of 1000. */
  async function logSeries(runId: string, key: string, count: number, f: (i: number) => number, t0 = 1_700_000_000_000): Promise<void> {
    for (let start = 0; start < count; start += 1000) {
      const metrics = [];
      for (let i = start; i < Math.min(count, start + 1000); i++) metrics.push({ key, value: f(i), timestamp: t0 + i * 10, step: i });
      const res = await t.call('POST', 'runs/log-batch', { run_id: runId, metrics });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
  }

  test('a short series comes back point by point, in step order', async () => {
    const runId = await newRun();
    await logSeries(runId, 'loss', 50, (i) => 1 / (i + 1));
    const res = await t.call('GET', URL, { run_ids: runId, metric_key: 'loss', max_buckets: 100 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [series] = res.body.series;
    assert.equal(series.run_id, runId);
    assert.equal(series.total_points, 50);
    assert.equal(series.bucketed, false);
    assert.deepEqual(series.x.slice(0, 3), [0, 1, 2]);
    assert.equal(series.min[1], 0.5);
    assert.deepEqual(series.min, series.max);
  });

  test('a long series is cut into min/max buckets and a single-point spike survives', async () => {
    const runId = await newRun();
    await logSeries(runId, 'acc', 20_000, (i) => (i === 12_345 ? 1000 : i === 777 ? -50 : 0.5));
    const res = await t.call('GET', URL, { run_ids: runId, metric_key: 'acc', max_buckets: 100 });
    const [series] = res.body.series;
    assert.equal(series.total_points, 20_000);
    assert.equal(series.bucketed, true);
    assert.ok(series.x.length <= 100 && series.x.length >= 99, `bucket count ${series.x.length}`);
    assert.equal(Math.max(...series.max), 1000);
    assert.equal(Math.min(...series.min), -50);
    const counts: number[] = series.count;
    assert.equal(counts.reduce((a, b) => a + b, 0), 20_000);
    // Buckets are ordered and each spans x..x_end.
    for (let i = 1; i < series.x.length; i++) assert.ok(series.x[i] > series.x_end[i - 1]);
    const spikeBucket = series.max.indexOf(1000);
    assert.ok(series.x[spikeBucket] <= 12_345 && series.x_end[spikeBucket] >= 12_345);
  });

  test('a range narrows the window (zoom) and the wall-time axis buckets timestamps', async () => {
    const runId = await newRun();
    await logSeries(runId, 'lr', 5_000, (i) => i);
    const zoom = await t.call('GET', URL, { run_ids: runId, metric_key: 'lr', start: 1000, end: 1099, max_buckets: 1000 });
    const [zoomed] = zoom.body.series;
    assert.equal(zoomed.total_points, 100);
    assert.equal(zoomed.bucketed, false);
    assert.equal(zoomed.x[0], 1000);
    assert.equal(zoomed.x.at(-1), 1099);

    const time = await t.call('GET', URL, { run_ids: runId, metric_key: 'lr', x_axis: 'timestamp', max_buckets: 10 });
    assert.equal(time.body.x_axis, 'timestamp');
    const [byTime] = time.body.series;
    assert.equal(byTime.bucketed, true);
    assert.equal(byTime.x[0], 1_700_000_000_000);
    assert.equal(byTime.x_end.at(-1), 1_700_000_000_000 + 4_999 * 10);
  });

  test('several runs come back in the order asked; NaN points are left out', async () => {
    const a = await newRun();
    const b = await newRun();
    await logSeries(a, 'm', 3, (i) => i);
    await t.call('POST', 'runs/log-metric', { run_id: b, key: 'm', value: 'NaN', timestamp: 1, step: 0 });
    await t.call('POST', 'runs/log-metric', { run_id: b, key: 'm', value: 2, timestamp: 2, step: 1 });
    const res = await t.call('GET', URL, { run_ids: [b, a], metric_key: 'm' });
    assert.deepEqual(
      res.body.series.map((s: { run_id: string }) => s.run_id),
      [b, a],
    );
    assert.equal(res.body.series[0].total_points, 1);
    assert.equal(res.body.series[1].total_points, 3);
  });

  test('an unknown metric gives an empty series, an unknown run a 404', async () => {
    const runId = await newRun();
    const empty = await t.call('GET', URL, { run_ids: runId, metric_key: 'nothing' });
    assert.equal(empty.status, 200);
    assert.equal(empty.body.series[0].total_points, 0);
    assert.deepEqual(empty.body.series[0].x, []);
    const missing = await t.call('GET', URL, { run_ids: 'f'.repeat(32), metric_key: 'm' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
  });

  test('bad parameters are INVALID_PARAMETER_VALUE', async () => {
    const runId = await newRun();
    for (const fields of [
      { run_ids: runId, metric_key: 'm', x_axis: 'epoch' },
      { run_ids: runId, metric_key: 'm', max_buckets: 0 },
      { run_ids: runId, metric_key: 'm', start: 10, end: 5 },
      { run_ids: Array.from({ length: 101 }, () => runId), metric_key: 'm' },
      { run_ids: runId },
    ]) {
      const res = await t.call('GET', URL, fields);
      assert.equal(res.status, 400, JSON.stringify(fields));
      assert.equal(res.body.error_code, 'INVALID_PARAMETER_VALUE');
    }
  });

  test('the endpoint is mirrored under /api/2.0/trove', async () => {
    const runId = await newRun();
    const res = await t.call('GET', '/api/2.0/trove/metrics/history-downsampled', { run_ids: runId, metric_key: 'x' });
    assert.equal(res.status, 200);
  });

  test('one million points reduce to 1000 buckets quickly', async () => {
    const runId = await newRun();
    // Written straight through the store: a million points over HTTP would dominate the test time.
    const info = await t.server.services.tracking.getRun(runId);
    const store = (t.server.services.tracking as unknown as { store: { logMetrics(pk: number, m: unknown[]): Promise<void> } }).store;
    for (let start = 0; start < 1_000_000; start += 50_000) {
      const points = [];
      for (let i = start; i < start + 50_000; i++) points.push({ key: 'big', value: Math.sin(i / 1000) + (i === 654_321 ? 100 : 0), timestamp: i, step: i });
      await store.logMetrics(info.info.pk, points);
    }
    const t0 = performance.now();
    const res = await t.call('GET', URL, { run_ids: runId, metric_key: 'big', max_buckets: 1000 });
    const elapsed = performance.now() - t0;
    const [series] = res.body.series;
    assert.equal(series.total_points, 1_000_000);
    assert.equal(series.x.length, 1000);
    assert.ok(Math.max(...series.max) > 100, 'the spike survives');
    assert.ok(elapsed < 3000, `took ${elapsed.toFixed(0)} ms`);
  });
});

describe('Trove run counts API', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    await t.close();
  });

  test('counts runs per experiment by lifecycle view, 0 for none', async () => {
    const a = (await t.call('POST', 'experiments/create', { name: 'a' })).body.experiment_id as string;
    const b = (await t.call('POST', 'experiments/create', { name: 'b' })).body.experiment_id as string;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await t.call('POST', 'runs/create', { experiment_id: a })).body.run.info.run_id);
    await t.call('POST', 'runs/delete', { run_id: ids[0] });
    const active = await t.call('GET', '/ajax-api/2.0/trove/experiments/run-counts', { experiment_ids: [a, b, '0'] });
    assert.equal(active.status, 200);
    assert.deepEqual(active.body.counts, { [a]: 2, [b]: 0, '0': 0 });
    const all = await t.call('GET', '/ajax-api/2.0/trove/experiments/run-counts', { experiment_ids: a, view_type: 'ALL' });
    assert.deepEqual(all.body.counts, { [a]: 3 });
    const deleted = await t.call('GET', '/ajax-api/2.0/trove/experiments/run-counts', { experiment_ids: a, view_type: 'DELETED_ONLY' });
    assert.deepEqual(deleted.body.counts, { [a]: 1 });
  });
});
