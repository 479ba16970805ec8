import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { OpenedDatabase } from '../../src/store/sql/database.ts';
import { SqlTrackingStore } from '../../src/store/sql/sql-tracking-store.ts';
import type { RunSearchQuery } from '../../src/store/tracking-store.ts';
import { presentRun } from '../../src/http/presenters.ts';
import { storeBackends } from '../support/store-backends.ts';

/**
 * runs/search's page and runs/get's run as wire JSON built by the database (src/store/sql/run-wire-postgres.ts) must
 * say exactly what the records of the same page say once presented (src/http/presenters.ts):
 * same fields, same order of runs and children, the same numbers and strings after parsing.
 */
const AWKWARD_VALUES = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  0.1 + 0.2,
  1e-7,
  1e21,
  1e15,
  -1.7976931348623157e308,
  5e-324,
  -0,
  3,
  2 ** 53,
  123456.789,
];
const AWKWARD_TEXT = ['plain', 'quote " and \\ backslash', 'tab\tnewline\ncr\r', 'control \u0001 \u001f \u007f', 'ünïcödé 日本 🙂', 'line sep \u2028 \u2029', ''];

for (const backend of storeBackends) {
  describe(`runs/search page as wire JSON: ${backend.name}`, { skip: backend.skip }, () => {
    let database: OpenedDatabase;
    let dispose: () => Promise<void>;
    let store: SqlTrackingStore;
    const query = (maxResults: number): RunSearchQuery => ({
      experimentIds: ['0'],
      filter: [],
      orderBy: [],
      viewType: 'ALL',
      maxResults,
      page: { offset: 0, snapshot: null },
    });

    before(async () => {
      ({ database, dispose } = await backend.open());
      store = new SqlTrackingStore(database.db);
      await store.ensureDefaultExperiment('mlflow-artifacts:/0', 0);
      for (let i = 0; i < 30; i++) {
        const runId = `wire${i}`.padEnd(32, 'a');
        const text = AWKWARD_TEXT[i % AWKWARD_TEXT.length] as string;
        await store.createRun({
          runId,
          experimentId: '0',
          name: `run ${i} ${text}`,
          userId: text,
          status: 'RUNNING',
          startTime: 1_700_000_000_000 + i,
          artifactUri: `mlflow-artifacts:/0/${runId}/artifacts`,
          tags: i % 4 === 0 ? [] : [{ key: `t ${text}`, value: text }, { key: 'a', value: `${i}` }],
        });
        const pk = (await store.getRunInfo(runId))!.pk;
        if (i % 2) await store.updateRunInfo(pk, { status: 'FINISHED', endTime: 1_700_000_000_500 + i });
        if (i % 5 === 3) await store.setRunLifecycle(pk, 'deleted', 1_700_000_001_000);
        if (i % 6 !== 0) await store.insertParams(pk, [{ key: 'lr', value: `${i / 10}` }, { key: `p ${text}`, value: text }, { key: 'Z', value: '' }]);
        if (i % 3 !== 0) {
          await store.logMetrics(pk, [
            { key: 'value', value: AWKWARD_VALUES[i % AWKWARD_VALUES.length] as number, step: i, timestamp: 2 ** 41 + i },
            { key: `m ${text}`, value: 1 / (i + 1), step: -1, timestamp: 0 },
          ]);
        }
      }
    });
    after(async () => {
      await dispose?.();
    });

    test('the page is what its records say once presented, on PostgreSQL as text and elsewhere as the records', async () => {
      for (const size of [1, 7, 30, 100]) {
        const records = await store.searchRuns(query(size));
        const page = await store.searchRunsWire(query(size));
        const presented = JSON.parse(JSON.stringify(records.items.map(presentRun))) as unknown;
        if (backend.name === 'PostgreSQL') {
          assert.ok('json' in page, 'PostgreSQL builds the text');
          assert.deepEqual(JSON.parse(page.json), presented);
        } else {
          assert.ok('items' in page, 'SQLite gives records');
          assert.deepEqual(page.items, records.items);
        }
        assert.deepEqual(page.next, records.next);
      }
    });

    test('one run (runs/get) is what its record says once presented, on PostgreSQL as text and elsewhere as the record', async () => {
      for (const run of (await store.searchRuns(query(100))).items) {
        const record = await store.getRun(run.info.runId);
        const wire = await store.getRunWire(run.info.runId);
        assert.ok(record && wire);
        assert.deepEqual(wire.info, record.info);
        if (backend.name === 'PostgreSQL') {
          assert.ok('json' in wire, 'PostgreSQL builds the text');
          assert.deepEqual(JSON.parse(wire.json), JSON.parse(JSON.stringify(presentRun(record))));
        } else {
          assert.deepEqual(wire, record);
        }
      }
      assert.equal(await store.getRunWire('f'.repeat(32)), undefined);
    });

    test('a page holding a run with dataset inputs or logged-model inputs comes back as records', async () => {
      const [first] = (await store.searchRuns(query(1))).items;
      await store.logDatasetInputs(first!.info.pk, '0', [
        { tags: [{ key: 'mlflow.data.context', value: 'training' }], dataset: { name: 'iris', digest: 'd1', sourceType: 'local', source: '{}', schema: null, profile: null } },
      ]);
      const records = await store.searchRuns(query(5));
      const page = await store.searchRunsWire(query(5));
      assert.ok('items' in page);
      assert.deepEqual(page.items, records.items);
      assert.equal(page.items[0]?.datasetInputs.length, 1);
      // runs/get of that run: its record, inputs included.
      assert.deepEqual(await store.getRunWire(first!.info.runId), await store.getRun(first!.info.runId));
      const [second] = (await store.searchRuns({ ...query(2) })).items.slice(1);
      await store.logModelInputs(second!.info.pk, ['m-1']);
      const withModel = await store.getRunWire(second!.info.runId);
      assert.ok(withModel && 'modelInputs' in withModel);
      assert.deepEqual(withModel.modelInputs, ['m-1']);
    });

    test('an empty page is an empty array', async () => {
      const page = await store.searchRunsWire({ ...query(10), experimentIds: ['424242'] });
      if ('json' in page) assert.equal(page.json, '[]');
      else assert.deepEqual(page.items, []);
    });
  });
}
