import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql, type CompiledQuery, type Kysely } from 'kysely';
import { SqlAuthStore } from '../../src/store/sql/sql-auth-store.ts';
import { SqlTrackingStore } from '../../src/store/sql/sql-tracking-store.ts';
import type { Database } from '../../src/store/sql/schema.ts';
import type { MetricRecord, RunBatch } from '../../src/store/tracking-store.ts';
import { storeBackends } from '../support/store-backends.ts';
import { runAuditRow } from '../support/audit-rows.ts';

/**
 * A log-batch written with its run's check (logRunBatch): on PostgreSQL one statement outside any
 * transaction (src/store/sql/log-batch-postgres.ts), all or nothing; on SQLite the store declines
 * and the domain takes its checked path in the group's transaction.
 */
for (const backend of storeBackends) {
  describe(`a log-batch with its run's check: ${backend.name}`, { skip: backend.skip }, () => {
    let dispose: () => Promise<void>;
    let store: SqlTrackingStore;
    let auth: SqlAuthStore;
    let db: Kysely<Database>;
    let captured: CompiledQuery[] | undefined;
    let runNumber = 0;

    before(async () => {
      const opened = await backend.open({ onQuery: (query) => void captured?.push(query) });
      dispose = opened.dispose;
      db = opened.database.db;
      store = new SqlTrackingStore(db);
      auth = new SqlAuthStore(db);
      await store.ensureDefaultExperiment('mlflow-artifacts:/0', 0);
      // The keys the batches use, created (and their ids cached) by an ordinary write.
      const primer = await newRun();
      await store.logMetrics(primer.pk, ['loss', 'acc', 'lr'].map((key) => ({ key, value: 0, timestamp: 1, step: 0 })));
    });

    after(async () => {
      await dispose?.();
    });

    async function newRun(): Promise<{ runId: string; pk: number }> {
      const runId = `batch${++runNumber}`.padEnd(32, 'b');
      const run = await store.createRun({ runId, experimentId: '0', name: 'r', userId: 'u', status: 'RUNNING', startTime: 1, artifactUri: 'x', tags: [] });
      return { runId, pk: run.info.pk };
    }

    const audit = (runId: string) => runAuditRow('run.log', runId, '{"metrics":3}');

    const series = (key: string, steps: number[]): MetricRecord[] =>
      steps.map((step) => ({ key, value: step % 7 === 3 ? Number.NaN : step * 0.5 - 3, timestamp: 1_000 + step, step }));

    const batch = (runId: string, fields: Partial<RunBatch> = {}): RunBatch => ({
      runId,
      projectId: 1,
      metrics: series('loss', [0, 1, 2, 3, 70, 600]),
      params: [{ key: 'lr', value: '0.1' }],
      tags: [{ key: 't', value: 'first' }, { key: 'mlflow.runName', value: 'renamed' }, { key: 't', value: 'last' }],
      runName: 'renamed',
      audit: [audit(runId)],
      ...fields,
    });

    async function written(runId: string, pk: number) {
      const run = await store.getRun(runId);
      const { rows: points } = await sql<{ n: number | string }>`select count(*) as n from metrics where run_id = ${pk}`.execute(db);
      const { rows: rollups } = await sql<{ n: number | string }>`select count(*) as n from metric_rollups where run_id = ${pk}`.execute(db);
      const entries = await auth.queryAudit({ entityId: runId, order: 'newest', limit: 10 });
      return { run, points: Number(points[0]!.n), rollups: Number(rollups[0]!.n), audit: entries.length };
    }

    if (backend.name === 'SQLite') {
      test('on SQLite the store declines and writes nothing', async () => {
        const { runId, pk } = await newRun();
        assert.equal(await store.logRunBatch(batch(runId)), false);
        const after = await written(runId, pk);
        assert.deepEqual([after.points, after.audit, after.run?.params.length, after.run?.tags.length], [0, 0, 0, 0]);
      });
      return;
    }

    test('a batch on an active run is one statement outside any transaction, and writes its points, params, tags, run name and audit entry', async () => {
      const { runId, pk } = await newRun();
      captured = [];
      assert.equal(await store.logRunBatch(batch(runId)), true);
      const statements = captured.map((q) => q.sql);
      captured = undefined;
      assert.equal(statements.length, 1, statements.join('\n'));
      const after = await written(runId, pk);
      assert.equal(after.points, 6);
      assert.deepEqual(after.run?.params, [{ key: 'lr', value: '0.1' }]);
      assert.deepEqual(after.run?.tags, [{ key: 'mlflow.runName', value: 'renamed' }, { key: 't', value: 'last' }]);
      assert.equal(after.run?.info.runName, 'renamed');
      const [entry] = await auth.queryAudit({ entityId: runId, order: 'newest', limit: 10 });
      assert.ok(entry);
      const { id: _id, ...entryWritten } = entry;
      assert.deepEqual(entryWritten, audit(runId));
    });

    test('the rollups and latest values are those the checked path writes for the same points', async () => {
      const points = [...series('loss', [5, 9, 0, 64, 63, 700, 4_000]), ...series('acc', [-3, 2, 5, 8])];
      const checked = await newRun();
      await store.logMetrics(checked.pk, points);
      const { runId, pk } = await newRun();
      assert.equal(await store.logRunBatch(batch(runId, { metrics: points, params: [], tags: [], runName: undefined })), true);
      const rollupsOf = async (run: number) =>
        (await sql`select key_id, level, block, step_min, step_max, vmin, vmax, n from metric_rollups where run_id = ${run} order by key_id, level, block`.execute(db)).rows;
      const latestOf = async (run: number) =>
        (await sql`select key_id, step, "timestamp", value, is_nan, experiment_id from latest_metrics where run_id = ${run} order by key_id`.execute(db)).rows;
      assert.deepEqual(await rollupsOf(pk), await rollupsOf(checked.pk));
      assert.deepEqual(await latestOf(pk), await latestOf(checked.pk));
      assert.deepEqual((await store.getRun(runId))?.metrics, (await store.getRun(checked.runId))?.metrics);
      // A second batch with older points keeps the newer latest value and merges the rollups.
      const older = series('loss', [1, 2]);
      await store.logMetrics(checked.pk, older);
      assert.equal(await store.logRunBatch(batch(runId, { metrics: older, params: [], tags: [], runName: undefined, audit: [] })), true);
      assert.deepEqual(await rollupsOf(pk), await rollupsOf(checked.pk));
      assert.deepEqual(await latestOf(pk), await latestOf(checked.pk));
    });

    test('nothing is written for an unknown run, a deleted one or one of another project', async () => {
      const deleted = await newRun();
      await store.setRunLifecycle(deleted.pk, 'deleted', 2);
      const other = await newRun();
      const cases: Array<[string, RunBatch, number]> = [
        ['unknown', batch('unknown'.padEnd(32, 'c')), 0],
        ['deleted', batch(deleted.runId), deleted.pk],
        ['other project', batch(other.runId, { projectId: 2 }), other.pk],
      ];
      for (const [name, refused, pk] of cases) {
        assert.equal(await store.logRunBatch(refused), false, name);
        const after = await written(refused.runId, pk);
        assert.deepEqual([after.points, after.rollups, after.audit, after.run?.params.length ?? 0, after.run?.tags.length ?? 0], [0, 0, 0, 0, 0], name);
      }
    });

    test('a batch that would change a stored param writes nothing: no metric, tag, new param or audit entry', async () => {
      const { runId, pk } = await newRun();
      await store.insertParamsReturningChanged(pk, [{ key: 'lr', value: '0.1' }]);
      const refused = batch(runId, { params: [{ key: 'aaa', value: 'new' }, { key: 'lr', value: '0.2' }] });
      assert.equal(await store.logRunBatch(refused), false);
      const after = await written(runId, pk);
      assert.deepEqual([after.points, after.rollups, after.audit], [0, 0, 0]);
      assert.deepEqual(after.run?.params, [{ key: 'lr', value: '0.1' }]);
      assert.deepEqual(after.run?.tags, []);
      assert.equal(after.run?.info.runName, 'r');
      // The same value again is no change.
      assert.equal(await store.logRunBatch(batch(runId, { params: [{ key: 'lr', value: '0.1' }] })), true);
    });

    test('a batch with a point already stored writes nothing, so its rollups are never counted twice', async () => {
      const { runId, pk } = await newRun();
      assert.equal(await store.logRunBatch(batch(runId, { tags: [], runName: undefined, params: [] })), true);
      const before = await written(runId, pk);
      assert.equal(await store.logRunBatch(batch(runId, { metrics: series('loss', [600, 601]), tags: [{ key: 'later', value: 'x' }], runName: undefined, params: [] })), false);
      const after = await written(runId, pk);
      assert.deepEqual([after.points, after.rollups, after.audit, after.run?.tags.length], [before.points, before.rollups, before.audit, 0]);
      // The same for an exact repeat within one batch.
      assert.equal(await store.logRunBatch(batch(runId, { metrics: series('acc', [1, 1]), tags: [], runName: undefined, params: [] })), false);
      assert.deepEqual((await written(runId, pk)).points, before.points);
    });

    test('a metric key whose id is not known yet is left to the checked path, with nothing written', async () => {
      const { runId, pk } = await newRun();
      captured = [];
      assert.equal(await store.logRunBatch(batch(runId, { metrics: series('never-seen-key', [1]) })), false);
      const statements = captured.length;
      captured = undefined;
      assert.equal(statements, 0);
      assert.equal((await written(runId, pk)).audit, 0);
    });

    test('two batches racing to log one new param with different values: exactly one is written, even when the second began before the first committed', async () => {
      const race = async (runId: string, hold: boolean): Promise<boolean[]> => {
        const send = () =>
          Promise.all(
            ['1', '2'].map((value) => store.logRunBatch(batch(runId, { params: [{ key: 'race', value }], tags: [{ key: `tag${value}`, value }], runName: undefined, metrics: series('acc', [Number(value)]) }))),
          );
        if (!hold) return send();
        // The audit table locked by another transaction: the first batch inserts its param and then
        // waits at its audit insert; the second waits for the first's param row with a snapshot
        // taken before the first commits (the lost update a check against the snapshot would miss).
        let sent: Promise<boolean[]> | undefined;
        await db.transaction().execute(async (trx) => {
          await sql`lock table audit_log in exclusive mode`.execute(trx);
          sent = send();
          for (let i = 0; i < 500; i++) {
            const { rows } = await sql<{ n: number | string }>`select count(*) as n from pg_locks where not granted`.execute(db);
            if (Number(rows[0]!.n) >= 2) break;
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        });
        return sent as Promise<boolean[]>;
      };
      for (const hold of [true, false, true, false]) {
        const { runId, pk } = await newRun();
        const results = await race(runId, hold);
        assert.equal(results.filter(Boolean).length, 1, `held ${hold}: ${results.join(', ')}`);
        const winner = results[0] ? '1' : '2';
        const after = await written(runId, pk);
        assert.deepEqual(after.run?.params, [{ key: 'race', value: winner }]);
        assert.deepEqual(after.run?.tags, [{ key: `tag${winner}`, value: winner }]);
        assert.deepEqual([after.points, after.audit], [1, 1]);
      }
    });
  });
}
