import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startTestServer } from '../api/test-server.ts';
import { backup, restore } from '../../src/cli/backup.command.ts';

const BATCH = 200;

test('a backup taken during ingest restores every point acknowledged before it started, and the artifacts with their checksums', async () => {
  if (process.env.TROVE_TEST_DATABASE === 'postgres') return; // SQLite's online backup; PostgreSQL uses pg_dump
  const t = await startTestServer({ webhooks: { dispatcher: false } });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-backup-'));
  try {
    const run = await t.call('POST', 'runs/create', { experiment_id: '0' });
    const runId = run.body.run.info.run_id as string;
    const put = await t.inject({ method: 'PUT', url: `/api/2.0/mlflow-artifacts/artifacts/0/${runId}/artifacts/model.bin`, payload: Buffer.alloc(4096, 7) });
    assert.equal(put.statusCode, 200);

    let acknowledged = 0;
    let stop = false;
    const ingest = (async () => {
      while (!stop) {
        const metrics = Array.from({ length: BATCH }, (_, i) => ({ key: 'loss', value: acknowledged + i, timestamp: 1, step: acknowledged + i }));
        const res = await t.call('POST', 'runs/log-batch', { run_id: runId, metrics });
        assert.equal(res.status, 200);
        acknowledged += BATCH;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    while (acknowledged < 20 * BATCH) await new Promise((resolve) => setTimeout(resolve, 5));
    const ackedBeforeBackup = acknowledged;
    const dir = path.join(work, 'snapshot');
    const manifest = await backup({ backendStoreUri: t.backendStoreUri, artifactsDestination: path.join(t.dataDir, 'artifacts'), dir, quiet: true });
    stop = true;
    await ingest;
    assert.ok(acknowledged > ackedBeforeBackup, 'ingest went on during the backup');
    assert.equal(manifest.artifacts.length, 1);
    assert.match(manifest.artifacts[0]!.sha256, /^[0-9a-f]{64}$/);

    const restoredDir = path.join(work, 'restored');
    await restore({ backendStoreUri: `sqlite:///${path.join(restoredDir, 'trove.db')}`, artifactsDestination: path.join(restoredDir, 'artifacts'), dir, quiet: true });
    const restored = await startTestServer({ backendStoreUri: `sqlite:///${path.join(restoredDir, 'trove.db')}`, artifactsDestination: path.join(restoredDir, 'artifacts'), dataDir: restoredDir, webhooks: { dispatcher: false } });
    try {
      const history = await restored.call('GET', 'metrics/get-history', { run_id: runId, metric_key: 'loss', max_results: 1_000_000 });
      const steps = new Set((history.body.metrics as { step: number }[]).map((m) => m.step));
      for (let step = 0; step < ackedBeforeBackup; step++) assert.ok(steps.has(step), `acknowledged step ${step} is in the backup`);
      const file = await restored.inject({ method: 'GET', url: `/api/2.0/mlflow-artifacts/artifacts/0/${runId}/artifacts/model.bin` });
      assert.equal(file.rawPayload.length, 4096);
    } finally {
      await restored.server.close();
    }

    // A damaged backup is refused before anything is written.
    const damaged = path.join(dir, 'artifacts', '0', runId, 'artifacts', 'model.bin');
    fs.writeFileSync(damaged, 'tampered');
    await assert.rejects(
      restore({ backendStoreUri: `sqlite:///${path.join(work, 'other', 'trove.db')}`, artifactsDestination: path.join(work, 'other', 'artifacts'), dir, quiet: true }),
      /does not match its checksum/,
    );
    assert.equal(fs.existsSync(path.join(work, 'other', 'trove.db')), false);
  } finally {
    await t.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
});
