import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { bulkLoadHistory, bulkLoadRuns, openPostgres, openSqlite, type BulkDatabase } from '../../bench/mlflow-bulk.ts';
import { historyPoint, searchRun } from '../../bench/seed-data.ts';
import { createTestDatabase, POSTGRES_SKIP_MESSAGE, testPostgresUri, type TestDatabase } from '../support/postgres.ts';

type Row = Record<string, unknown>;

/** A plain connection to the test database, for setting it up and reading it back (not the code under test). */
interface Plain {
  exec(sql: string, params?: unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

interface Backend {
  name: 'sqlite' | 'postgres';
  /** A fresh empty database: a plain connection to it and the bulk loader's. */
  fresh(): Promise<{ plain: Plain; bulk: () => Promise<BulkDatabase> }>;
  cleanup(): Promise<void>;
}

function sqliteBackend(): Backend {
  let dir = '';
  let n = 0;
  return {
    name: 'sqlite',
    async fresh() {
      dir ||= fs.mkdtempSync(path.join(os.tmpdir(), 'trove-bulk-'));
      const file = path.join(dir, `mlflow-${n++}.db`);
      const db = new Database(file);
      return {
        plain: {
          async exec(sql, params = []) {
            const statement = db.prepare(sql);
            if (statement.reader) return statement.all(...params) as Row[];
            statement.run(...params);
            return [];
          },
          async close() {
            db.close();
          },
        },
        bulk: async () => openSqlite(file),
      };
    },
    async cleanup() {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresBackend(adminUri: string): Backend {
  const databases: TestDatabase[] = [];
  return {
    name: 'postgres',
    async fresh() {
      const database = await createTestDatabase(adminUri, 'trove_bench_bulk');
      databases.push(database);
      const client = new pg.Client({ connectionString: database.uri });
      await client.connect();
      return {
        plain: {
          async exec(sql, params = []) {
            let i = 0;
            return (await client.query(sql.replace(/\?/g, () => `$${++i}`), params)).rows as Row[];
          },
          async close() {
            await client.end();
          },
        },
        bulk: () => openPostgres(database.uri),
      };
    },
    async cleanup() {
      for (const d of databases) await d.drop();
    },
  };
}

/**
 * The columns of MLflow's tracking tables that the bulk load touches, holding what `mlflow server`
 * stores for API-seeded runs: the template run-0 (with the mlflow.runName tag the server adds) and
 * the first 1,000 points of the long series.
 */
async function mlflowLike(db: Plain, dialect: Backend['name'], options: { storedAcc?: (v: number) => number } = {}): Promise<void> {
  const no = dialect === 'sqlite' ? 0 : false;
  for (const ddl of [
    'CREATE TABLE experiments (experiment_id integer PRIMARY KEY, name varchar(256), artifact_location varchar(256))',
    'CREATE TABLE runs (run_uuid varchar(32) PRIMARY KEY, name varchar(250), source_type varchar(20), user_id varchar(256), status varchar(9), start_time bigint, end_time bigint, lifecycle_stage varchar(20), artifact_uri varchar(200), experiment_id integer)',
    'CREATE TABLE tags (key varchar(250), value varchar(8000), run_uuid varchar(32), PRIMARY KEY (key, run_uuid))',
    'CREATE TABLE params (key varchar(250), value varchar(8000), run_uuid varchar(32), PRIMARY KEY (key, run_uuid))',
    'CREATE TABLE metrics (key varchar(250), value double precision NOT NULL, timestamp bigint, run_uuid varchar(32), step bigint NOT NULL, is_nan boolean NOT NULL, PRIMARY KEY (key, timestamp, step, run_uuid, value, is_nan))',
    'CREATE TABLE latest_metrics (key varchar(250), value double precision NOT NULL, timestamp bigint, step bigint NOT NULL, is_nan boolean NOT NULL, run_uuid varchar(32), PRIMARY KEY (key, run_uuid))',
  ]) {
    await db.exec(ddl);
  }
  await db.exec("INSERT INTO experiments VALUES (1, 'search-0', 'mlflow-artifacts:/1'), (2, 'search-1', 'mlflow-artifacts:/2'), (3, 'misc', 'mlflow-artifacts:/3')");
  const run0 = searchRun(0, 10);
  const id = 'a'.repeat(32);
  await db.exec('INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)', [id, run0.name, 'UNKNOWN', '', 'RUNNING', run0.startTime, 'active', `mlflow-artifacts:/1/${id}/artifacts`, 1]);
  for (const t of [...run0.tags, { key: 'mlflow.runName', value: run0.name }]) await db.exec('INSERT INTO tags VALUES (?, ?, ?)', [t.key, t.value, id]);
  for (const p of run0.params) await db.exec('INSERT INTO params VALUES (?, ?, ?)', [p.key, p.value, id]);
  for (const m of run0.metrics) {
    const value = m.key === 'acc' && options.storedAcc ? options.storedAcc(m.value) : m.value;
    await db.exec('INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)', [m.key, value, m.timestamp, id, m.step, no]);
    await db.exec('INSERT INTO latest_metrics VALUES (?, ?, ?, ?, ?, ?)', [m.key, value, m.timestamp, m.step, no, id]);
  }
  const history = 'b'.repeat(32);
  await db.exec('INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)', [history, 'long-history', 'UNKNOWN', '', 'RUNNING', 0, 'active', `mlflow-artifacts:/3/${history}/artifacts`, 3]);
  for (let step = 0; step < 1000; step++) {
    const p = historyPoint(step);
    await db.exec('INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)', [p.key, p.value, p.timestamp, history, p.step, no]);
  }
  const p = historyPoint(999);
  await db.exec('INSERT INTO latest_metrics VALUES (?, ?, ?, ?, ?, ?)', [p.key, p.value, p.timestamp, p.step, no, history]);
}

const count = async (db: Plain, sql: string): Promise<number> => Number((await db.exec(sql))[0]?.n);
const num = (v: unknown): number => Number(v);

const postgresUri = testPostgresUri();
const backends: { backend: Backend; skip: string | false }[] = [
  { backend: sqliteBackend(), skip: false },
  { backend: postgresBackend(postgresUri ?? ''), skip: postgresUri ? false : POSTGRES_SKIP_MESSAGE },
];

for (const { backend, skip } of backends) {
  describe(`bulk-loading the rest of the data into MLflow's tables (${backend.name})`, { skip }, () => {
    after(() => backend.cleanup());

    it('copies the API-seeded run with each run\'s own id, name, start time, experiment, tags, params and metrics', async () => {
      const { plain, bulk } = await backend.fresh();
      await mlflowLike(plain, backend.name);
      const db = await bulk();
      await bulkLoadRuns(db, { experimentIds: ['1', '2'], perExperiment: 10, from: 1, to: 20, chunk: 7 });
      await db.close();

      assert.equal(await count(plain, 'SELECT count(*) AS n FROM runs WHERE experiment_id IN (1, 2)'), 20);
      assert.equal(await count(plain, 'SELECT count(*) AS n FROM runs WHERE experiment_id = 2'), 10);
      const want = searchRun(13, 10);
      const run = (await plain.exec('SELECT * FROM runs WHERE name = ?', ['run-13']))[0] as Row;
      assert.equal(num(run.experiment_id), 2);
      assert.equal(num(run.start_time), want.startTime);
      assert.equal(run.artifact_uri, `mlflow-artifacts:/2/${String(run.run_uuid)}/artifacts`);
      assert.match(String(run.run_uuid), /^[0-9a-f]{32}$/);
      // Columns the dataset does not set are copied from what MLflow wrote.
      assert.deepEqual([run.source_type, run.user_id, run.status, run.lifecycle_stage, run.end_time], ['UNKNOWN', '', 'RUNNING', 'active', null]);
      const rows = (table: string): Promise<Row[]> => plain.exec(`SELECT * FROM ${table} WHERE run_uuid = ? ORDER BY key`, [run.run_uuid]);
      assert.deepEqual((await rows('tags')).map((t) => [t.key, t.value]), [['mlflow.runName', 'run-13'], ['team', want.tags[0]?.value]]);
      assert.deepEqual((await rows('params')).map((p) => [p.key, p.value]), want.params.map((p) => [p.key, p.value]).sort());
      for (const table of ['metrics', 'latest_metrics']) {
        assert.deepEqual(
          (await rows(table)).map((m) => [m.key, m.value, num(m.timestamp), num(m.step), Boolean(m.is_nan)]),
          want.metrics.map((m) => [m.key, m.value, m.timestamp, m.step, false]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
        );
      }
      await plain.close();
    });

    it('refuses to load when MLflow stored the API-seeded run unlike the generator', async () => {
      const { plain, bulk } = await backend.fresh();
      await mlflowLike(plain, backend.name, { storedAcc: (v) => Math.round(v * 1000) / 1000 });
      const db = await bulk();
      await assert.rejects(bulkLoadRuns(db, { experimentIds: ['1'], perExperiment: 10, from: 1, to: 10 }), /metrics acc differs/);
      await db.close();
      assert.equal(await count(plain, 'SELECT count(*) AS n FROM runs'), 2, 'nothing was loaded');
      await plain.close();
    });

    it('continues the long series after the API-seeded points and moves its latest value to the last step', async () => {
      const { plain, bulk } = await backend.fresh();
      await mlflowLike(plain, backend.name);
      const db = await bulk();
      const runId = 'b'.repeat(32);
      await bulkLoadHistory(db, { runId, from: 1000, to: 3500, chunk: 1000 });
      await db.close();

      const points = await plain.exec('SELECT step, value, timestamp FROM metrics WHERE run_uuid = ? ORDER BY step', [runId]);
      assert.equal(points.length, 3500);
      assert.ok(points.every((p, i) => num(p.step) === i && p.value === historyPoint(i).value && num(p.timestamp) === historyPoint(i).timestamp));
      const latest = (await plain.exec('SELECT step, value FROM latest_metrics WHERE run_uuid = ?', [runId]))[0] as Row;
      assert.deepEqual([num(latest.step), latest.value], [3499, historyPoint(3499).value]);
      await plain.close();
    });

    it('refuses to continue a series whose API-seeded part did not reach the sample\'s end', async () => {
      const { plain, bulk } = await backend.fresh();
      await mlflowLike(plain, backend.name);
      const db = await bulk();
      await assert.rejects(bulkLoadHistory(db, { runId: 'b'.repeat(32), from: 2000, to: 3000 }), /is not step 1999/);
      await db.close();
      await plain.close();
    });
  });
}
