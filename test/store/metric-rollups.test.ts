import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CompiledQuery } from 'kysely';
import { openDatabase, type OpenedDatabase } from '../../src/store/sql/database.ts';
import { SqlTrackingStore } from '../../src/store/sql/sql-tracking-store.ts';
import { rollupLevelFor, rollupRowsFor } from '../../src/store/sql/metric-rollups.ts';
import { createTestDatabase, POSTGRES_SKIP_MESSAGE, testPostgresUri } from '../support/postgres.ts';
import { assertRollupsMatch, referenceDownsample } from '../support/rollups.ts';

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

const BACKENDS: Array<{ name: string; skip: string | false; open(): Promise<{ uri: string; drop(): Promise<void> }> }> = [
  { name: 'SQLite', skip: false, open: async () => ({ uri: 'sqlite:///:memory:', drop: async () => {} }) },
  {
    name: 'PostgreSQL',
    skip: testPostgresUri() === undefined ? POSTGRES_SKIP_MESSAGE : false,
    open: () => createTestDatabase(testPostgresUri() as string, 'trove_rollups'),
  },
];

for (const backend of BACKENDS) describe(`metric rollups: ${backend.name}`, { skip: backend.skip }, () => {
  let opened: OpenedDatabase;
  let store: SqlTrackingStore;
  let drop: () => Promise<void>;
  /** Statements issued while `captured` is set. */
  let captured: CompiledQuery[] | undefined;
  before(async () => {
    const database = await backend.open();
    drop = database.drop;
    opened = await openDatabase(database.uri, { onQuery: (query) => void captured?.push(query) });
    store = new SqlTrackingStore(opened.db);
    await store.ensureDefaultExperiment('mlflow-artifacts:/0', 0);
  });
  after(async () => {
    await opened?.close();
    await drop?.();
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

  test('a batch is rolled up to its top level only, and raising the top merges the stored history into the new levels', () => {
    const first = rollupRowsFor(7, Array.from({ length: 100 }, (_, i) => ({ key_id: 1, step: i, value: i, is_nan: 0 })));
    // Steps 0-99: two blocks at level 2, one at level 3 (512 steps): the top.
    assert.deepEqual([...new Set(first.map((r) => r.level))], [2, 3]);
    const top = first.find((r) => r.level === 3)!;
    const raised = rollupRowsFor(7, [{ key_id: 1, step: 5000, value: -1, is_nan: 0 }], new Map([[1, { ...top }]]));
    // 0-5000 first share a block at level 5 (32,768 steps).
    assert.deepEqual(
      raised.map((r) => [r.level, r.block, r.step_min, r.step_max, r.vmin, r.vmax, r.n]),
      [
        [2, 78, 5000, 5000, -1, -1, 1],
        [3, 9, 5000, 5000, -1, -1, 1],
        [4, 1, 5000, 5000, -1, -1, 1],
        [4, 0, 0, 99, 0, 99, 100],
        [5, 0, 0, 5000, -1, 99, 101],
      ],
    );
    // Within the stored top block nothing above it is written.
    assert.deepEqual([...new Set(rollupRowsFor(7, [{ key_id: 1, step: 300, value: 0, is_nan: 0 }], new Map([[1, { ...top }]])).map((r) => r.level))], [2, 3]);
  });

  test('by step (PostgreSQL) a batch is rolled up to the level whose block 0 holds its last step, every level with a negative step', () => {
    const levels = (steps: number[]) => [...new Set(rollupRowsFor(7, steps.map((step) => ({ key_id: 1, step, value: step, is_nan: 0 })), 'by-step').map((r) => r.level))];
    assert.deepEqual(levels([0, 5, 63]), [2]);
    assert.deepEqual(levels([600]), [2, 3, 4]);
    assert.deepEqual(levels([4095, 3]), [2, 3, 4]);
    assert.deepEqual(levels([-1, 10]), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    assert.deepEqual(levels([8 ** 14]), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  });

  test('points arriving late and far away (timestamps as steps, negative steps), repeats and NaN keep every level and every read equal to the raw points', async () => {
    const runId = 'z'.repeat(32);
    await store.createRun({ runId, experimentId: '0', name: runId, userId: 'u', status: 'RUNNING', startTime: 0, artifactUri: 'x', tags: [] });
    const pk = (await store.getRunInfo(runId))!.pk;
    const T = 1_700_000_000_000;
    const batches: Array<Array<{ step: number; value: number; timestamp: number }>> = [
      Array.from({ length: 3000 }, (_, i) => ({ step: 2999 - i, value: Math.sin(i), timestamp: 1 })),
      Array.from({ length: 3000 }, (_, i) => ({ step: T + i * 997, value: i % 500 === 0 ? Number.NaN : Math.cos(i) * 3, timestamp: 2 })),
      [{ step: -5, value: 42, timestamp: 3 }, { step: -40_000, value: -42, timestamp: 3 }, { step: 17, value: 1e9, timestamp: 3 }, { step: 17, value: Number.NaN, timestamp: 4 }],
      Array.from({ length: 500 }, (_, i) => ({ step: 2999 - i, value: Math.sin(i), timestamp: 1 })), // stored already
      Array.from({ length: 2000 }, (_, i) => ({ step: T + 5_000_000 - i * 13, value: (i * 7919) % 101, timestamp: 5 })),
    ];
    const stored: Array<{ step: number; value: number }> = [];
    const seen = new Set<string>();
    for (const batch of batches) {
      await store.logMetrics(pk, batch.map((p) => ({ key: 'm', ...p })));
      for (const p of batch) {
        const id = `${p.step}/${p.timestamp}/${p.value}`;
        if (!seen.has(id)) stored.push({ step: p.step, value: p.value });
        seen.add(id);
      }
      await assertRollupsMatch(opened.db, pk, 'm', stored);
      const drawn = stored.filter((p) => !Number.isNaN(p.value));
      const lo = Math.min(...drawn.map((p) => p.step));
      const hi = Math.max(...drawn.map((p) => p.step));
      for (const query of [
        { start: null, end: null, maxBuckets: 100 },
        { start: null, end: null, maxBuckets: 1000 },
        { start: -1e9, end: 1e9, maxBuckets: 50 },
        { start: lo - 7, end: hi + 1e13, maxBuckets: 20 },
        { start: 123, end: 2900, maxBuckets: 30 },
        { start: T - 1e6, end: T + 4e6, maxBuckets: 200 },
      ]) {
        const inRange = drawn.filter((p) => p.step >= (query.start ?? lo) && p.step <= (query.end ?? hi)).length;
        if (inRange <= query.maxBuckets * 2) continue; // answered from the raw points
        const series = await store.getMetricSeriesDownsampled({ runPk: pk, key: 'm', xAxis: 'step', ...query });
        assert.equal(series.bucketed, true, JSON.stringify({ query, inRange, points: series.totalPoints }));
        assert.equal(series.totalPoints, inRange);
        const reference = referenceDownsample(drawn, query);
        const { x, xEnd, min, max, count } = series;
        if (reference) assert.deepEqual({ x, xEnd, min, max, count }, reference, JSON.stringify(query));
        else assertFaithful(series, drawn, { lo: query.start ?? lo, hi: query.end ?? hi, maxBuckets: query.maxBuckets });
      }
    }
  });

  test('a series of timestamp steps logged in shuffled batches reads the same as computed from its raw points', async () => {
    const T = 1_733_000_000_000;
    const points = Array.from({ length: 12_000 }, (_, i) => ({ step: T + i * 1000 + (i % 7) * 11, value: i % 1234 === 0 ? Number.NaN : Math.sin(i / 50) + (i === 7777 ? 9 : 0) }));
    const shuffled = [...points];
    let seed = 11;
    for (let i = shuffled.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const j = seed % (i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const pk = await runWith(shuffled, 'y'.repeat(32));
    await assertRollupsMatch(opened.db, pk, 'm', points);
    const drawn = points.filter((p) => !Number.isNaN(p.value));
    for (const query of [
      { start: null, end: null, maxBuckets: 500 },
      { start: null, end: null, maxBuckets: 64 },
      { start: T + 1_000_000, end: T + 9_000_000, maxBuckets: 100 },
      { start: 0, end: 2 * T, maxBuckets: 1000 },
    ]) {
      const series = await store.getMetricSeriesDownsampled({ runPk: pk, key: 'm', xAxis: 'step', ...query });
      assert.equal(series.bucketed, true);
      const { x, xEnd, min, max, count } = series;
      assert.deepEqual({ x, xEnd, min, max, count }, referenceDownsample(drawn, query), JSON.stringify(query));
    }
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

  test('points logged out of order, in shuffled batches, give the same buckets as the raw points', async () => {
    const points = Array.from({ length: 20_000 }, (_, i) => ({ step: i * 2, value: Math.cos(i / 300) * 10 + (i % 997 === 0 ? 50 : 0) }));
    const shuffled = [...points];
    let seed = 7;
    for (let i = shuffled.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const j = seed % (i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const pk = await runWith(shuffled, 'u'.repeat(32));
    for (const maxBuckets of [40, 300]) {
      const series = await store.getMetricSeriesDownsampled({ runPk: pk, key: 'm', xAxis: 'step', start: null, end: null, maxBuckets });
      assert.equal(series.totalPoints, points.length);
      assertFaithful(series, points, { lo: 0, hi: points.at(-1)!.step, maxBuckets });
    }
  });

  test('several points at one step all count, and a point repeated within a batch counts once', async () => {
    const runId = 'v'.repeat(32);
    await store.createRun({ runId, experimentId: '0', name: runId, userId: 'u', status: 'RUNNING', startTime: 0, artifactUri: 'x', tags: [] });
    const pk = (await store.getRunInfo(runId))!.pk;
    const points: Array<{ step: number; value: number }> = [];
    const batch = [];
    for (let step = 0; step < 3000; step++) {
      // Two distinct points per step (other timestamp and value) and an exact repeat of the first.
      batch.push({ key: 'm', step, timestamp: 1, value: step }, { key: 'm', step, timestamp: 2, value: -step }, { key: 'm', step, timestamp: 1, value: step });
      points.push({ step, value: step }, { step, value: -step });
    }
    await store.logMetrics(pk, batch);
    await store.logMetrics(pk, batch.slice(0, 900)); // re-sent later: nothing new
    const series = await store.getMetricSeriesDownsampled({ runPk: pk, key: 'm', xAxis: 'step', start: null, end: null, maxBuckets: 20 });
    assert.equal(series.bucketed, true);
    assert.equal(series.totalPoints, 6000);
    assertFaithful(series, points, { lo: 0, hi: 2999, maxBuckets: 20 });
  });

  test('on SQLite a batch of new points is inserted once without RETURNING, and one with an old point again with it', { skip: backend.name !== 'SQLite' }, async () => {
    const runId = 'x'.repeat(32);
    await store.createRun({ runId, experimentId: '0', name: runId, userId: 'u', status: 'RUNNING', startTime: 0, artifactUri: 'x', tags: [] });
    const pk = (await store.getRunInfo(runId))!.pk;
    const batch = (first: number) => Array.from({ length: 100 }, (_, i) => ({ key: 'm', value: first + i, step: first + i, timestamp: 1 }));
    const pointInserts = async (work: () => Promise<void>): Promise<string[]> => {
      captured = [];
      await work();
      const texts = captured.map((q) => q.sql).filter((text) => /^insert into "metrics"/.test(text));
      captured = undefined;
      return texts;
    };
    const fresh = await pointInserts(() => store.logMetrics(pk, batch(0)));
    assert.equal(fresh.length, 1);
    assert.ok(!/returning/i.test(fresh[0]!), fresh[0]);
    // Half of this batch is already stored: the insert is undone and run again with RETURNING.
    const overlapping = await pointInserts(() => store.logMetrics(pk, batch(50)));
    assert.equal(overlapping.length, 2);
    assert.ok(/returning/i.test(overlapping[1]!), overlapping[1]);
    const series = await store.getMetricSeriesDownsampled({ runPk: pk, key: 'm', xAxis: 'step', start: null, end: null, maxBuckets: 10 });
    assert.equal(series.totalPoints, 150);
    assert.deepEqual(
      [Math.min(...series.min), Math.max(...series.max), series.count.reduce((a, b) => a + b, 0)],
      [0, 149, 150],
    );
  });

  test('a long series is read from the coarsest rollup level that gives the buckets, not from its points', async () => {
    const points = Array.from({ length: 200_000 }, (_, i) => ({ step: i, value: Math.sin(i) }));
    const pk = await runWith(points, 'w'.repeat(32));
    for (const { maxBuckets, start, end } of [
      { maxBuckets: 100, start: null, end: null },
      { maxBuckets: 1000, start: null, end: null },
      { maxBuckets: 500, start: 12_345, end: 187_654 },
    ]) {
      captured = [];
      const series = await store.getMetricSeriesDownsampled({ runPk: pk, key: 'm', xAxis: 'step', start, end, maxBuckets });
      const statements = captured.map((q) => q.sql.replace(/\s+/g, ' '));
      const parameters = captured.map((q) => q.parameters);
      captured = undefined;
      const lo = start ?? 0;
      const hi = end ?? 199_999;
      assertFaithful(series, points, { lo, hi, maxBuckets });
      const width = Math.ceil((hi - lo + 1) / maxBuckets);
      const level = rollupLevelFor(width);
      assert.ok(level !== undefined && 8 ** (level + 1) > width, 'the coarsest fitting level');
      assert.ok(!statements.some((text) => /from "metrics".*group by/i.test(text)), `no GROUP BY over the points:\n${statements.join('\n')}`);
      const rollupReads = statements.map((text, i) => ({ text, params: parameters[i] ?? [] })).filter((q) => /from "metric_rollups"/.test(q.text) && /"block" >=/.test(q.text));
      assert.equal(rollupReads.length, 1, statements.join('\n'));
      assert.ok(rollupReads[0]!.params.includes(level), `read at level ${level}`);
      // Besides the first bounded read (is the series short?), the points are read only at the
      // ragged edges of an explicit range, never aggregated (no min/max scan for the extent).
      const rawReads = statements.filter((text) => /from "metrics"/.test(text) && !/ limit /.test(text));
      assert.ok(rawReads.length <= (start === null ? 0 : 2), rawReads.join('\n'));
      assert.ok(!rawReads.some((text) => /\b(min|max)\(/.test(text)), rawReads.join('\n'));
    }
  });
});
