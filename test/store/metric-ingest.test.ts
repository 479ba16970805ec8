import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql, type CompiledQuery } from 'kysely';
import type { OpenedDatabase } from '../../src/store/sql/database.ts';
import { SqlTrackingStore } from '../../src/store/sql/sql-tracking-store.ts';
import type { MetricRecord } from '../../src/store/tracking-store.ts';
import { assertRollupsMatch } from '../support/rollups.ts';
import { storeBackends } from '../support/store-backends.ts';

/**
 * The metric write path on both databases: what a batch stores (points, latest value per key,
 * rollups) when it arrives out of order, repeats points within itself or re-sends stored ones, and
 * how many statements a batch costs. On PostgreSQL a batch is one statement
 * (src/store/sql/metric-ingest-postgres.ts), with a second one only when some points were already
 * stored.
 */
for (const backend of storeBackends) {
  describe(`metric ingest: ${backend.name}`, { skip: backend.skip }, () => {
    let database: OpenedDatabase;
    let dispose: () => Promise<void>;
    let store: SqlTrackingStore;
    /** Statements run while `captured` is set. */
    let captured: CompiledQuery[] | undefined;
    let runs = 0;

    before(async () => {
      ({ database, dispose } = await backend.open({ onQuery: (query) => void captured?.push(query) }));
      store = new SqlTrackingStore(database.db);
      await store.ensureDefaultExperiment('mlflow-artifacts:/0', 0);
    });
    after(async () => {
      await dispose?.();
    });

    async function newRun(): Promise<number> {
      const runId = `run${++runs}`.padEnd(32, '0');
      await store.createRun({ runId, experimentId: '0', name: runId, userId: 'u', status: 'RUNNING', startTime: 0, artifactUri: 'x', tags: [] });
      return (await store.getRunInfo(runId))!.pk;
    }

    async function rollupCount(pk: number, level: number): Promise<number> {
      const { rows } = await sql<{ n: number | string | null }>`select sum(n) as n from metric_rollups where run_id = ${pk} and level = ${level}`.execute(database.db);
      return Number(rows[0]?.n ?? 0);
    }

    async function latest(pk: number, key: string): Promise<MetricRecord | undefined> {
      const run = await store.getRun((await sql<{ run_uuid: string }>`select run_uuid from runs where id = ${pk}`.execute(database.db)).rows[0]!.run_uuid);
      return run?.metrics.find((m) => m.key === key);
    }

    test('a batch with steps out of order keeps its newest point as the latest value, and every point in the rollups', async () => {
      const pk = await newRun();
      const steps = [5, 900, 3, 901, 0, 450, 899];
      await store.logMetrics(pk, steps.map((step) => ({ key: 'loss', step, timestamp: 10, value: step / 10 })));
      assert.deepEqual(await latest(pk, 'loss'), { key: 'loss', step: 901, timestamp: 10, value: 90.1 });
      await store.logMetrics(pk, [{ key: 'loss', step: 700, timestamp: 99, value: 1 }]);
      assert.equal((await latest(pk, 'loss'))?.step, 901, 'an older step logged later does not replace the latest value');
      await assertRollupsMatch(database.db, pk, 'loss', [...steps.map((step) => ({ step, value: step / 10 })), { step: 700, value: 1 }]);
    });

    test('a batch larger than one statement, with two keys, some NaN and some points already stored, keeps every point once', async () => {
      const pk = await newRun();
      const early = Array.from({ length: 100 }, (_, i) => 4000 + i).filter((step) => step % 3 !== 0 && step % 997 !== 0);
      await store.logMetrics(pk, early.map((step) => ({ key: 'big', step, timestamp: 1, value: step })));
      const batch = Array.from({ length: 7000 }, (_, i) => ({ key: i % 3 === 0 ? 'other' : 'big', step: i, timestamp: 1, value: i % 997 === 0 ? Number.NaN : i }));
      await store.logMetrics(pk, batch);
      const stored = new Map<string, Array<{ step: number; value: number }>>([['big', early.map((step) => ({ step, value: step }))], ['other', []]]);
      for (const p of batch) {
        const list = stored.get(p.key)!;
        if (!list.some((q) => q.step === p.step && (q.value === p.value || (Number.isNaN(q.value) && Number.isNaN(p.value))))) list.push({ step: p.step, value: p.value });
      }
      for (const [key, points] of stored) {
        await assertRollupsMatch(database.db, pk, key, points);
        const history = await store.getMetricHistory({ runPk: pk, key, maxResults: 20_000, offset: 0 });
        assert.equal(history.length, points.length, key);
      }
      assert.equal((await latest(pk, 'big'))?.step, 6998);
    });

    test('a batch mixing stored points, new points and repeats within itself counts each point once', async () => {
      const pk = await newRun();
      const first = Array.from({ length: 500 }, (_, i) => ({ key: 'acc', step: i, timestamp: 1, value: i }));
      await store.logMetrics(pk, first);
      const mixed = [...first.slice(200, 400), ...Array.from({ length: 300 }, (_, i) => ({ key: 'acc', step: 500 + i, timestamp: 1, value: -i }))];
      await store.logMetrics(pk, [...mixed, ...mixed.slice(0, 50)]);
      const history = await store.getMetricHistory({ runPk: pk, key: 'acc', maxResults: 10_000, offset: 0 });
      assert.equal(history.length, 800);
      await assertRollupsMatch(database.db, pk, 'acc', [...first, ...mixed.slice(200)]);
      const series = await store.getMetricSeriesDownsampled({ runPk: pk, key: 'acc', xAxis: 'step', start: null, end: null, maxBuckets: 10 });
      assert.equal(series.totalPoints, 800);
      assert.equal(Math.min(...series.min), -299);
      assert.equal((await latest(pk, 'acc'))?.step, 799);
    });

    test('a batch of several keys, NaN and infinities, with a model id on some points only, reads back as sent', async () => {
      const pk = await newRun();
      const batch: MetricRecord[] = [
        { key: 'a', step: 0, timestamp: 1, value: Number.NaN },
        { key: 'a', step: 1, timestamp: 1, value: Number.POSITIVE_INFINITY, modelId: 'm-1' },
        { key: 'b', step: 0, timestamp: 1, value: Number.NEGATIVE_INFINITY, datasetName: 'train', datasetDigest: 'abc' },
        { key: 'b', step: 1, timestamp: 2, value: 0.1 + 0.2 },
        { key: 'c', step: 2 ** 40, timestamp: 2 ** 42, value: -1e-300 },
        { key: 'c', step: -(2 ** 40) - 3, timestamp: Number.MAX_SAFE_INTEGER, value: 5e-324 },
        { key: 'c', step: -1, timestamp: 0, value: Number.MAX_VALUE },
      ];
      await store.logMetrics(pk, batch);
      const read = async (key: string) => store.getMetricHistory({ runPk: pk, key, maxResults: 10, offset: 0 });
      assert.deepEqual(await read('a'), [
        { key: 'a', step: 0, timestamp: 1, value: Number.NaN },
        { key: 'a', step: 1, timestamp: 1, value: Number.POSITIVE_INFINITY, modelId: 'm-1' },
      ]);
      assert.deepEqual(await read('b'), [
        { key: 'b', step: 0, timestamp: 1, value: Number.NEGATIVE_INFINITY, datasetName: 'train', datasetDigest: 'abc' },
        { key: 'b', step: 1, timestamp: 2, value: 0.1 + 0.2 },
      ]);
      assert.deepEqual(await read('c'), [
        { key: 'c', step: -(2 ** 40) - 3, timestamp: Number.MAX_SAFE_INTEGER, value: 5e-324 },
        { key: 'c', step: -1, timestamp: 0, value: Number.MAX_VALUE },
        { key: 'c', step: 2 ** 40, timestamp: 2 ** 42, value: -1e-300 },
      ]);
      assert.equal((await latest(pk, 'a'))?.value, Number.POSITIVE_INFINITY);
      assert.equal((await latest(pk, 'b'))?.value, 0.1 + 0.2);
      // NaN points are stored but not rolled up.
      assert.equal(await rollupCount(pk, 2), 6);
    });

    test('concurrent batches of one run naming the same keys in opposite orders all succeed and count every point', async () => {
      const pk = await newRun();
      const keys = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'];
      const batches = Array.from({ length: 8 }, (_, b) => {
        const order = b % 2 ? [...keys].reverse() : keys;
        return order.flatMap((key) => Array.from({ length: 50 }, (_, i) => ({ key, step: b * 50 + i, timestamp: 1, value: b })));
      });
      await Promise.all(batches.map((batch) => store.logMetrics(pk, batch)));
      assert.equal(await rollupCount(pk, 2), 8 * 6 * 50);
      for (const key of keys) await assertRollupsMatch(database.db, pk, key, batches.flat().filter((p) => p.key === key));
      for (const key of keys) assert.equal((await latest(pk, key))?.step, 399);
    });

    test('concurrent batches of one series, each raising its top rollup level, leave every level complete', async () => {
      const pk = await newRun();
      // Batch b lies in a block of its own up to level b + 3: each one finds the top lower than it needs.
      const batches = Array.from({ length: 8 }, (_, b) =>
        Array.from({ length: 40 }, (_, i) => ({ key: 'spread', step: b * 8 ** (b + 3) + i * 7, timestamp: 1, value: Math.sin(b * 40 + i) })),
      );
      await Promise.all(batches.map((batch) => store.logMetrics(pk, batch)));
      await assertRollupsMatch(database.db, pk, 'spread', batches.flat());
    });

    if (backend.name === 'PostgreSQL') {
      test('a 1,000-point batch of new points is one statement; a batch with stored points adds one for their rollups', async () => {
        const pk = await newRun();
        const batch = (from: number) => Array.from({ length: 1000 }, (_, i) => ({ key: 'throughput', step: from + i, timestamp: from + i, value: Math.cos(from + i) }));
        await store.logMetrics(pk, batch(0)); // the key is created and cached
        captured = [];
        await store.logMetrics(pk, batch(1000));
        const fresh = captured.map((q) => q.sql);
        captured = [];
        await store.logMetrics(pk, batch(1500));
        const overlapping = captured.map((q) => q.sql);
        captured = undefined;
        // Each batch is its own transaction; what counts is what runs inside it.
        for (const statements of [fresh, overlapping]) {
          assert.deepEqual([statements.shift(), statements.pop()], ['begin', 'commit']);
        }
        assert.equal(fresh.length, 1, fresh.join('\n'));
        assert.match(fresh[0]!, /insert into metrics[\s\S]*insert into metric_rollups[\s\S]*insert into latest_metrics/);
        assert.equal(overlapping.length, 2, overlapping.join('\n'));
        assert.match(overlapping[1]!, /insert into "metric_rollups"/);
        assert.equal(await rollupCount(pk, 2), 2500);
      });
    }
  });
}
