import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { startTestServer, type TestServer } from '../api/test-server.ts';
import { startTroveProcess, type TroveProcess, runTroveCli } from '../support/trove-process.ts';
import { createMlflowSqliteTables } from '../support/mlflow-schema.ts';

/**
 * `trove import mlflow --from <server> --source-db <its database>` as a process: into a running
 * Trove through its bulk import API (`--to`), and straight into a store, with the histories read
 * from an MLflow-shaped SQLite file that holds the source's points (a NaN as is_nan, +infinity as
 * the largest double). The source's REST API is an in-process Trove. A database that lacks the
 * source's runs, or is no MLflow database, is refused with exit code 2 and nothing is imported.
 */

const MAX = 1.7976931348623157e308;


async function api(base: string, method: 'GET' | 'POST', endpoint: string, body: Record<string, unknown>): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any -- reads arbitrary JSON
  const url = method === 'GET' ? `${base}/api/2.0/mlflow/${endpoint}?${new URLSearchParams(body as Record<string, string>)}` : `${base}/api/2.0/mlflow/${endpoint}`;
  const response = await fetch(url, { method, ...(method === 'POST' ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  const parsed = (await response.json()) as Record<string, unknown>;
  assert.equal(response.status, 200, `${endpoint}: ${JSON.stringify(parsed)}`);
  return parsed;
}

async function history(base: string, runId: string): Promise<string> {
  const metrics = (await api(base, 'GET', 'metrics/get-history', { run_id: runId, metric_key: 'loss', max_results: '1000' })).metrics as Array<{ step: number; timestamp: number; value: unknown }>;
  return JSON.stringify(metrics.map((m) => [m.step, m.timestamp, typeof m.value === 'number' && m.value >= 1e308 ? 'max' : m.value]).sort());
}

describe('trove import mlflow --source-db, into a running Trove and into a store', () => {
  let source: TestServer;
  let sourceUrl = '';
  let target: TroveProcess;
  let dir: string;
  let runId = '';
  let dbUri = '';
  let otherDbUri = '';
  let expected = '';

  before(async () => {
    source = await startTestServer();
    await source.server.app.listen({ host: '127.0.0.1', port: 0 });
    sourceUrl = `http://127.0.0.1:${(source.server.app.server.address() as AddressInfo).port}`;
    const experimentId = (await api(sourceUrl, 'POST', 'experiments/create', { name: 'from-db' })).experiment_id;
    runId = (await api(sourceUrl, 'POST', 'runs/create', { experiment_id: experimentId, start_time: 1_700_000_000_000, run_name: 'r1' })).run.info.run_id;
    const points = Array.from({ length: 300 }, (_, i) => ({ value: i === 7 ? Number.NaN : i === 9 ? MAX : 1 / (i + 1), timestamp: 1_700_000_000_000 + i, step: i }));
    await api(sourceUrl, 'POST', 'runs/log-batch', { run_id: runId, metrics: points.map((p) => ({ key: 'loss', ...p, value: Number.isNaN(p.value) ? 'NaN' : p.value })) });
    await api(sourceUrl, 'POST', 'runs/update', { run_id: runId, status: 'FINISHED', end_time: 1_700_000_100_000 });
    expected = await history(sourceUrl, runId);

    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-source-db-to-'));
    // The source server's database: its run with every point as MLflow stores it.
    const file = path.join(dir, 'mlflow.db');
    const db = new Database(file);
    createMlflowSqliteTables(db);
    db.prepare('INSERT INTO runs (run_uuid) VALUES (?)').run(runId);
    const insert = db.prepare('INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)');
    for (const p of points) insert.run('loss', Number.isNaN(p.value) ? 0 : p.value, p.timestamp, runId, p.step, Number.isNaN(p.value) ? 1 : 0);
    db.close();
    dbUri = `sqlite:///${file}`;
    // Another server's database: MLflow's tables, but not this run.
    const other = new Database(path.join(dir, 'other.db'));
    createMlflowSqliteTables(other);
    other.prepare('INSERT INTO runs (run_uuid) VALUES (?)').run('f'.repeat(32));
    other.close();
    otherDbUri = `sqlite:///${path.join(dir, 'other.db')}`;
    target = await startTroveProcess(['--backend-store-uri', `sqlite:///${path.join(dir, 'trove.db')}`, '--artifacts-destination', path.join(dir, 'artifacts')]);
  });

  after(async () => {
    await target?.stop();
    await source?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a database of another server is refused through the bulk import API with exit code 2, and nothing is imported', async () => {
    const done = await runTroveCli(['import', 'mlflow', '--from', sourceUrl, '--source-db', otherDbUri, '--to', target.url, '-q']);
    assert.equal(done.code, 2, done.stdout + done.stderr);
    assert.match(done.stderr, new RegExp(`Run ${runId} of .* is not in the database sqlite .*other\\.db: --source-db must be that server's own --backend-store-uri`));
    const found = await fetch(`${target.url}/api/2.0/mlflow/runs/get?run_id=${runId}`);
    assert.equal(found.status, 404);
  });

  test('a file without MLflow tables, and an unsupported URI, are refused with exit code 2 before the import starts', async () => {
    const empty = path.join(dir, 'empty.db');
    new Database(empty).close();
    const noTables = await runTroveCli(['import', 'mlflow', '--from', sourceUrl, '--source-db', `sqlite:///${empty}`, '--to', target.url, '-q']);
    assert.equal(noTables.code, 2, noTables.stdout + noTables.stderr);
    assert.match(noTables.stderr, /Cannot read the MLflow database sqlite .*empty\.db \(--source-db\): .*lacks table metrics, table runs/);
    const mysql = await runTroveCli(['import', 'mlflow', '--from', sourceUrl, '--source-db', 'mysql://u:s3cret@db/mlflow', '--backend-store-uri', `sqlite:///${path.join(dir, 'never.db')}`, '-q']);
    assert.equal(mysql.code, 2, mysql.stdout + mysql.stderr);
    assert.doesNotMatch(mysql.stdout + mysql.stderr, /s3cret/);
    assert.equal(fs.existsSync(path.join(dir, 'never.db')), false);
  });

  test('into a store, a database of another server is refused with exit code 2 and no run is written', async () => {
    const store = path.join(dir, 'store-wrong.db');
    const done = await runTroveCli(['import', 'mlflow', '--from', sourceUrl, '--source-db', otherDbUri, '--backend-store-uri', `sqlite:///${store}`, '--artifacts-destination', path.join(dir, 'store-artifacts'), '-q']);
    assert.equal(done.code, 2, done.stdout + done.stderr);
    assert.match(done.stderr, /is not in the database/);
    const db = new Database(store, { readonly: true });
    try {
      assert.equal((db.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n, 0);
    } finally {
      db.close();
    }
  });

  test('through the bulk import API the histories come from the database, every point as the source serves it', async () => {
    const done = await runTroveCli(['import', 'mlflow', '--from', sourceUrl, '--source-db', dbUri, '--to', target.url, '-q']);
    assert.equal(done.code, 0, done.stdout + done.stderr);
    assert.match(done.stdout, /metric histories read from its database sqlite .*mlflow\.db/);
    assert.match(done.stdout, /metric points: 300 /);
    assert.equal(await history(target.url, runId), expected);
    const run = (await api(target.url, 'GET', 'runs/get', { run_id: runId })).run;
    assert.equal(run.info.status, 'FINISHED');

    const again = await runTroveCli(['import', 'mlflow', '--from', sourceUrl, '--source-db', dbUri, '--to', target.url, '-q']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /metric points: 0 /);
    assert.equal(await history(target.url, runId), expected);
  });
});
