import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../api/test-server.ts';
import { MlflowRestSource } from '../../src/cli/import/mlflow-rest-source.ts';
import { collectGarbage } from '../../src/cli/gc.command.ts';
import { ImportService, type ImportOptions } from '../../src/domain/import/import-service.ts';
import { AuditLog } from '../../src/domain/audit/audit-log.ts';
import { runWithContext, systemContext } from '../../src/domain/request-context.ts';
import { TrackingService } from '../../src/domain/tracking/tracking-service.ts';
import { openArtifactStore, type OpenedArtifactStore } from '../../src/store/artifacts/open-artifact-store.ts';
import { LocalArtifactStore } from '../../src/store/artifacts/local-artifact-store.ts';
import { openDatabase, type OpenedDatabase } from '../../src/store/sql/database.ts';
import { SqlAuthStore } from '../../src/store/sql/sql-auth-store.ts';
import { SqlGcStore } from '../../src/store/sql/sql-gc-store.ts';
import { SqlImportStore } from '../../src/store/sql/sql-import-store.ts';
import { SqlRegistryStore } from '../../src/store/sql/sql-registry-store.ts';
import { SqlTraceStore } from '../../src/store/sql/sql-trace-store.ts';
import { SqlTrackingStore } from '../../src/store/sql/sql-tracking-store.ts';

/**
 * `trove import mlflow` run again and again as a mirror of a live server (a real Trove serving
 * the MLflow REST API): what is deleted or restored at the source follows on the next import, and
 * what is gone from the source for good is deleted here only when asked (--delete-missing).
 */
describe('a repeated import mirrors deletions at the source', () => {
  let source: TestServer;
  let url = '';
  let dir: string;
  let target: OpenedDatabase;
  let artifacts: OpenedArtifactStore;
  let tracking: SqlTrackingStore;
  let registry: SqlRegistryStore;
  const ids = { kept: '', other: '', purged: '', experiment: '', inExperiment: '' };

  const options = (extra: Partial<ImportOptions> = {}): ImportOptions => ({
    projectId: 1,
    defaultArtifactRoot: 'mlflow-artifacts:/',
    onConflict: 'fail',
    remapIds: false,
    concurrency: 2,
    skipArtifacts: false,
    skipRegistry: false,
    ...extra,
  });

  const service = () => new ImportService({ tracking, registry, imports: new SqlImportStore(target.db), artifacts: artifacts.store, traces: new SqlTraceStore(target.db) });

  async function importOnce(extra: Partial<ImportOptions> = {}) {
    const report = await service().run(new MlflowRestSource(url, {}), options(extra));
    assert.deepEqual(report.failures, []);
    return report;
  }

  async function ok(method: 'POST' | 'DELETE' | 'PATCH', route: string, body: Record<string, unknown>) {
    const answer = await source.call(method, route, body);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body;
  }

  /** What `trove gc` does at the source: purges these deleted runs or experiments for good. */
  async function purgeAtSource(which: { runIds: string[] } | { experimentIds: string[] }) {
    const db = source.server.database.db;
    await runWithContext(systemContext({ username: 'cli:gc' }), () =>
      collectGarbage(new SqlGcStore(db), new LocalArtifactStore(path.join(source.dataDir, 'artifacts')), new AuditLog(new SqlAuthStore(db)), {
        before: Date.now() + 1,
        sweepOrphans: false,
        dryRun: false,
        quiet: true,
        ...which,
      }),
    );
  }

  async function run(experimentId: string, name: string): Promise<string> {
    const created = await ok('POST', 'runs/create', { experiment_id: experimentId, start_time: 1_700_000_000_000, run_name: name });
    const runId = created.run.info.run_id as string;
    await ok('POST', 'runs/log-batch', { run_id: runId, metrics: [{ key: 'loss', value: 0.5, timestamp: 1_700_000_000_001, step: 0 }] });
    return runId;
  }

  const stage = async (runId: string) => (await tracking.getRunInfo(runId))?.lifecycleStage;
  const model = (name: string) => registry.getRegisteredModel(1, name);

  before(async () => {
    source = await startTestServer();
    await source.server.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(source.server.app.server.address() as AddressInfo).port}`;
    const main = (await ok('POST', 'experiments/create', { name: 'mirrored' })).experiment_id as string;
    ids.kept = await run(main, 'kept');
    ids.other = await run(main, 'deleted-then-restored');
    ids.purged = await run(main, 'purged');
    ids.experiment = (await ok('POST', 'experiments/create', { name: 'comes-and-goes' })).experiment_id as string;
    ids.inExperiment = await run(ids.experiment, 'inside');
    await ok('POST', 'registered-models/create', { name: 'stays' });
    for (let i = 0; i < 2; i++) await ok('POST', 'model-versions/create', { name: 'stays', source: `runs:/${ids.kept}/model`, run_id: ids.kept });
    await ok('POST', 'registered-models/alias', { name: 'stays', alias: 'champion', version: '1' });
    await ok('POST', 'registered-models/create', { name: 'goes' });
    await ok('POST', 'model-versions/create', { name: 'goes', source: `runs:/${ids.kept}/model`, run_id: ids.kept });

    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-mirror-'));
    target = await openDatabase(`sqlite:///${path.join(dir, 'trove.db')}`);
    artifacts = openArtifactStore(path.join(dir, 'artifacts'));
    tracking = new SqlTrackingStore(target.db);
    registry = new SqlRegistryStore(target.db);
    await new TrackingService(tracking, 'mlflow-artifacts:/').initialize();
    await importOnce();
  });

  after(async () => {
    artifacts?.close();
    await target?.close();
    await source?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('runs and experiments deleted at the source are deleted here on the next import, and restored when restored there', async () => {
    await ok('POST', 'runs/delete', { run_id: ids.other });
    await ok('POST', 'experiments/delete', { experiment_id: ids.experiment });
    let report = await importOnce();
    assert.equal(await stage(ids.other), 'deleted');
    assert.equal((await tracking.getExperiment(ids.experiment))?.lifecycleStage, 'deleted');
    assert.equal(await stage(ids.kept), 'active');
    // The source marks the runs of a deleted experiment deleted too, as MLflow's SQL store does.
    assert.equal(await stage(ids.inExperiment), 'deleted');
    assert.equal(report.counts.get('runs')?.updated, 2);

    await ok('POST', 'runs/restore', { run_id: ids.other });
    await ok('POST', 'experiments/restore', { experiment_id: ids.experiment });
    await importOnce();
    assert.equal(await stage(ids.other), 'active');
    assert.equal((await tracking.getExperiment(ids.experiment))?.lifecycleStage, 'active');
    assert.equal(await stage(ids.inExperiment), 'active');
  });

  test('objects gone from the source for good are kept and counted without --delete-missing', async () => {
    await ok('POST', 'runs/delete', { run_id: ids.purged });
    await purgeAtSource({ runIds: [ids.purged] });
    await ok('DELETE', 'model-versions/delete', { name: 'stays', version: '2' });
    await ok('DELETE', 'registered-models/alias', { name: 'stays', alias: 'champion' });
    await ok('DELETE', 'registered-models/delete', { name: 'goes' });

    const report = await importOnce();
    assert.equal(await stage(ids.purged), 'active');
    assert.ok(await model('goes'));
    const stays = await model('stays');
    assert.ok(stays && (await registry.getModelVersion(stays.pk, 2)));
    const warning = report.warnings.find((w) => w.includes('--delete-missing'));
    assert.ok(warning, report.warnings.join('\n'));
    assert.match(warning, /1 run, 1 registered model, 1 model version/);
  });

  test('a dry run lists, kind by kind, what --delete-missing would delete, and changes nothing, import state included', async () => {
    // The experiment goes for good too (deleted, then purged with its run).
    await ok('POST', 'experiments/delete', { experiment_id: ids.experiment });
    await purgeAtSource({ experimentIds: [ids.experiment] });
    const imports = new SqlImportStore(target.db);
    const stateNow = async () => {
      const all: Record<string, unknown> = {};
      for (const kind of ['experiment', 'run', 'registered-model', 'model-version'] as const) all[kind] = [...(await imports.listState(new MlflowRestSource(url, {}).key, kind))];
      return all;
    };
    const before = await stateNow();

    for (const deleteMissing of [true, false]) {
      const preview = await service().preview(new MlflowRestSource(url, {}), options({ deleteMissing }));
      assert.deepEqual({ ...preview.missing, runs: [...preview.missing.runs].sort() }, {
        deleteMissing,
        experiments: [`comes-and-goes (id ${ids.experiment})`],
        runs: [ids.purged, ids.inExperiment].sort(),
        registeredModels: ['goes'],
        modelVersions: ['stays/2'],
        aliases: ['stays@champion'],
      }, JSON.stringify(preview.missing));
    }

    assert.deepEqual(await stateNow(), before);
    assert.equal(await stage(ids.purged), 'active');
    assert.equal(await stage(ids.inExperiment), 'active');
    assert.equal((await tracking.getExperiment(ids.experiment))?.lifecycleStage, 'active');
    assert.ok(await model('goes'));
    const stays = await model('stays');
    assert.ok(stays && (await registry.getModelVersion(stays.pk, 2)));
    assert.deepEqual(stays.aliases.map((a) => a.alias), ['champion']);
  });

  test('--delete-missing deletes them here: the purged run marked deleted, the model, the version and the alias removed', async () => {
    const report = await importOnce({ deleteMissing: true });
    assert.equal(await stage(ids.purged), 'deleted');
    assert.equal(await stage(ids.inExperiment), 'deleted');
    assert.equal((await tracking.getExperiment(ids.experiment))?.lifecycleStage, 'deleted');
    assert.equal(report.counts.get('experiments')?.deleted, 1);
    assert.equal(await model('goes'), undefined);
    const stays = await model('stays');
    assert.ok(stays);
    assert.equal(await registry.getModelVersion(stays.pk, 2), undefined);
    assert.ok(await registry.getModelVersion(stays.pk, 1));
    assert.deepEqual(stays.aliases, []);
    assert.equal(report.counts.get('runs')?.deleted, 2);
    assert.equal(report.counts.get('registered models')?.deleted, 1);
    assert.equal(report.counts.get('model versions')?.deleted, 1);
    assert.equal(await stage(ids.kept), 'active');

    // Dealt with once: the next import neither deletes nor warns again.
    const again = await importOnce({ deleteMissing: true });
    assert.equal(again.counts.get('runs')?.deleted ?? 0, 0);
    assert.ok(!again.warnings.some((w) => w.includes('--delete-missing')), again.warnings.join('\n'));
  });
});
