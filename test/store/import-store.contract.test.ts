import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { OpenedDatabase } from '../../src/store/sql/database.ts';
import { SqlImportStore } from '../../src/store/sql/sql-import-store.ts';
import { SqlRegistryStore } from '../../src/store/sql/sql-registry-store.ts';
import { SqlTrackingStore } from '../../src/store/sql/sql-tracking-store.ts';
import type { ImportedModelVersion } from '../../src/store/import-store.ts';
import { storeBackends } from '../support/store-backends.ts';

/**
 * The ImportStore contract on SQLite and PostgreSQL: objects inserted with the ids, times and
 * version numbers they had at the source, without upsetting the ids and numbers the ordinary
 * stores hand out afterwards, and the import state a mirror and a resume rely on.
 */

const T0 = 1_600_000_000_000;
const unique = (label: string): string => `${label}-${randomBytes(4).toString('hex')}`;

for (const backend of storeBackends) {
  describe(`ImportStore contract: ${backend.name}`, { skip: backend.skip }, () => {
    let database: OpenedDatabase;
    let dispose: () => Promise<void>;
    let imports: SqlImportStore;
    let tracking: SqlTrackingStore;
    let registry: SqlRegistryStore;

    before(async () => {
      ({ database, dispose } = await backend.open());
      imports = new SqlImportStore(database.db);
      tracking = new SqlTrackingStore(database.db);
      registry = new SqlRegistryStore(database.db);
    });

    after(async () => {
      await dispose?.();
    });

    test('an experiment keeps its id and creation time, and experiments created later get fresh ids', async () => {
      const id = 900_000 + Math.floor(Math.random() * 90_000);
      const name = unique('kept');
      const got = await imports.insertExperiment({
        experimentId: id,
        projectId: 1,
        name,
        artifactLocationFor: (e) => `mlflow-artifacts:/${e}`,
        lifecycleStage: 'deleted',
        creationTime: T0,
        lastUpdateTime: T0 + 5,
      });
      assert.equal(got, String(id));
      const stored = await tracking.getExperiment(got);
      assert.deepEqual([stored?.name, stored?.artifactLocation, stored?.lifecycleStage, stored?.creationTime, stored?.lastUpdateTime], [name, `mlflow-artifacts:/${id}`, 'deleted', T0, T0 + 5]);
      assert.equal(await imports.experimentIdTaken(id), true);
      // The ordinary path must not draw the kept id (PostgreSQL's sequence does not see explicit ids).
      const next = await tracking.createExperiment({ projectId: 1, name: unique('after'), artifactLocation: null, artifactLocationFor: (e) => `mlflow-artifacts:/${e}`, tags: [], now: T0 });
      assert.ok(Number(next) > id, `new experiment id ${next} should be past the kept id ${id}`);
    });

    test('an experiment without an id to keep gets a new one', async () => {
      const got = await imports.insertExperiment({ experimentId: null, projectId: 1, name: unique('fresh'), artifactLocationFor: (e) => `x/${e}`, lifecycleStage: 'active', creationTime: T0, lastUpdateTime: T0 });
      assert.equal((await tracking.getExperiment(got))?.artifactLocation, `x/${got}`);
    });

    test('versions keep their numbers, gaps included, and a version created later takes the next free number', async () => {
      const name = unique('model');
      const modelPk = await registry.createRegisteredModel({ projectId: 1, name, description: null, userId: null, tags: [], now: T0 });
      const base: Omit<ImportedModelVersion, 'version'> = {
        modelPk,
        creationTimestamp: T0,
        lastUpdatedTimestamp: T0 + 1,
        userId: 'ada',
        currentStage: 'Production',
        description: 'kept',
        source: 'models:/m-1',
        storageLocation: 'mlflow-artifacts:/registry/1/abc',
        runId: null,
        runLink: null,
        status: 'READY',
        statusMessage: null,
        modelId: 'm-1',
      };
      await imports.upsertModelVersion({ ...base, version: 1 });
      await imports.upsertModelVersion({ ...base, version: 4, currentStage: 'Staging' });
      const four = await registry.getModelVersion(modelPk, 4);
      assert.deepEqual([four?.currentStage, four?.creationTimestamp, four?.userId, four?.description], ['Staging', T0, 'ada', 'kept']);
      assert.equal(await registry.getModelVersion(modelPk, 2), undefined);
      // Upserting again updates the fields that can change, and adds no row.
      await imports.upsertModelVersion({ ...base, version: 4, currentStage: 'Archived', lastUpdatedTimestamp: T0 + 9 });
      assert.equal((await registry.getModelVersion(modelPk, 4))?.currentStage, 'Archived');
      const created = await registry.createModelVersion({
        modelPk, source: 's', storageLocation: 's', runId: null, runLink: null, description: null, userId: null, status: 'READY', stage: 'None',
        modelId: null, modelParams: [], modelMetrics: [], tags: [], now: T0,
      });
      assert.equal(created.version, 5);
    });

    test('the import state is kept per source and kind, and replaced on a second write', async () => {
      const source = unique('mlflow:http://x');
      await imports.putState(source, { kind: 'run', sourceId: 'r1', targetId: 'r1', fingerprint: 'pending' }, T0);
      await imports.putState(source, { kind: 'run', sourceId: 'r1', targetId: 'r1', fingerprint: 'done' }, T0 + 1);
      await imports.putState(source, { kind: 'experiment', sourceId: 'r1', targetId: '7', fingerprint: 'e' }, T0);
      const runs = await imports.listState(source, 'run');
      assert.deepEqual([...runs.values()], [{ kind: 'run', sourceId: 'r1', targetId: 'r1', fingerprint: 'done' }]);
      assert.equal((await imports.listState(source, 'experiment')).get('r1')?.targetId, '7');
      assert.equal((await imports.listState(`${source}-other`, 'run')).size, 0);
    });

    test('claiming a state keeps the first record and hands it to every later claim, racing ones included', async () => {
      const source = unique('trove-export');
      const claim = (targetId: string) => imports.claimState(source, { kind: 'store-identity', sourceId: 'store', targetId, fingerprint: '' }, T0);
      const first = await claim('id-a');
      assert.equal(first.targetId, 'id-a');
      assert.equal((await claim('id-b')).targetId, 'id-a');
      const raced = unique('trove-export');
      const kept = await Promise.all(['x', 'y', 'z'].map((id) => imports.claimState(raced, { kind: 'store-identity', sourceId: 'store', targetId: id, fingerprint: '' }, T0)));
      assert.equal(new Set(kept.map((k) => k.targetId)).size, 1);
    });

    test('forgetting one imported object leaves the same id of another kind and of another source', async () => {
      const source = unique('mlflow:http://y');
      await imports.putState(source, { kind: 'run', sourceId: 'r1', targetId: 'r1', fingerprint: 'done' }, T0);
      await imports.putState(source, { kind: 'experiment', sourceId: 'r1', targetId: '7', fingerprint: 'e' }, T0);
      await imports.putState(`${source}-other`, { kind: 'run', sourceId: 'r1', targetId: 'r1', fingerprint: 'done' }, T0);
      await imports.deleteState(source, 'run', 'r1');
      assert.equal((await imports.listState(source, 'run')).size, 0);
      assert.equal((await imports.listState(source, 'experiment')).size, 1);
      assert.equal((await imports.listState(`${source}-other`, 'run')).size, 1);
    });
  });
}
