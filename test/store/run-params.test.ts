import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CompiledQuery } from 'kysely';
import { SqlTrackingStore } from '../../src/store/sql/sql-tracking-store.ts';
import { storeBackends } from '../support/store-backends.ts';

/**
 * A log-batch's params (runs/log-batch, log-param): new keys are stored, a key stored with the same
 * value is left alone, and a key stored with another value comes back so the domain refuses the
 * batch. The check and the insert are one statement (src/store/sql/run-writes-postgres.ts and
 * run-writes-sqlite.ts).
 */
for (const backend of storeBackends) {
  describe(`inserting a batch's params: ${backend.name}`, { skip: backend.skip }, () => {
    let dispose: () => Promise<void>;
    let store: SqlTrackingStore;
    let captured: CompiledQuery[] | undefined;
    let runPk = 0;

    before(async () => {
      const opened = await backend.open({ onQuery: (query) => void captured?.push(query) });
      dispose = opened.dispose;
      store = new SqlTrackingStore(opened.database.db);
      await store.ensureDefaultExperiment('mlflow-artifacts:/0', 0);
      const run = await store.createRun({ runId: 'params1'.padEnd(32, 'a'), experimentId: '0', name: 'r', userId: 'u', status: 'RUNNING', startTime: 1, artifactUri: 'x', tags: [] });
      runPk = run.info.pk;
    });

    after(async () => {
      await dispose?.();
    });

    const sorted = (params: Array<{ key: string; value: string }>) => [...params].sort((a, b) => (a.key < b.key ? -1 : 1));

    test('new params are stored and nothing is reported as changed', async () => {
      assert.deepEqual(await store.insertParamsReturningChanged(runPk, [{ key: 'lr', value: '0.1' }, { key: 'q "x"', value: 'ü' }]), []);
      assert.deepEqual(sorted(await store.getParams(runPk, ['lr', 'q "x"'])), [{ key: 'lr', value: '0.1' }, { key: 'q "x"', value: 'ü' }]);
    });

    test('a key stored with the same value is accepted beside new keys', async () => {
      assert.deepEqual(await store.insertParamsReturningChanged(runPk, [{ key: 'lr', value: '0.1' }, { key: 'depth', value: '3' }]), []);
      assert.deepEqual(await store.getParams(runPk, ['depth']), [{ key: 'depth', value: '3' }]);
    });

    test('a key stored with another value comes back with its stored value, and the stored value is kept', async () => {
      const changed = await store.insertParamsReturningChanged(runPk, [{ key: 'lr', value: '0.2' }, { key: 'depth', value: '3' }]);
      assert.deepEqual(changed, [{ key: 'lr', value: '0.1' }]);
      assert.deepEqual(await store.getParams(runPk, ['lr']), [{ key: 'lr', value: '0.1' }]);
    });

    test('the check and the insert are one statement', async () => {
      captured = [];
      await store.insertParamsReturningChanged(runPk, [{ key: 'new1', value: 'a' }, { key: 'lr', value: '0.1' }]);
      const statements = captured.map((q) => q.sql);
      captured = undefined;
      assert.equal(statements.length, 1, statements.join('\n'));
    });
  });
}
