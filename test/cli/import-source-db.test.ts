import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openMlflowMetricsDb, parseSourceDbUri, PostgresMetricsDb, SqliteMetricsDb } from '../../src/cli/import/mlflow-db-histories.ts';
import { MlflowDbRefusedError } from '../../src/cli/mlflow-db.ts';
import { createTestDatabase, POSTGRES_SKIP_MESSAGE, testPostgresUri, type TestDatabase } from '../support/postgres.ts';

/**
 * `trove import mlflow --source-db`: the URI forms MLflow's --backend-store-uri takes, and the
 * reader on a table shaped as MLflow's `metrics` (a NaN stored as 0 with is_nan true, ±infinity as
 * ±the largest double, duplicate steps). The SQLite reader against a real `mlflow server` is
 * covered by compat/test_import_source_db.py; PostgreSQL here, on a table created with MLflow's
 * column types (the compat venv has no PostgreSQL driver for an MLflow server).
 */

const MAX = 1.7976931348623157e308;
const RUN = 'a'.repeat(32);
const OTHER = 'b'.repeat(32);
/** (key, value, timestamp, step, is_nan) rows as MLflow writes them. */
const ROWS: Array<[string, number, number, number, boolean]> = [
  ['loss', 0.5, 1_700_000_000_000, 0, false],
  ['loss', 0, 1_700_000_000_001, 1, true],
  ['loss', MAX, 1_700_000_000_002, 2, false],
  ['loss', -MAX, 1_700_000_000_003, 3, false],
  ['loss', 0.25, 1_700_000_000_004, 3, false],
  ['acc', 0.9, 1_700_000_000_005, 7, false],
];

function sortedLoss(points: Array<{ key: string; value: number; timestamp: number; step: number }>): string {
  return JSON.stringify(points.map((p) => [p.key, Number.isNaN(p.value) ? 'nan' : p.value, p.timestamp, p.step]).sort());
}
const EXPECTED_LOSS = sortedLoss(ROWS.filter((r) => r[0] === 'loss').map(([key, value, timestamp, step, isNan]) => ({ key, value: isNan ? Number.NaN : value, timestamp, step })));

describe('--source-db URIs', () => {
  test('sqlite URIs with three slashes are relative to the working directory, with four absolute', () => {
    assert.deepEqual(parseSourceDbUri('sqlite:///mlflow.db'), { dialect: 'sqlite', file: path.resolve('mlflow.db'), description: `sqlite ${path.resolve('mlflow.db')}` });
    const absolute = parseSourceDbUri('sqlite:////srv/mlflow/mlflow.db');
    assert.equal(absolute.dialect === 'sqlite' && absolute.file, '/srv/mlflow/mlflow.db');
  });

  test('a sqlite URI without a file is refused', () => {
    assert.throws(() => parseSourceDbUri('sqlite:///:memory:'), /names no database file/);
    assert.throws(() => parseSourceDbUri('sqlite://'), /names no database file/);
  });

  test('the PostgreSQL forms MLflow accepts become a node-postgres connection string, shown without the password', () => {
    for (const uri of ['postgresql://u:s3cret@db:5432/mlflow', 'postgres://u:s3cret@db:5432/mlflow', 'postgresql+psycopg2://u:s3cret@db:5432/mlflow']) {
      const parsed = parseSourceDbUri(uri);
      assert.equal(parsed.dialect, 'postgres', uri);
      assert.equal(parsed.dialect === 'postgres' && parsed.connectionString, 'postgresql://u:s3cret@db:5432/mlflow', uri);
      assert.equal(parsed.description, uri.replace('s3cret', '***'), uri);
    }
  });

  test('MySQL and SQL Server databases are refused by name, and the refusal hides the password', () => {
    assert.throws(() => parseSourceDbUri('mysql+pymysql://u:s3cret@db/mlflow'), (error: Error) => /MySQL databases are not supported/.test(error.message) && !error.message.includes('s3cret'));
    assert.throws(() => parseSourceDbUri('mssql+pyodbc://u:s3cret@db/mlflow'), (error: Error) => /SQL Server databases are not supported/.test(error.message) && !error.message.includes('s3cret'));
    assert.throws(() => parseSourceDbUri('http://mlflow:5000'), (error: Error) => error instanceof MlflowDbRefusedError && /unsupported database URI/.test(error.message));
  });
});

describe('--source-db on an MLflow SQLite file', () => {
  let dir: string;
  let uri: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-source-db-'));
    const file = path.join(dir, 'mlflow.db');
    const db = new Database(file);
    db.exec('CREATE TABLE runs (run_uuid VARCHAR(32) NOT NULL PRIMARY KEY)');
    // MLflow's DDL for the table (primary key and indexes included: they decide the query plan).
    db.exec(`CREATE TABLE metrics ("key" VARCHAR(250) NOT NULL, value FLOAT NOT NULL, timestamp BIGINT NOT NULL, run_uuid VARCHAR(32) NOT NULL,
      step BIGINT DEFAULT '0' NOT NULL, is_nan BOOLEAN DEFAULT '0' NOT NULL, CONSTRAINT metric_pk PRIMARY KEY ("key", timestamp, step, run_uuid, value, is_nan),
      FOREIGN KEY(run_uuid) REFERENCES runs (run_uuid), CHECK (is_nan IN (0, 1)))`);
    db.exec('CREATE INDEX index_metrics_run_uuid ON metrics (run_uuid)');
    db.exec('CREATE INDEX index_metrics_run_uuid_key_step ON metrics (run_uuid, "key", step)');
    db.prepare('INSERT INTO runs VALUES (?), (?)').run(RUN, OTHER);
    const insert = db.prepare('INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)');
    for (const [key, value, timestamp, step, isNan] of ROWS) insert.run(key, value, timestamp, RUN, step, isNan ? 1 : 0);
    insert.run('loss', 9, 1, OTHER, 1, 0);
    db.close();
    uri = `sqlite:///${file}`;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('reads every point of one metric of one run, NaN and infinities as the REST API answers them', async () => {
    const db = await openMlflowMetricsDb(uri);
    try {
      assert.equal(sortedLoss(await db.history(RUN, 'loss')), EXPECTED_LOSS);
      assert.deepEqual(await db.history(RUN, 'missing'), []);
      assert.equal(await db.hasRun(RUN), true);
      assert.equal(await db.hasRun('c'.repeat(32)), false);
    } finally {
      await db.close();
    }
  });

  test('reads one history through the (run_uuid, key, step) index, not by scanning the key across every run', async () => {
    const db = await openMlflowMetricsDb(uri);
    const file = path.join(dir, 'mlflow.db');
    const plain = new Database(file, { readonly: true });
    try {
      assert.ok(db instanceof SqliteMetricsDb);
      const plan = (plain.prepare(`EXPLAIN QUERY PLAN ${db.historySql}`).all(RUN, 'loss') as Array<{ detail: string }>).map((r) => r.detail).join('; ');
      assert.match(plan, /USING INDEX index_metrics_run_uuid_key_step \(run_uuid=\? AND key=\?\)/);
    } finally {
      plain.close();
      await db.close();
    }
  });

  test('opens the file read-only and refuses a file without MLflow tables', async () => {
    const empty = path.join(dir, 'empty.db');
    new Database(empty).close();
    await assert.rejects(openMlflowMetricsDb(`sqlite:///${empty}`), (error: Error) => error instanceof MlflowDbRefusedError && /Cannot read the MLflow database sqlite .*empty\.db.*it lacks table metrics, table runs/.test(error.message));
    await assert.rejects(openMlflowMetricsDb(`sqlite:///${path.join(dir, 'absent.db')}`), (error: Error) => error instanceof MlflowDbRefusedError && /Cannot read the MLflow database/.test(error.message));
    assert.equal(fs.existsSync(path.join(dir, 'absent.db')), false);
  });
});

describe('--source-db on an MLflow PostgreSQL database', { skip: testPostgresUri() ? false : POSTGRES_SKIP_MESSAGE }, () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase(testPostgresUri()!, 'trove_imp13db');
    const client = new pg.Client({ connectionString: database.uri });
    await client.connect();
    try {
      // MLflow's column types: Float(precision=53) is double precision, BigInteger bigint.
      await client.query('CREATE TABLE runs (run_uuid varchar(32) NOT NULL PRIMARY KEY)');
      await client.query('CREATE TABLE metrics (key varchar(250), value double precision NOT NULL, timestamp bigint, step bigint NOT NULL, is_nan boolean NOT NULL, run_uuid varchar(32) REFERENCES runs)');
      await client.query('INSERT INTO runs VALUES ($1), ($2)', [RUN, OTHER]);
      for (const row of ROWS) await client.query('INSERT INTO metrics VALUES ($1, $2, $3, $4, $5, $6)', [...row, RUN]);
      await client.query('INSERT INTO metrics VALUES ($1, $2, $3, $4, $5, $6)', ['loss', 9, 1, 1, false, OTHER]);
    } finally {
      await client.end();
    }
  });
  after(async () => database?.drop());

  test('reads every point of one metric of one run through every URI form, NaN and infinities kept', async () => {
    for (const form of ['postgresql://', 'postgres://', 'postgresql+psycopg2://']) {
      const db = await openMlflowMetricsDb(database.uri.replace(/^postgres(ql)?:\/\//, form), 2);
      try {
        assert.equal(sortedLoss(await db.history(RUN, 'loss')), EXPECTED_LOSS, form);
        assert.equal(sortedLoss(await db.history(RUN, 'loss')), EXPECTED_LOSS, `${form} (prepared statement reused)`);
        assert.equal(await db.hasRun(OTHER), true);
        assert.equal(await db.hasRun('c'.repeat(32)), false);
      } finally {
        await db.close();
      }
    }
  });

  test('its sessions are read-only: a write through them is refused', async () => {
    const db = await openMlflowMetricsDb(database.uri, 1);
    try {
      assert.ok(db instanceof PostgresMetricsDb);
      await assert.rejects(db.pool.query('DELETE FROM metrics'), /read-only transaction/);
      const count = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM metrics');
      assert.equal(count.rows[0]!.n, String(ROWS.length + 1));
    } finally {
      await db.close();
    }
  });

  test('a wrong password is reported with the database named and the password hidden', async () => {
    const url = new URL(database.uri);
    url.password = 'wrong-s3cret';
    await assert.rejects(openMlflowMetricsDb(url.toString(), 1), (error: Error) => error.message.includes('Cannot read the MLflow database') && error.message.includes(':***@') && !error.message.includes('wrong-s3cret'));
  });
});
