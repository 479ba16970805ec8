import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';

/**
 * The part of an MLflow tracking database the `--source-db`/`--target-db` code reads and writes,
 * created the way MLflow's schema has it (column types, primary keys, the metrics indexes), so the
 * CLI tests run without an MLflow server. A real `mlflow server` is the compat tier's job.
 */

/** `runs` (only the id matters here), `metrics` and `latest_metrics` in a SQLite file. */
export function createMlflowSqliteTables(db: BetterSqlite3.Database): void {
  db.exec(`CREATE TABLE runs (run_uuid VARCHAR(32) NOT NULL, name VARCHAR(250), lifecycle_stage VARCHAR(20), CONSTRAINT run_pk PRIMARY KEY (run_uuid))`);
  db.exec(`CREATE TABLE metrics ("key" VARCHAR(250) NOT NULL, value FLOAT NOT NULL, timestamp BIGINT NOT NULL, run_uuid VARCHAR(32) NOT NULL,
    step BIGINT DEFAULT '0' NOT NULL, is_nan BOOLEAN DEFAULT '0' NOT NULL, CONSTRAINT metric_pk PRIMARY KEY ("key", timestamp, step, run_uuid, value, is_nan),
    FOREIGN KEY(run_uuid) REFERENCES runs (run_uuid), CHECK (is_nan IN (0, 1)))`);
  db.exec('CREATE INDEX index_metrics_run_uuid ON metrics (run_uuid)');
  db.exec('CREATE INDEX index_metrics_run_uuid_key_step ON metrics (run_uuid, "key", step)');
  db.exec(`CREATE TABLE latest_metrics ("key" VARCHAR(250) NOT NULL, value FLOAT NOT NULL, timestamp BIGINT, step BIGINT NOT NULL, is_nan BOOLEAN NOT NULL,
    run_uuid VARCHAR(32) NOT NULL, CONSTRAINT latest_metric_pk PRIMARY KEY ("key", run_uuid), FOREIGN KEY(run_uuid) REFERENCES runs (run_uuid), CHECK (is_nan IN (0, 1)))`);
  db.exec('CREATE INDEX index_latest_metrics_run_uuid ON latest_metrics (run_uuid)');
}

/** The same tables in PostgreSQL (MLflow's Float(precision=53) is double precision, BigInteger bigint). */
export async function createMlflowPostgresTables(client: pg.Client | pg.Pool): Promise<void> {
  await client.query('CREATE TABLE runs (run_uuid varchar(32) NOT NULL, name varchar(250), lifecycle_stage varchar(20), CONSTRAINT run_pk PRIMARY KEY (run_uuid))');
  await client.query(`CREATE TABLE metrics (key varchar(250) NOT NULL, value double precision NOT NULL, timestamp bigint NOT NULL, run_uuid varchar(32) NOT NULL REFERENCES runs,
    step bigint DEFAULT 0 NOT NULL, is_nan boolean DEFAULT false NOT NULL, CONSTRAINT metric_pk PRIMARY KEY (key, timestamp, step, run_uuid, value, is_nan))`);
  await client.query('CREATE INDEX index_metrics_run_uuid_key_step ON metrics (run_uuid, key, step)');
  await client.query(`CREATE TABLE latest_metrics (key varchar(250) NOT NULL, value double precision NOT NULL, timestamp bigint, step bigint NOT NULL, is_nan boolean NOT NULL,
    run_uuid varchar(32) NOT NULL REFERENCES runs, CONSTRAINT latest_metric_pk PRIMARY KEY (key, run_uuid))`);
}
