import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { OpenedDatabase } from '../../src/store/sql/database.ts';
import { SqlRegistryStore } from '../../src/store/sql/sql-registry-store.ts';
import { UniqueViolationError } from '../../src/store/store-errors.ts';
import type { NewModelVersion } from '../../src/store/registry-store.ts';
import { storeBackends } from '../support/store-backends.ts';

/**
 * The RegistryStore contract, run unchanged against SQLite and PostgreSQL: unique names, version
 * numbers that are never handed out twice (also under concurrent creation, where PostgreSQL runs
 * the transactions in parallel), aliases, tags, stages and search.
 */

const T0 = 1_700_000_000_000;
const unique = (label: string): string => `${label}-${randomBytes(4).toString('hex')}`;

for (const backend of storeBackends) {
  describe(`RegistryStore contract: ${backend.name}`, { skip: backend.skip }, () => {
    let database: OpenedDatabase;
    let dispose: () => Promise<void>;
    let store: SqlRegistryStore;

    before(async () => {
      ({ database, dispose } = await backend.open());
      store = new SqlRegistryStore(database.db);
    });

    after(async () => {
      await dispose?.();
    });

    async function newModel(name = unique('model')): Promise<number> {
      return store.createRegisteredModel({ projectId: 1, name, description: null, userId: 'alice', tags: [], now: T0 });
    }

    function version(modelPk: number, overrides: Partial<NewModelVersion> = {}): NewModelVersion {
      return {
        modelPk,
        source: 'models:/m-123',
        storageLocation: 'mlflow-artifacts:/0/models/m-123/artifacts',
        runId: null,
        runLink: null,
        description: null,
        userId: 'alice',
        status: 'READY',
        stage: 'None',
        modelId: null,
        modelParams: [],
        modelMetrics: [],
        tags: [],
        now: T0,
        ...overrides,
      };
    }

    test('a registered model is found by name and its name is unique', async () => {
      const name = unique('unique');
      const pk = await newModel(name);
      const model = await store.getRegisteredModel(1, name);
      assert.equal(model?.pk, pk);
      assert.equal(model?.creationTimestamp, T0);
      await assert.rejects(newModel(name), UniqueViolationError);
      const other = await newModel();
      await assert.rejects(store.renameRegisteredModel(other, name, T0), UniqueViolationError);
    });

    test('version numbers count up and are not reused after a deletion', async () => {
      const pk = await newModel();
      const first = await store.createModelVersion(version(pk));
      const second = await store.createModelVersion(version(pk));
      assert.deepEqual([first.version, second.version], [1, 2]);
      await store.deleteModelVersion(second.pk, T0 + 1);
      assert.equal(await store.getModelVersion(pk, 2), undefined);
      assert.equal((await store.createModelVersion(version(pk))).version, 3);
    });

    test('concurrent version creations get distinct consecutive numbers', async () => {
      const pk = await newModel();
      const store2 = new SqlRegistryStore(database.db);
      const created = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? store : store2).createModelVersion(version(pk))));
      assert.deepEqual(created.map((v) => v.version).sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i + 1));
    });

    test('aliases point at a version and move when set again', async () => {
      const pk = await newModel();
      await store.createModelVersion(version(pk));
      await store.createModelVersion(version(pk));
      await store.setAlias(pk, 'champion', 1);
      assert.equal(await store.getAlias(pk, 'champion'), 1);
      await store.setAlias(pk, 'champion', 2);
      assert.equal(await store.getAlias(pk, 'champion'), 2);
      assert.deepEqual((await store.getModelVersion(pk, 2))?.aliases, ['champion']);
      await store.deleteAlias(pk, 'champion');
      assert.equal(await store.getAlias(pk, 'champion'), undefined);
    });

    test('tags on models and versions are replaced by key and deleting reports whether one existed', async () => {
      const pk = await newModel();
      const v1 = await store.createModelVersion(version(pk, { tags: [{ key: 'k', value: 'a' }] }));
      await store.setModelVersionTag(v1.pk, { key: 'k', value: 'b' });
      assert.deepEqual((await store.getModelVersion(pk, 1))?.tags, [{ key: 'k', value: 'b' }]);
      assert.deepEqual(await store.findVersionsByTag(pk, 'k', 'b'), [1]);
      await store.setRegisteredModelTag(pk, { key: 'team', value: 'x' });
      await store.setRegisteredModelTag(pk, { key: 'team', value: 'y' });
      const model = await store.getRegisteredModel(1, (await store.getModelVersion(pk, 1))?.name ?? '');
      assert.deepEqual(model?.tags, [{ key: 'team', value: 'y' }]);
      assert.equal(await store.deleteRegisteredModelTag(pk, 'team'), true);
      assert.equal(await store.deleteRegisteredModelTag(pk, 'team'), false);
      assert.equal(await store.deleteModelVersionTag(v1.pk, 'k'), true);
    });

    test('the latest version per stage follows stage transitions', async () => {
      const pk = await newModel();
      const v1 = await store.createModelVersion(version(pk));
      const v2 = await store.createModelVersion(version(pk));
      await store.setModelVersionStage(v1.pk, 'Production', T0 + 1);
      await store.setModelVersionStage(v2.pk, 'Production', T0 + 2);
      const archived = await store.archiveVersionsInStage(pk, 'Production', 2, T0 + 3);
      assert.deepEqual(archived.map(String), ['1']);
      const latest = new Map((await store.getLatestVersions(pk)).map((v) => [v.currentStage, v.version]));
      assert.deepEqual(Object.fromEntries(latest), { Archived: 1, Production: 2 });
    });

    test('model search filters by name with LIKE and ILIKE and pages in name order', async () => {
      const stem = unique('Search');
      for (const suffix of ['a', 'B', 'c']) await newModel(`${stem}-${suffix}`);
      const search = async (comparator: 'LIKE' | 'ILIKE', value: string, maxResults = 10) =>
        store.searchRegisteredModels({
          projectId: 1,
          filter: [{ entity: 'attribute', key: 'name', comparator, value }],
          excludePrompts: true,
          orderBy: [{ entity: 'attribute', key: 'name', ascending: true }],
          maxResults,
          page: { offset: 0, snapshot: null },
        });
      assert.deepEqual((await search('LIKE', `${stem}-b`)).items.map((m) => m.name), []);
      assert.deepEqual((await search('ILIKE', `${stem.toLowerCase()}-b`)).items.map((m) => m.name), [`${stem}-B`]);
      const page = await search('LIKE', `${stem}-%`, 2);
      assert.equal(page.items.length, 2);
      assert.ok(page.next);
    });
  });
}
