import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { bulkLoadHistory, bulkLoadRuns, openSqlite } from '../../bench/mlflow-bulk.ts';
import { historyPoint, searchRun } from '../../bench/seed-data.ts';

/**
 * A SQLite file with the columns of MLflow's tracking tables that the bulk load touches, holding
 * what `mlflow server` stores for API-seeded runs: the template run-0 (with the mlflow.runName tag
 * the server adds) and the first 1,000 points of the long series.
 */
function mlflowLikeDatabase(file: string, options: { storedAcc?: (v: number) => number } = {}): void {
  const db = new Database(file);
  db.exec(`
    CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name TEXT, artifact_location TEXT);
    CREATE TABLE runs (run_uuid TEXT PRIMARY KEY, name TEXT, source_type TEXT, user_id TEXT, status TEXT, start_time INTEGER, end_time INTEGER, lifecycle_stage TEXT, artifact_uri TEXT, experiment_id INTEGER);
    CREATE TABLE tags (key TEXT, value TEXT, run_uuid TEXT, PRIMARY KEY (key, run_uuid));
    CREATE TABLE params (key TEXT, value TEXT, run_uuid TEXT, PRIMARY KEY (key, run_uuid));
    CREATE TABLE metrics (key TEXT, value REAL, timestamp INTEGER, run_uuid TEXT, step INTEGER, is_nan INTEGER, PRIMARY KEY (key, timestamp, step, run_uuid, value, is_nan));
    CREATE TABLE latest_metrics (key TEXT, value REAL, timestamp INTEGER, step INTEGER, is_nan INTEGER, run_uuid TEXT, PRIMARY KEY (key, run_uuid));
    INSERT INTO experiments VALUES (1, 'search-0', 'mlflow-artifacts:/1'), (2, 'search-1', 'mlflow-artifacts:/2'), (3, 'misc', 'mlflow-artifacts:/3');
  `);
  const run0 = searchRun(0, 10);
  const id = 'a'.repeat(32);
  db.prepare('INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)').run(id, run0.name, 'UNKNOWN', '', 'RUNNING', run0.startTime, 'active', `mlflow-artifacts:/1/${id}/artifacts`, 1);
  for (const t of [...run0.tags, { key: 'mlflow.runName', value: run0.name }]) db.prepare('INSERT INTO tags VALUES (?, ?, ?)').run(t.key, t.value, id);
  for (const p of run0.params) db.prepare('INSERT INTO params VALUES (?, ?, ?)').run(p.key, p.value, id);
  for (const m of run0.metrics) {
    const value = m.key === 'acc' && options.storedAcc ? options.storedAcc(m.value) : m.value;
    db.prepare('INSERT INTO metrics VALUES (?, ?, ?, ?, ?, 0)').run(m.key, value, m.timestamp, id, m.step);
    db.prepare('INSERT INTO latest_metrics VALUES (?, ?, ?, ?, 0, ?)').run(m.key, value, m.timestamp, m.step, id);
  }
  const history = 'b'.repeat(32);
  db.prepare('INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)').run(history, 'long-history', 'UNKNOWN', '', 'RUNNING', 0, 'active', `mlflow-artifacts:/3/${history}/artifacts`, 3);
  for (let step = 0; step < 1000; step++) {
    const p = historyPoint(step);
    db.prepare('INSERT INTO metrics VALUES (?, ?, ?, ?, ?, 0)').run(p.key, p.value, p.timestamp, history, p.step);
  }
  const p = historyPoint(999);
  db.prepare('INSERT INTO latest_metrics VALUES (?, ?, ?, ?, 0, ?)').run(p.key, p.value, p.timestamp, p.step, history);
  db.close();
}

describe('bulk-loading the rest of the data into MLflow\'s tables', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-bulk-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('copies the API-seeded run with each run\'s own id, name, start time, experiment, tags, params and metrics', async () => {
    const file = path.join(dir, 'runs.db');
    mlflowLikeDatabase(file);
    const db = openSqlite(file);
    await bulkLoadRuns(db, { experimentIds: ['1', '2'], perExperiment: 10, from: 1, to: 20, chunk: 7 });
    await db.close();

    const check = new Database(file, { readonly: true });
    assert.equal((check.prepare('SELECT count(*) AS n FROM runs WHERE experiment_id IN (1, 2)').get() as { n: number }).n, 20);
    assert.equal((check.prepare('SELECT count(*) AS n FROM runs WHERE experiment_id = 2').get() as { n: number }).n, 10);
    const want = searchRun(13, 10);
    const run = check.prepare('SELECT * FROM runs WHERE name = ?').get('run-13') as Record<string, unknown>;
    assert.equal(run.experiment_id, 2);
    assert.equal(run.start_time, want.startTime);
    assert.equal(run.artifact_uri, `mlflow-artifacts:/2/${String(run.run_uuid)}/artifacts`);
    assert.match(String(run.run_uuid), /^[0-9a-f]{32}$/);
    // Columns the dataset does not set are copied from what MLflow wrote.
    assert.deepEqual([run.source_type, run.user_id, run.status, run.lifecycle_stage, run.end_time], ['UNKNOWN', '', 'RUNNING', 'active', null]);
    const rows = (table: string): Record<string, unknown>[] => check.prepare(`SELECT * FROM ${table} WHERE run_uuid = ? ORDER BY key`).all(run.run_uuid) as Record<string, unknown>[];
    assert.deepEqual(rows('tags').map((t) => [t.key, t.value]), [['mlflow.runName', 'run-13'], ['team', want.tags[0]?.value]]);
    assert.deepEqual(rows('params').map((p) => [p.key, p.value]), want.params.map((p) => [p.key, p.value]).sort());
    for (const table of ['metrics', 'latest_metrics']) {
      assert.deepEqual(
        rows(table).map((m) => [m.key, m.value, m.timestamp, m.step, m.is_nan]),
        want.metrics.map((m) => [m.key, m.value, m.timestamp, m.step, 0]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      );
    }
    check.close();
  });

  it('refuses to load when MLflow stored the API-seeded run unlike the generator', async () => {
    const file = path.join(dir, 'rounded.db');
    mlflowLikeDatabase(file, { storedAcc: (v) => Math.round(v * 1000) / 1000 });
    const db = openSqlite(file);
    await assert.rejects(bulkLoadRuns(db, { experimentIds: ['1'], perExperiment: 10, from: 1, to: 10 }), /metrics acc differs/);
    await db.close();
    const check = new Database(file, { readonly: true });
    assert.equal((check.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n, 2, 'nothing was loaded');
    check.close();
  });

  it('continues the long series after the API-seeded points and moves its latest value to the last step', async () => {
    const file = path.join(dir, 'history.db');
    mlflowLikeDatabase(file);
    const db = openSqlite(file);
    const runId = 'b'.repeat(32);
    await bulkLoadHistory(db, { runId, from: 1000, to: 3500, chunk: 1000 });
    await db.close();

    const check = new Database(file, { readonly: true });
    const points = check.prepare('SELECT step, value, timestamp FROM metrics WHERE run_uuid = ? ORDER BY step').all(runId) as { step: number; value: number; timestamp: number }[];
    assert.equal(points.length, 3500);
    assert.ok(points.every((p, i) => p.step === i && p.value === historyPoint(i).value && p.timestamp === historyPoint(i).timestamp));
    const latest = check.prepare('SELECT step, value FROM latest_metrics WHERE run_uuid = ?').get(runId) as { step: number; value: number };
    assert.deepEqual(latest, { step: 3499, value: historyPoint(3499).value });
    check.close();
  });

  it('refuses to continue a series whose API-seeded part did not reach the sample\'s end', async () => {
    const file = path.join(dir, 'short.db');
    mlflowLikeDatabase(file);
    const db = openSqlite(file);
    await assert.rejects(bulkLoadHistory(db, { runId: 'b'.repeat(32), from: 2000, to: 3000 }), /is not step 1999/);
    await db.close();
  });
});
