import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase, type OpenedDatabase } from '../../src/store/sql/database.ts';
import { SqlTrackingStore } from '../../src/store/sql/sql-tracking-store.ts';
import { rollupLevelFor, rollupRowsFor } from '../../src/store/sql/metric-rollups.ts';

/**
 * Checks a downsampled series against the raw points: buckets are ordered and disjoint, at most
 * `maxBuckets` of them, and each bucket's min, max and count are exactly those of the raw points
 * between its first and last x — so every point, spikes included, is represented exactly once.
 */
function assertFaithful(
  series: { x: number[]; xEnd: number[]; min: number[]; max: number[]; count: number[] },
  points: Array<{ step: number; value: number }>,
  range: { lo: number; hi: number; maxBuckets: number },
): void {
  assert.ok(series.x.length <= range.maxBuckets, `${series.x.length} buckets`);
  const inRange = points.filter((p) => p.step >= range.lo && p.step <= range.hi).sort((a, b) => a.step - b.step);
  let cursor = 0;
  for (let i = 0; i < series.x.length; i++) {
    if (i > 0) assert.ok(series.x[i]! > series.xEnd[i - 1]!, 'buckets are ordered and disjoint');
    let min = Infinity;
    let max = -Infinity;
    let n = 0;
    while (cursor < inRange.length && inRange[cursor]!.step <= series.xEnd[i]!) {
      const p = inRange[cursor]!;
      assert.ok(p.step >= series.x[i]!, `point at step ${p.step} falls between buckets`);
      min = Math.min(min, p.value);
      max = Math.max(max, p.value);
      n++;
      cursor++;
    }
    assert.deepEqual([series.min[i], series.max[i], series.count[i]], [min, max, n], `bucket ${i}`);
  }
  assert.equal(cursor, inRange.length, 'every point in range is in a bucket');
}

describe('metric rollups', () => {
  let opened: OpenedDatabase;
  let store: SqlTrackingStore;
  before(async () => {
    opened = await openDatabase('sqlite:///:memory:');
    store = new SqlTrackingStore(opened.db);
    await store.ensureDefaultExperiment('mlflow-artifacts:/0', 0);
  });
  after(async () => {
    await opened.close();
  });

  async function runWith(points: Array<{ step: number; value: number }>, runId: string): Promise<number> {
    await store.createRun({ runId, experimentId: '0', name: runId, userId: 'u', status: 'RUNNING', startTime: 0, artifactUri: 'x', tags: [] });
    const info = await store.getRunInfo(runId);
    assert.ok(info);
    for (let i = 0; i < points.length; i += 1000) {
      await store.logMetrics(
        info.pk,
        points.slice(i, i + 1000).map((p, j) => ({ key: 'm', value: p.value, step: p.step, timestamp: i + j })),
      );
    }
    return info.pk;
  }

  test('the rollup level is the coarsest block that fits in a bucket', () => {
    assert.equal(rollupLevelFor(63), undefined);
    assert.equal(rollupLevelFor(64), 2);
    assert.equal(rollupLevelFor(1000), 3);
    assert.equal(rollupLevelFor(4096), 4);
  });

  test('incoming points are aggregated per key, level and block, with floor blocks for negative steps', () => {
    const rows = rollupRowsFor(7, [
      { key_id: 1, step: -1, value: 5, is_nan: 0 },
      { key_id: 1, step: 0, value: 2, is_nan: 0 },
      { key_id: 1, step: 63, value: 9, is_nan: 0 },
      { key_id: 1, step: 10, value: 1, is_nan: 1 },
    ]);
    const level2 = rows.filter((r) => r.level === 2).sort((a, b) => a.block - b.block);
    assert.deepEqual(
      level2.map((r) => [r.block, r.step_min, r.step_max, r.vmin, r.vmax, r.n]),
      [
        [-1, -1, -1, 5, 5, 1],
        [0, 0, 63, 2, 9, 2],
      ],
    );
  });

  test('a downsampled series read from rollups equals the brute-force buckets, spikes included', async () => {
    const points = Array.from({ length: 100_000 }, (_, i) => ({ step: i * 3, value: Math.sin(i / 500) + (i === 54_321 ? 100 : 0) }));
    const pk = await runWith(points, 'r'.repeat(32));
    const series = await store.getMetricSeriesDownsampled({ runPk: pk, key: 'm', xAxis: 'step', start: null, end: null, maxBuckets: 500 });
    assert.equal(series.bucketed, true);
    assert.equal(series.totalPoints, 100_000);
    assert.equal(Math.max(...series.max), Math.max(...points.map((p) => p.value)));
    assertFaithful(series, points, { lo: 0, hi: points.at(-1)!.step, maxBuckets: 500 });
    assert.ok(series.x.length >= 400, 'the buckets are not much coarser than asked');
  });

  test('an explicit range uses whole blocks inside it and raw points at its ragged edges', async () => {
    const points = Array.from({ length: 50_000 }, (_, i) => ({ step: i, value: (i * 7919) % 1000 }));
    const pk = await runWith(points, 's'.repeat(32));
    const start = 1234;
    const end = 45_678;
    const series = await store.getMetricSeriesDownsampled({ runPk: pk, key: 'm', xAxis: 'step', start, end, maxBuckets: 100 });
    assertFaithful(series, points, { lo: start, hi: end, maxBuckets: 100 });
    assert.equal(series.x[0], start);
    assert.equal(series.xEnd.at(-1), end);
  });

  test('re-sending points already stored does not count them twice', async () => {
    const points = Array.from({ length: 5000 }, (_, i) => ({ step: i, value: i }));
    const pk = await runWith(points, 't'.repeat(32));
    await store.logMetrics(pk, points.slice(0, 1000).map((p, j) => ({ key: 'm', value: p.value, step: p.step, timestamp: j })));
    const series = await store.getMetricSeriesDownsampled({ runPk: pk, key: 'm', xAxis: 'step', start: null, end: null, maxBuckets: 50 });
    assert.equal(series.totalPoints, 5000);
  });
});
