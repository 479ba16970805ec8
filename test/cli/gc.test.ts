import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../api/test-server.ts';
import { collectGarbage, parseOlderThan } from '../../src/cli/gc.command.ts';
import { SqlGcStore } from '../../src/store/sql/sql-gc-store.ts';
import { AuditLog } from '../../src/domain/audit/audit-log.ts';
import { SqlAuthStore } from '../../src/store/sql/sql-auth-store.ts';
import { LocalArtifactStore } from '../../src/store/artifacts/local-artifact-store.ts';
import { runWithContext, systemContext } from '../../src/domain/request-context.ts';

const A = '/api/2.0/mlflow-artifacts/artifacts';

describe('trove gc', () => {
  let t: TestServer;
  const ids = { keptRun: '', deletedRun: '', experiment: '', runInDeletedExperiment: '' };

  async function runWithData(experimentId: string): Promise<string> {
    const run = await t.call('POST', 'runs/create', { experiment_id: experimentId });
    const runId = run.body.run.info.run_id as string;
    await t.call('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: [{ key: 'loss', value: 1, timestamp: 1, step: 0 }],
      params: [{ key: 'lr', value: '0.1' }],
      tags: [{ key: 't', value: 'v' }],
    });
    const put = await t.inject({ method: 'PUT', url: `${A}/${experimentId}/${runId}/artifacts/model.bin`, payload: Buffer.alloc(1000) });
    assert.equal(put.statusCode, 200);
    return runId;
  }

  before(async () => {
    t = await startTestServer({ webhooks: { dispatcher: false } });
    ids.keptRun = await runWithData('0');
    ids.deletedRun = await runWithData('0');
    assert.equal((await t.call('POST', 'runs/delete', { run_id: ids.deletedRun })).status, 200);
    const experiment = await t.call('POST', 'experiments/create', { name: 'doomed' });
    ids.experiment = experiment.body.experiment_id;
    ids.runInDeletedExperiment = await runWithData(ids.experiment);
    assert.equal((await t.call('POST', 'experiments/delete', { experiment_id: ids.experiment })).status, 200);
    // An artifact folder no run owns (left by a crash or a manual copy).
    fs.mkdirSync(path.join(t.dataDir, 'artifacts', '0', 'f'.repeat(32)), { recursive: true });
    fs.writeFileSync(path.join(t.dataDir, 'artifacts', '0', 'f'.repeat(32), 'left.txt'), 'orphan');
  });
  after(async () => t.close());

  function gc(options: Partial<Parameters<typeof collectGarbage>[3]>) {
    const db = t.server.database.db;
    return runWithContext(systemContext({ username: 'cli:gc' }), () =>
      collectGarbage(new SqlGcStore(db), new LocalArtifactStore(path.join(t.dataDir, 'artifacts')), new AuditLog(new SqlAuthStore(db)), {
        before: Date.now(),
        sweepOrphans: false,
        dryRun: false,
        quiet: true,
        ...options,
      }),
    );
  }

  test('--older-than reads MLflow’s duration forms', () => {
    assert.equal(parseOlderThan('30d'), 30 * 86_400_000);
    assert.equal(parseOlderThan('1d2h30m'), 86_400_000 + 2 * 3_600_000 + 30 * 60_000);
    assert.throws(() => parseOlderThan('soon'));
  });

  test('a dry run counts what would go (entities, rows, files, bytes, orphans) and deletes nothing', async () => {
    const totals = await gc({ dryRun: true, sweepOrphans: true });
    assert.equal(totals.runs, 2);
    assert.equal(totals.experiments, 1);
    assert.ok(totals.rows >= 2 * 4, 'metric, latest metric, param and tag rows of both runs');
    assert.equal(totals.files, 2);
    assert.equal(totals.bytes, 2000);
    assert.equal(totals.orphanFolders, 1);
    assert.equal((await t.call('GET', 'runs/get', { run_id: ids.deletedRun })).status, 200, 'still there');
  });

  test('nothing deleted more recently than --older-than is touched', async () => {
    const totals = await gc({ before: Date.now() - 3_600_000 });
    assert.equal(totals.runs + totals.experiments, 0);
  });

  test('deleted runs and experiments go for good with their metrics, params, tags and artifacts; live ones stay; each in the audit log', async () => {
    const totals = await gc({ sweepOrphans: true });
    assert.deepEqual([totals.runs, totals.experiments, totals.orphanFolders], [2, 1, 1]);
    assert.equal((await t.call('GET', 'runs/get', { run_id: ids.deletedRun })).status, 404);
    assert.equal((await t.call('GET', 'runs/get', { run_id: ids.runInDeletedExperiment })).status, 404);
    assert.equal((await t.call('GET', 'experiments/get', { experiment_id: ids.experiment })).status, 404);
    const kept = await t.call('GET', 'runs/get', { run_id: ids.keptRun });
    assert.equal(kept.status, 200);
    assert.equal(kept.body.run.data.metrics.length, 1);
    const root = path.join(t.dataDir, 'artifacts');
    assert.equal(fs.existsSync(path.join(root, '0', ids.deletedRun)), false);
    assert.equal(fs.existsSync(path.join(root, ids.experiment)), false);
    assert.equal(fs.existsSync(path.join(root, '0', 'f'.repeat(32))), false, 'the orphan folder is swept');
    assert.equal(fs.existsSync(path.join(root, '0', ids.keptRun, 'artifacts', 'model.bin')), true);
    const rows = await t.server.database.db.selectFrom('metrics').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    assert.equal(Number(rows?.n), 1, 'only the kept run’s metric row is left');
    const audit = await t.server.services.audit!.query({ actor: 'cli:gc' }, { maxResults: 100 });
    assert.deepEqual(audit.entries.map((e) => e.action).sort(), ['experiment.purge', 'run.purge', 'run.purge']);
  });

  test('the audit log retention setting removes old entries', async () => {
    const totals = await gc({ auditRetentionDays: 0.000001 });
    assert.ok(totals.auditEntries > 0);
  });

  test('the command prints a summary and its --help', () => {
    const bin = path.resolve('bin/trove.js');
    const help = spawnSync(process.execPath, [bin, 'gc', '--help'], { encoding: 'utf8' });
    assert.match(help.stdout, /--older-than/);
    const dry = spawnSync(process.execPath, [bin, 'gc', '--dry-run', '--backend-store-uri', t.backendStoreUri, '--artifacts-destination', path.join(t.dataDir, 'artifacts')], { encoding: 'utf8' });
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /^Would delete 0 experiments, 0 runs/);
  });
});
