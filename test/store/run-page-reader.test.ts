import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CompiledQuery } from 'kysely';
import type { OpenedDatabase } from '../../src/store/sql/database.ts';
import { SqlTrackingStore } from '../../src/store/sql/sql-tracking-store.ts';
import { readRun, readRuns } from '../../src/store/sql/sql-run-read.ts';
import type { RunRecord } from '../../src/store/tracking-store.ts';
import { storeBackends } from '../support/store-backends.ts';

/**
 * A page of runs (runs/search) and one run (runs/get) are read by different statements on
 * PostgreSQL (src/store/sql/sql-run-read.ts: page-wide JSON arrays per table against one
 * statement with per-run arrays); both must give the same runs, children in the same order.
 */
for (const backend of storeBackends) {
  describe(`run page reader: ${backend.name}`, { skip: backend.skip }, () => {
    let database: OpenedDatabase;
    let dispose: () => Promise<void>;
    let store: SqlTrackingStore;
    let captured: CompiledQuery[] | undefined;
    const pks: number[] = [];
    const runIds: string[] = [];

    before(async () => {
      ({ database, dispose } = await backend.open({ onQuery: (query) => void captured?.push(query) }));
      store = new SqlTrackingStore(database.db);
      await store.ensureDefaultExperiment('mlflow-artifacts:/0', 0);
      for (let i = 0; i < 40; i++) {
        const runId = `page${i}`.padEnd(32, 'f');
        await store.createRun({
          runId,
          experimentId: '0',
          name: `run ${i} "quoted" ünïcode`,
          userId: 'u',
          status: i % 2 ? 'FINISHED' : 'RUNNING',
          startTime: 1_700_000_000_000 + i,
          artifactUri: `mlflow-artifacts:/0/${runId}/artifacts`,
          tags: i % 5 === 0 ? [] : [{ key: 'z', value: `${i}` }, { key: 'a\n"b"', value: 'x\\y' }],
        });
        const pk = (await store.getRunInfo(runId))!.pk;
        if (i % 2) await store.updateRunInfo(pk, { status: 'FINISHED', endTime: 1_700_000_000_500 + i });
        if (i % 7 !== 0) await store.insertParams(pk, [{ key: 'lr', value: `${i / 10}` }, { key: 'Model', value: '' }, { key: 'batch', value: '32' }]);
        if (i % 3 !== 0) {
          await store.logMetrics(pk, [
            { key: 'loss', value: 1 / (i + 1), step: 2, timestamp: 5 },
            { key: 'acc', value: i % 4 === 0 ? Number.NaN : i === 5 ? Number.POSITIVE_INFINITY : 0.1 + 0.2, step: 1, timestamp: 2 ** 41 },
            { key: 'big', value: -1.7976931348623157e308, step: 2 ** 40, timestamp: 1 },
          ]);
        }
        if (i === 4) {
          await store.logDatasetInputs(pk, '0', [
            { tags: [{ key: 'mlflow.data.context', value: 'training' }], dataset: { name: 'iris', digest: 'd1', sourceType: 'local', source: '{}', schema: '{"a":1}', profile: null } },
          ]);
        }
        if (i === 6) {
          await store.logModelInputs(pk, ['m-1']);
          await store.logModelOutputs(pk, [{ modelId: 'm-2', step: 3 }]);
        }
        pks.push(pk);
        runIds.push(runId);
      }
    });
    after(async () => {
      await dispose?.();
    });

    test('a page of runs equals the runs read one by one, in the order of the ids asked for', async () => {
      const order = [...pks].reverse();
      order.splice(3, 0, 999_999); // an unknown id is left out
      const page = await readRuns(database.db, order);
      const single: RunRecord[] = [];
      for (const pk of [...pks].reverse()) single.push((await readRun(database.db, runIds[pks.indexOf(pk)]!))!);
      assert.equal(page.length, pks.length);
      assert.deepEqual(page, single);
      const withInputs = page.find((run) => run.datasetInputs.length > 0);
      assert.equal(withInputs?.datasetInputs[0]?.dataset.schema, '{"a":1}');
      assert.deepEqual(page.find((run) => run.modelInputs.length > 0)?.modelOutputs, [{ modelId: 'm-2', step: 3 }]);
    });

    test('a search page of runs without inputs costs the same number of statements whatever its size', async () => {
      const counts: number[] = [];
      for (const size of [5, 30]) {
        captured = [];
        const page = await store.searchRuns({ experimentIds: ['0'], filter: [], orderBy: [], viewType: 'ACTIVE_ONLY', maxResults: size, page: { offset: 0, snapshot: null } });
        assert.equal(page.items.length, size);
        counts.push(captured.length);
        captured = undefined;
      }
      assert.equal(counts[0], counts[1]);
    });
  });
}
