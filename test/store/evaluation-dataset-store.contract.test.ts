import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { OpenedDatabase } from '../../src/store/sql/database.ts';
import { SqlEvaluationDatasetStore } from '../../src/store/sql/sql-evaluation-dataset-store.ts';
import type { DatasetRecordRow, NewEvaluationDataset } from '../../src/store/evaluation-dataset-store.ts';
import { UniqueViolationError } from '../../src/store/store-errors.ts';
import { storeBackends } from '../support/store-backends.ts';

/**
 * The EvaluationDatasetStore contract, run unchanged against SQLite and PostgreSQL: datasets
 * scoped to their project, tags, experiment links, records unique by input hash and paged by
 * (created_time, dataset_record_id), search by links, tags and attributes, and what deleting
 * a dataset, an experiment or a project does to them.
 */

const T0 = 1_700_000_000_000;
const hex = (n = 16): string => randomBytes(n).toString('hex');

for (const backend of storeBackends) {
  describe(`EvaluationDatasetStore contract: ${backend.name}`, { skip: backend.skip }, () => {
    let database: OpenedDatabase;
    let dispose: () => Promise<void>;
    let store: SqlEvaluationDatasetStore;
    let otherProject: number;

    before(async () => {
      ({ database, dispose } = await backend.open());
      store = new SqlEvaluationDatasetStore(database.db);
      const row = await database.db.insertInto('projects').values({ name: `p-${hex(4)}`, description: null, created_at: T0 }).returning('id').executeTakeFirstOrThrow();
      otherProject = Number(row.id);
    });

    after(async () => {
      await dispose?.();
    });

    async function newExperiment(projectId = 1): Promise<number> {
      const row = await database.db
        .insertInto('experiments')
        .values({ project_id: projectId, name: `e-${hex(4)}`, artifact_location: '/tmp/x', lifecycle_stage: 'active', creation_time: T0, last_update_time: T0, deleted_time: null })
        .returning('experiment_id')
        .executeTakeFirstOrThrow();
      return Number(row.experiment_id);
    }

    async function newDataset(overrides: Partial<NewEvaluationDataset> = {}): Promise<string> {
      const datasetId = `d-${hex()}`;
      await store.createDataset({ datasetId, projectId: 1, name: `ds-${hex(4)}`, digest: 'abcd1234', createdBy: 'alice', tags: [], experimentIds: [], now: T0, ...overrides });
      return datasetId;
    }

    function record(datasetId: string, inputHash: string, createdTime = T0, overrides: Partial<DatasetRecordRow> = {}): DatasetRecordRow {
      return {
        datasetRecordId: `dr-${hex()}`,
        datasetId,
        inputHash,
        inputs: '{"q": "x"}',
        outputs: '{}',
        expectations: null,
        tags: null,
        source: null,
        sourceId: null,
        sourceType: null,
        createdTime,
        lastUpdateTime: createdTime,
        createdBy: null,
        lastUpdatedBy: null,
        ...overrides,
      };
    }

    test('a created dataset is read back with its tags sorted by key, and only in its own project', async () => {
      const id = await newDataset({ name: 'golden', tags: [{ key: 'team', value: 'ml' }, { key: 'mlflow.user', value: 'alice' }] });
      const dataset = await store.getDataset(1, id);
      assert.ok(dataset);
      assert.equal(dataset.name, 'golden');
      assert.equal(dataset.digest, 'abcd1234');
      assert.equal(dataset.createdTime, T0);
      assert.equal(dataset.createdBy, 'alice');
      assert.equal(dataset.schemaJson, null);
      assert.deepEqual(dataset.tags, [{ key: 'mlflow.user', value: 'alice' }, { key: 'team', value: 'ml' }]);
      assert.equal(await store.getDataset(otherProject, id), undefined);
      assert.equal(await store.deleteDataset(otherProject, id), false);
    });

    test('tags are overwritten by key and deleted one by one', async () => {
      const id = await newDataset({ tags: [{ key: 'env', value: 'dev' }] });
      await store.setDatasetTags(id, [{ key: 'env', value: 'prod' }, { key: 'new', value: '1' }]);
      await store.deleteDatasetTag(id, 'new');
      await store.deleteDatasetTag(id, 'never-there');
      assert.deepEqual((await store.getDataset(1, id))?.tags, [{ key: 'env', value: 'prod' }]);
    });

    test('updateDataset changes only the fields it is given', async () => {
      const id = await newDataset();
      await store.updateDataset(id, { schemaJson: '{"inputs": {}}', digest: 'ffff0000', lastUpdateTime: T0 + 5, lastUpdatedBy: null });
      const dataset = await store.getDataset(1, id);
      assert.equal(dataset?.schemaJson, '{"inputs": {}}');
      assert.equal(dataset?.profileJson, null);
      assert.equal(dataset?.digest, 'ffff0000');
      assert.equal(dataset?.lastUpdateTime, T0 + 5);
      assert.equal(dataset?.lastUpdatedBy, null);
      assert.equal(dataset?.createdBy, 'alice');
    });

    test('experiment links are added idempotently and removal reports what was linked', async () => {
      const [e1, e2, e3] = [await newExperiment(), await newExperiment(), await newExperiment()];
      const id = await newDataset({ experimentIds: [e1] });
      await store.addExperiments(id, [e1, e2, e2], T0 + 1);
      assert.deepEqual(await store.listExperimentIds(id), [e1, e2]);
      assert.deepEqual(await store.removeExperiments(id, [e2, e3]), [e2]);
      assert.deepEqual(await store.listExperimentIds(id), [e1]);
    });

    test('two records of one dataset cannot share an input hash; another dataset may', async () => {
      const a = await newDataset();
      const b = await newDataset();
      await store.insertRecords([record(a, 'h1')]);
      await assert.rejects(store.insertRecords([record(a, 'h1')]), UniqueViolationError);
      await store.insertRecords([record(b, 'h1')]);
      const found = await store.findRecordsByInputHash(a, ['h1', 'h2']);
      assert.equal(found.length, 1);
      assert.equal(found[0]?.inputHash, 'h1');
    });

    test('records are paged by (created_time, dataset_record_id) from a cursor', async () => {
      const id = await newDataset();
      const rows = [
        record(id, 'a', T0 + 2, { datasetRecordId: 'dr-b' }),
        record(id, 'b', T0 + 1, { datasetRecordId: 'dr-z' }),
        record(id, 'c', T0 + 2, { datasetRecordId: 'dr-a' }),
        record(id, 'd', T0 + 3, { datasetRecordId: 'dr-c' }),
      ];
      await store.insertRecords(rows);
      const first = await store.listRecords(id, undefined, 2);
      assert.deepEqual(first.map((r) => r.datasetRecordId), ['dr-z', 'dr-a']);
      const last = first[first.length - 1]!;
      const second = await store.listRecords(id, { createdTime: last.createdTime, datasetRecordId: last.datasetRecordId }, 2);
      assert.deepEqual(second.map((r) => r.datasetRecordId), ['dr-b', 'dr-c']);
      assert.equal(await store.countRecords(id), 4);
    });

    test('a record update changes its mutable fields only', async () => {
      const id = await newDataset();
      const row = record(id, 'u', T0, { source: '{"source_type": "HUMAN", "source_data": {}}', sourceType: 'HUMAN', createdBy: 'alice' });
      await store.insertRecords([row]);
      await store.updateRecord({ ...row, expectations: '{"a": 1}', tags: '{"k": "v"}', outputs: null, lastUpdateTime: T0 + 9, lastUpdatedBy: 'bob', createdBy: 'mallory' });
      const [stored] = await store.listRecords(id, undefined, 10);
      assert.equal(stored?.expectations, '{"a": 1}');
      assert.equal(stored?.tags, '{"k": "v"}');
      assert.equal(stored?.outputs, null);
      assert.equal(stored?.lastUpdateTime, T0 + 9);
      assert.equal(stored?.lastUpdatedBy, 'bob');
      assert.equal(stored?.createdBy, 'alice');
      assert.equal(stored?.sourceType, 'HUMAN');
    });

    test('deleteRecords deletes only records of the dataset and counts them', async () => {
      const a = await newDataset();
      const b = await newDataset();
      const ra = record(a, 'x');
      const rb = record(b, 'x');
      await store.insertRecords([ra, rb, record(a, 'y')]);
      assert.equal(await store.deleteRecords(a, [ra.datasetRecordId, rb.datasetRecordId, 'dr-none']), 1);
      assert.equal(await store.countRecords(a), 1);
      assert.equal(await store.countRecords(b), 1);
    });

    test('search filters by experiment links, tags and attributes, and orders with dataset_id as tie-breaker', async () => {
      const e1 = await newExperiment();
      const e2 = await newExperiment();
      const prefix = `s-${hex(4)}`;
      const a = await newDataset({ name: `${prefix}-a`, tags: [{ key: 'team', value: 'ml' }], experimentIds: [e1], now: T0 + 1 });
      const b = await newDataset({ name: `${prefix}-b`, tags: [{ key: 'team', value: 'data' }], experimentIds: [e1, e2], now: T0 + 2 });
      const c = await newDataset({ name: `${prefix}-c`, experimentIds: [e2], now: T0 + 2 });
      const search = async (q: Partial<Parameters<typeof store.searchDatasets>[0]>) =>
        (await store.searchDatasets({ projectId: 1, filter: [], orderBy: [], offset: 0, limit: 100, ...q })).map((d) => d.datasetId);

      assert.deepEqual(new Set(await search({ experimentIds: [e1] })), new Set([a, b]));
      assert.deepEqual(await search({ experimentIds: [] }), []);
      assert.deepEqual(await search({ experimentIds: [e1, e2], filter: [{ entity: 'tag', key: 'team', comparator: '=', value: 'ml' }] }), [a]);
      // A dataset without the tag matches no comparison on it, `!=` included.
      assert.deepEqual(await search({ experimentIds: [e1, e2], filter: [{ entity: 'tag', key: 'team', comparator: '!=', value: 'ml' }] }), [b]);
      assert.deepEqual(
        await search({ filter: [{ entity: 'attribute', key: 'name', comparator: 'IN', value: [`${prefix}-a`, `${prefix}-c`] }], orderBy: [{ entity: 'attribute', key: 'name', ascending: false }] }),
        [c, a],
      );
      assert.deepEqual(
        await search({ filter: [{ entity: 'attribute', key: 'name', comparator: 'LIKE', value: `${prefix}-%` }, { entity: 'attribute', key: 'created_time', comparator: '>=', value: T0 + 2 }] }).then((ids) => new Set(ids)),
        new Set([b, c]),
      );
      const tied = await search({ experimentIds: [e2], orderBy: [{ entity: 'attribute', key: 'created_time', ascending: false }] });
      assert.deepEqual(tied, [b, c].sort().reverse());
      assert.deepEqual(await search({ experimentIds: [e1, e2], orderBy: [{ entity: 'attribute', key: 'name', ascending: true }], offset: 1, limit: 1 }), [b]);
      assert.deepEqual(await store.searchDatasets({ projectId: otherProject, filter: [], orderBy: [], offset: 0, limit: 100 }), []);
    });

    test('deleting a dataset deletes its tags, records and links', async () => {
      const e = await newExperiment();
      const id = await newDataset({ tags: [{ key: 'k', value: 'v' }], experimentIds: [e] });
      await store.insertRecords([record(id, 'r')]);
      assert.equal(await store.deleteDataset(1, id), true);
      assert.equal(await store.getDataset(1, id), undefined);
      assert.equal(await store.countRecords(id), 0);
      assert.deepEqual(await store.listExperimentIds(id), []);
      const tags = await database.db.withTables<{ evaluation_dataset_tags: { dataset_id: string } }>().selectFrom('evaluation_dataset_tags').selectAll().where('dataset_id', '=', id).execute();
      assert.equal(tags.length, 0);
    });

    test('removing an experiment row removes its links, and removing a project removes its datasets', async () => {
      const e = await newExperiment(otherProject);
      const id = await newDataset({ projectId: otherProject, experimentIds: [e] });
      await store.insertRecords([record(id, 'p')]);
      await database.db.deleteFrom('experiments').where('experiment_id', '=', e).execute();
      assert.deepEqual(await store.listExperimentIds(id), []);
      assert.ok(await store.getDataset(otherProject, id));
      await database.db.deleteFrom('projects').where('id', '=', otherProject).execute();
      assert.equal(await store.getDataset(otherProject, id), undefined);
      assert.equal(await store.countRecords(id), 0);
    });

    test('getDatasetForUpdate reads the dataset inside a transaction, only in its own project', async () => {
      const id = await newDataset({ name: 'locked' });
      const [mine, theirs] = await store.transaction(async (tx) => [await tx.getDatasetForUpdate(1, id), await tx.getDatasetForUpdate(otherProject, id)]);
      assert.equal(mine?.name, 'locked');
      assert.equal(theirs, undefined);
    });

    test('a failed transaction leaves nothing behind', async () => {
      const id = `d-${hex()}`;
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.createDataset({ datasetId: id, projectId: 1, name: 'tx', digest: 'x', createdBy: null, tags: [{ key: 'a', value: 'b' }], experimentIds: [], now: T0 });
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await store.getDataset(1, id), undefined);
    });
  });
}
