import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CompiledQuery } from 'kysely';
import { SqlAuthStore } from '../../src/store/sql/sql-auth-store.ts';
import { SqlTrackingStore } from '../../src/store/sql/sql-tracking-store.ts';
import { storeBackends } from '../support/store-backends.ts';
import { runAuditRow } from '../support/audit-rows.ts';

/**
 * Creating a run (runs/create): the store writes the run, its tags and the audit entries handed to
 * it, and returns the run exactly as runs/get then reads it. On PostgreSQL all of that is one
 * statement, one round trip (src/store/sql/run-writes-postgres.ts).
 */
for (const backend of storeBackends) {
  describe(`creating a run: ${backend.name}`, { skip: backend.skip }, () => {
    let dispose: () => Promise<void>;
    let store: SqlTrackingStore;
    let auth: SqlAuthStore;
    let captured: CompiledQuery[] | undefined;

    before(async () => {
      const opened = await backend.open({ onQuery: (query) => void captured?.push(query) });
      dispose = opened.dispose;
      store = new SqlTrackingStore(opened.database.db);
      auth = new SqlAuthStore(opened.database.db);
      await store.ensureDefaultExperiment('mlflow-artifacts:/0', 0);
    });

    after(async () => {
      await dispose?.();
    });

    const audit = (runId: string) => runAuditRow('run.create', runId, '{"run_name":"r"}');

    test('the run returned is the run runs/get reads, tags deduplicated (last value wins) and in the same order', async () => {
      const runId = 'create1'.padEnd(32, 'a');
      const tags = [
        { key: 'z', value: 'first' },
        { key: 'mlflow.runName', value: 'r ünïcode "q"' },
        { key: 'B', value: '' },
        { key: 'a\n"b"', value: 'x\\y' },
        { key: 'z', value: 'last' },
      ];
      const created = await store.createRun({
        runId, experimentId: '0', name: 'r ünïcode "q"', userId: 'alice', status: 'RUNNING', startTime: 2 ** 41, artifactUri: `mlflow-artifacts:/0/${runId}/artifacts`, tags,
      });
      assert.deepEqual(created, await store.getRun(runId));
      assert.deepEqual(created.tags.find((t) => t.key === 'z'), { key: 'z', value: 'last' });
      assert.equal(created.tags.length, 4);
    });

    test('a run without tags comes back with none', async () => {
      const runId = 'create2'.padEnd(32, 'a');
      const created = await store.createRun({ runId, experimentId: '0', name: 'n', userId: '', status: 'RUNNING', startTime: 1, artifactUri: 'x', tags: [] });
      assert.deepEqual(created, await store.getRun(runId));
      assert.deepEqual(created.tags, []);
    });

    test('the audit entries are written with the run', async () => {
      const runId = 'create3'.padEnd(32, 'a');
      await store.createRun({ runId, experimentId: '0', name: 'r', userId: 'u', status: 'RUNNING', startTime: 1, artifactUri: 'x', tags: [], audit: [audit(runId)] });
      const [entry] = await auth.queryAudit({ entityId: runId, order: 'newest', limit: 10 });
      assert.ok(entry);
      const { id: _id, ...written } = entry;
      assert.deepEqual(written, audit(runId));
    });

    test('a run whose id exists already is refused, and neither its tags nor its audit entry are kept', async () => {
      const runId = 'create4'.padEnd(32, 'a');
      await store.createRun({ runId, experimentId: '0', name: 'r', userId: 'u', status: 'RUNNING', startTime: 1, artifactUri: 'x', tags: [] });
      await assert.rejects(
        store.createRun({ runId, experimentId: '0', name: 'again', userId: 'u', status: 'RUNNING', startTime: 1, artifactUri: 'x', tags: [{ key: 'k', value: 'v' }], audit: [audit(runId)] }),
      );
      assert.deepEqual((await store.getRun(runId))?.tags, []);
      assert.deepEqual(await auth.queryAudit({ entityId: runId, order: 'newest', limit: 10 }), []);
    });

    test('a write reads its run with its audit entries written, and a failed write keeps none of them', async () => {
      const runId = 'create6'.padEnd(32, 'a');
      await store.createRun({ runId, experimentId: '0', name: 'r', userId: 'u', status: 'RUNNING', startTime: 1, artifactUri: 'x', tags: [] });
      const logged = { ...audit(runId), action: 'run.log' };
      const info = await store.transaction((tx) => tx.getRunInfoForWrite(runId, [logged]));
      assert.deepEqual(info, await store.getRunInfo(runId));
      assert.equal((await auth.queryAudit({ entityId: runId, action: 'run.log', order: 'newest', limit: 10 })).length, 1);
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.getRunInfoForWrite(runId, [logged]);
          throw new Error('a check failed');
        }),
        /a check failed/,
      );
      assert.equal((await auth.queryAudit({ entityId: runId, action: 'run.log', order: 'newest', limit: 10 })).length, 1);
      assert.equal(await store.transaction((tx) => tx.getRunInfoForWrite('unknown'.padEnd(32, 'a'), [])), undefined);
    });

    const inExperiment = (runId: string, experimentId: string, projectId = 1) => ({
      runId, experimentId, projectId, artifactSuffix: `/${runId}/artifacts`, name: 'r', userId: 'u', status: 'RUNNING', startTime: 1,
      tags: [
        { key: 'z', value: 'first' },
        { key: 'mlflow.runName', value: 'r' },
        { key: '\u{1F600}', value: 'astral' },
        { key: '\uFF21', value: 'fullwidth' },
        { key: 'a\n"b"', value: 'x\\y' },
        { key: 'z', value: 'last' },
      ],
      audit: [audit(runId)],
    });

    test('a run created in an active experiment of its project gets the experiment\'s location (trailing slashes dropped) and comes back as runs/get reads it', async () => {
      const experimentId = await store.createExperiment({
        projectId: 1, name: 'with-slashes', artifactLocation: 's3://bucket/exp//', artifactLocationFor: () => 'unused', tags: [], now: 1,
      });
      const runId = 'create8'.padEnd(32, 'a');
      const created = await store.createRunInExperiment(inExperiment(runId, experimentId));
      assert.ok(created);
      assert.equal(created.info.artifactUri, `s3://bucket/exp/${runId}/artifacts`);
      assert.equal(created.info.experimentId, experimentId);
      assert.deepEqual(created, await store.getRun(runId));
      assert.equal((await auth.queryAudit({ entityId: runId, order: 'newest', limit: 10 })).length, 1);
    });

    test('no run, tag or audit entry is written for an unknown experiment, one of another project or a deleted one', async () => {
      const deleted = await store.createExperiment({ projectId: 1, name: 'deleted-one', artifactLocation: 'x', artifactLocationFor: () => 'x', tags: [], now: 1 });
      await store.setExperimentLifecycle(deleted, 'deleted', 2);
      const cases: Array<[string, string, number]> = [
        ['create9'.padEnd(32, 'a'), '987654', 1],
        ['create10'.padEnd(32, 'a'), '0', 2],
        ['create11'.padEnd(32, 'a'), deleted, 1],
      ];
      for (const [runId, experimentId, projectId] of cases) {
        assert.equal(await store.createRunInExperiment(inExperiment(runId, experimentId, projectId)), undefined, experimentId);
        assert.equal(await store.getRun(runId), undefined);
        assert.deepEqual(await auth.queryAudit({ entityId: runId, order: 'newest', limit: 10 }), []);
      }
    });

    if (backend.name === 'PostgreSQL') {
      test('on PostgreSQL a write\'s run read and its audit entry are one statement', async () => {
        const runId = 'create7'.padEnd(32, 'a');
        await store.createRun({ runId, experimentId: '0', name: 'r', userId: 'u', status: 'RUNNING', startTime: 1, artifactUri: 'x', tags: [] });
        captured = [];
        await store.getRunInfoForWrite(runId, [audit(runId)]);
        const statements = captured.map((q) => q.sql);
        captured = undefined;
        assert.equal(statements.length, 1, statements.join('\n'));
      });

      test('on PostgreSQL the run, its tags and its audit entry are one statement', async () => {
        const runId = 'create5'.padEnd(32, 'a');
        captured = [];
        await store.createRun({ runId, experimentId: '0', name: 'r', userId: 'u', status: 'RUNNING', startTime: 1, artifactUri: 'x', tags: [{ key: 'k', value: 'v' }], audit: [audit(runId)] });
        const statements = captured.map((q) => q.sql);
        captured = undefined;
        assert.equal(statements.length, 1, statements.join('\n'));
      });

      test('on PostgreSQL a run created in a checked experiment is one statement outside any transaction', async () => {
        const runId = 'create12'.padEnd(32, 'a');
        captured = [];
        assert.ok(await store.createRunInExperiment(inExperiment(runId, '0')));
        const statements = captured.map((q) => q.sql);
        captured = undefined;
        assert.equal(statements.length, 1, statements.join('\n'));
      });
    }
  });
}
