import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { MlflowRestWriter } from '../../src/cli/export/mlflow-writer.ts';
import { openMlflowMetricsTarget, PostgresMetricsTarget, POINTS_PER_TRANSACTION } from '../../src/cli/export/mlflow-db-metrics.ts';
import { MlflowDbRefusedError } from '../../src/cli/mlflow-db.ts';
import { createImportProgress } from '../../src/cli/import/progress.ts';
import type { MigrationSource } from '../../src/domain/import/source.ts';
import type { MetricRecord } from '../../src/store/tracking-store.ts';
import { migrationSource, sourceRun } from '../support/migration-source.ts';
import { startMlflowStandIn, type SeenRequest } from '../support/mlflow-stand-in.ts';
import { createMlflowPostgresTables, createMlflowSqliteTables } from '../support/mlflow-schema.ts';
import { runTroveCli } from '../support/trove-process.ts';
import { createTestDatabase, POSTGRES_SKIP_MESSAGE, testPostgresUri, type TestDatabase } from '../support/postgres.ts';

/**
 * `trove export --to <MLflow server> --target-db <its database>`: the metric histories written
 * straight into the target's `metrics` table, its `latest_metrics` kept as MLflow keeps them (the
 * greatest step, then timestamp, then stored value wins; a NaN is stored as 0 with is_nan, an
 * infinity as ±the largest double; a point already there is skipped), everything else through the
 * REST API (here a recording stand-in; the real `mlflow server` is compat/test_export_target_db.py's).
 */

const MAX = 1.7976931348623157e308;
const T0 = 1_700_000_000_000;
const TARGET_RUN = 'c'.repeat(32);

type Stored = { value: number; timestamp: number; step: number; is_nan: number };

/** MLflow's rule, point by point in logging order: a point replaces the latest when strictly later by (step, timestamp, stored value). */
function mlflowLatest(points: MetricRecord[]): Stored {
  let best: Stored | undefined;
  for (const p of points) {
    const s: Stored = Number.isNaN(p.value)
      ? { value: 0, timestamp: p.timestamp, step: p.step, is_nan: 1 }
      : { value: p.value === Infinity ? MAX : p.value === -Infinity ? -MAX : p.value, timestamp: p.timestamp, step: p.step, is_nan: 0 };
    const later = !best || s.step > best.step || (s.step === best.step && (s.timestamp > best.timestamp || (s.timestamp === best.timestamp && s.value > best.value)));
    if (later) best = s;
  }
  return best!;
}

/** A point by point value the way MLflow answers it. */
const answered = (v: number) => (v === Infinity ? MAX : v === -Infinity ? -MAX : v);

/**
 * The histories of the source run, in logging order: steps out of order, the same step at other
 * timestamps, the same step and timestamp with other values, NaN and ±infinity, and a metric
 * longer than one transaction.
 */
function histories(): Map<string, MetricRecord[]> {
  const long: MetricRecord[] = [];
  // Steps in a scrambled order (a permutation of 0..11999), a second point at every 1000th step.
  for (let i = 0; i < 12_000; i++) {
    const step = (i * 7_919) % 12_000;
    long.push({ key: 'loss', value: step === 500 ? Number.NaN : step === 600 ? Infinity : 1 / (step + 1), timestamp: T0 + step, step });
    if (step % 1000 === 0) long.push({ key: 'loss', value: 2, timestamp: T0 + step + 1, step });
  }
  const m = (key: string, value: number, timestamp: number, step: number): MetricRecord => ({ key, value, timestamp, step });
  return new Map([
    ['loss', long],
    // Equal steps: the later timestamp wins, whatever the order logged.
    ['acc', [m('acc', 0.9, T0 + 200, 5), m('acc', 0.1, T0 + 100, 5), m('acc', 0.5, T0 + 50, 2)]],
    // Equal step and timestamp: the greater value wins.
    ['tie', [m('tie', 0.3, T0, 4), m('tie', 0.7, T0, 4), m('tie', 0.5, T0, 4)]],
    // A NaN last: stored as 0 with is_nan, and it is the latest.
    ['nan', [m('nan', 1, T0, 0), m('nan', Number.NaN, T0 + 1, 1)]],
    // Infinities: the largest double and its negative.
    ['inf', [m('inf', -Infinity, T0, 0), m('inf', Infinity, T0 + 1, 1)]],
    ['neg', [m('neg', 5, T0, 0), m('neg', -Infinity, T0 + 1, 1)]],
    // Duplicate points (same primary key): stored once.
    ['dup', [m('dup', 1, T0, 0), m('dup', 1, T0, 0), m('dup', Number.NaN, T0 + 1, 1), m('dup', Number.NaN, T0 + 1, 1)]],
  ]);
}

/** Distinct points (the primary key: step, timestamp, stored value, is_nan). */
function distinct(points: MetricRecord[]): number {
  return new Set(points.map((p) => `${p.step}|${p.timestamp}|${Number.isNaN(p.value) ? 'nan' : answered(p.value)}`)).size;
}

function source(data: Map<string, MetricRecord[]>): MigrationSource {
  const run = sourceRun('r-1', '5');
  run.latestMetrics = [...data.entries()].map(([key, points]) => {
    const latest = mlflowLatest(points);
    return { key, value: latest.is_nan ? Number.NaN : latest.value, timestamp: latest.timestamp, step: latest.step };
  });
  return migrationSource({
    async *experiments() {
      yield { experimentId: '5', name: 'exp', artifactLocation: '', lifecycleStage: 'active', creationTime: 0, lastUpdateTime: 0, tags: [] };
    },
    async *runs() {
      yield run;
    },
    async metricHistory(_runId, key) {
      return data.get(key) ?? [];
    },
  });
}

/** An MLflow-shaped SQLite file holding the target run (or `runs` of its own). */
function mlflowFile(dir: string, name: string, runs = [TARGET_RUN]): string {
  const file = path.join(dir, name);
  const db = new Database(file);
  createMlflowSqliteTables(db);
  for (const id of runs) db.prepare('INSERT INTO runs (run_uuid) VALUES (?)').run(id);
  db.close();
  return file;
}

function read<T>(file: string, sql: string): T[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

/**
 * Exports the source into a stand-in target whose run `TARGET_RUN` is new, or (with `found`) was
 * made by an earlier export and has the latest metrics the database holds.
 */
async function exportInto(file: string, data: Map<string, MetricRecord[]>, found: boolean) {
  const seen: SeenRequest[] = [];
  const latest = read<Stored & { key: string }>(file, `SELECT key, value, timestamp, step, is_nan FROM latest_metrics WHERE run_uuid = '${TARGET_RUN}'`);
  const target = await startMlflowStandIn(seen, ({ path: p }) => {
    if (p === '/api/2.0/mlflow/experiments/get-by-name') return [200, { experiment: { experiment_id: '77', lifecycle_stage: 'active', tags: [] } }];
    if (p === '/api/2.0/mlflow/runs/search' && found) {
      const info = { run_id: TARGET_RUN, experiment_id: '77', status: 'FINISHED', start_time: 1, end_time: 2, run_name: 'r-1', user_id: 'u', lifecycle_stage: 'active', artifact_uri: '' };
      const metrics = latest.map((m) => ({ key: m.key, value: m.is_nan ? 'NaN' : m.value, timestamp: m.timestamp, step: m.step }));
      return [200, { runs: [{ info, data: { tags: [{ key: 'trove.source_run_id', value: 'r-1' }, { key: 'trove.source_store', value: 'store-a/project-0' }], metrics } }] }];
    }
    if (p === '/api/2.0/mlflow/runs/create') return [200, { run: { info: { run_id: TARGET_RUN, artifact_uri: '' } } }];
    return [200, {}];
  });
  const db = await openMlflowMetricsTarget(`sqlite:///${file}`);
  try {
    const totals = await new MlflowRestWriter(target.url, createImportProgress({ quiet: true }), 2, {}, { sourceStore: 'store-a/project-0', metricsDb: db }).write(source(data));
    const pointsSent = seen.filter((r) => r.path === '/api/2.0/mlflow/runs/log-batch' && (JSON.parse(r.body) as { metrics?: unknown[] }).metrics?.length).length;
    return { totals, pointsSent, seen };
  } finally {
    await db.close();
    await target.close();
  }
}

function latestRows(file: string): Map<string, Stored> {
  return new Map(read<Stored & { key: string }>(file, 'SELECT key, value, timestamp, step, is_nan FROM latest_metrics').map(({ key, ...rest }) => [key, rest]));
}

describe('trove export --target-db into an MLflow SQLite file', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-target-db-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('every point goes into the metrics table, none through log-batch, and latest_metrics holds what MLflow would make latest', async () => {
    const data = histories();
    const file = mlflowFile(dir, 'first.db');
    const { totals, pointsSent } = await exportInto(file, data, false);
    assert.deepEqual(totals.failures, []);
    assert.equal(pointsSent, 0, 'no metric point went through the API');
    const expectedPoints = [...data.values()].reduce((n, points) => n + distinct(points), 0);
    assert.equal(totals.metricPoints, expectedPoints);
    const counts = new Map(read<{ key: string; n: number }>(file, 'SELECT key, count(*) AS n FROM metrics GROUP BY key').map((r) => [r.key, r.n]));
    for (const [key, points] of data) assert.equal(counts.get(key), distinct(points), key);
    const latest = latestRows(file);
    for (const [key, points] of data) assert.deepEqual(latest.get(key), mlflowLatest(points), key);
    // The hand-checked cases, spelled out.
    assert.deepEqual(latest.get('acc'), { value: 0.9, timestamp: T0 + 200, step: 5, is_nan: 0 });
    assert.deepEqual(latest.get('tie'), { value: 0.7, timestamp: T0, step: 4, is_nan: 0 });
    assert.deepEqual(latest.get('nan'), { value: 0, timestamp: T0 + 1, step: 1, is_nan: 1 });
    assert.deepEqual(latest.get('inf'), { value: MAX, timestamp: T0 + 1, step: 1, is_nan: 0 });
    assert.deepEqual(latest.get('neg'), { value: -MAX, timestamp: T0 + 1, step: 1, is_nan: 0 });
    assert.deepEqual(latest.get('loss'), { value: 1 / 12_000, timestamp: T0 + 11_999, step: 11_999, is_nan: 0 });
    const stored = read<{ value: number; is_nan: number }>(file, "SELECT value, is_nan FROM metrics WHERE key = 'loss' AND step IN (500, 600) ORDER BY step");
    assert.deepEqual(stored, [{ value: 0, is_nan: 1 }, { value: MAX, is_nan: 0 }]);
  });

  test('a second export finds everything there and writes nothing', async () => {
    const data = histories();
    const file = mlflowFile(dir, 'second.db');
    await exportInto(file, data, false);
    const before = read<{ n: number }>(file, 'SELECT count(*) AS n FROM metrics')[0]!.n;
    const again = await exportInto(file, data, true);
    assert.deepEqual(again.totals.failures, []);
    assert.equal(again.totals.metricPoints, 0);
    assert.equal(again.totals.runsUnchanged, 1);
    assert.equal(again.pointsSent, 0);
    assert.equal(read<{ n: number }>(file, 'SELECT count(*) AS n FROM metrics')[0]!.n, before);
  });

  test('an export killed after some transactions resumes with only the points the database lacks, none twice', async () => {
    const data = histories();
    const file = mlflowFile(dir, 'resume.db');
    // What a killed export left: whole transactions of the long metric, each with its latest row.
    const loss = data.get('loss')!;
    const db = await openMlflowMetricsTarget(`sqlite:///${file}`);
    const first = await db.write(TARGET_RUN, 'loss', loss.slice(0, 6_000));
    await db.close();
    assert.equal(first, distinct(loss.slice(0, 6_000)));
    const resumed = await exportInto(file, data, true);
    assert.deepEqual(resumed.totals.failures, []);
    const all = [...data.values()].reduce((n, points) => n + distinct(points), 0);
    assert.equal(resumed.totals.metricPoints, all - first, 'only what was missing');
    assert.equal(read<{ n: number }>(file, 'SELECT count(*) AS n FROM metrics')[0]!.n, all);
    for (const [key, points] of data) assert.deepEqual(latestRows(file).get(key), mlflowLatest(points), key);
  });

  test('a run writer commits whenever a transaction is full, a metric split over two with a latest row each', async () => {
    const file = mlflowFile(dir, 'split.db');
    const db = await openMlflowMetricsTarget(`sqlite:///${file}`);
    try {
      const writer = db.runWriter(TARGET_RUN);
      const points = (key: string, n: number) => Array.from({ length: n }, (_, i) => ({ key, value: i, timestamp: T0 + i, step: i }));
      assert.equal(await writer.add('a', points('a', POINTS_PER_TRANSACTION - 10)), 0);
      // 'b' fills the transaction: it is committed with b's first 10 points, the rest waits.
      assert.equal(await writer.add('b', points('b', 25)), POINTS_PER_TRANSACTION);
      assert.deepEqual(latestRows(file).get('b'), { value: 9, timestamp: T0 + 9, step: 9, is_nan: 0 });
      assert.equal(await writer.flush(), 15);
      assert.equal(await writer.flush(), 0);
      assert.deepEqual(latestRows(file).get('b'), { value: 24, timestamp: T0 + 24, step: 24, is_nan: 0 });
      assert.equal(read<{ n: number }>(file, 'SELECT count(*) AS n FROM metrics')[0]!.n, POINTS_PER_TRANSACTION + 15);
    } finally {
      await db.close();
    }
  });

  test('a latest_metrics row the server wrote for a later point is kept; an earlier one is replaced', async () => {
    const file = mlflowFile(dir, 'server-latest.db');
    const db = await openMlflowMetricsTarget(`sqlite:///${file}`);
    try {
      await db.write(TARGET_RUN, 'a', [{ key: 'a', value: 9, timestamp: T0 + 10, step: 100 }]);
      await db.write(TARGET_RUN, 'a', [{ key: 'a', value: 1, timestamp: T0 + 99, step: 50 }]);
      assert.deepEqual(latestRows(file).get('a'), { value: 9, timestamp: T0 + 10, step: 100, is_nan: 0 });
      await db.write(TARGET_RUN, 'a', [{ key: 'a', value: 3, timestamp: T0 + 11, step: 100 }]);
      assert.deepEqual(latestRows(file).get('a'), { value: 3, timestamp: T0 + 11, step: 100, is_nan: 0 });
      assert.deepEqual(
        (await db.history(TARGET_RUN, 'a')).map((p) => [p.step, p.value]).sort(),
        [[100, 3], [100, 9], [50, 1]].sort(),
      );
    } finally {
      await db.close();
    }
  });

  test('a transaction holds several metrics with their latest rows: when one latest row cannot be written none of its points is there', async () => {
    const file = mlflowFile(dir, 'atomic.db');
    const raw = new Database(file);
    raw.exec("CREATE TRIGGER refuse_latest BEFORE INSERT ON latest_metrics WHEN NEW.step = 666 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
    raw.close();
    const db = await openMlflowMetricsTarget(`sqlite:///${file}`);
    try {
      await db.write(TARGET_RUN, 'ok', [{ key: 'ok', value: 1, timestamp: T0, step: 1 }]);
      const writer = db.runWriter(TARGET_RUN);
      assert.equal(await writer.add('fine', [{ key: 'fine', value: 1, timestamp: T0, step: 1 }]), 0, 'buffered, not yet written');
      const points = Array.from({ length: 300 }, (_, i) => ({ key: 'bad', value: i, timestamp: T0 + i, step: i === 299 ? 666 : i }));
      assert.equal(await writer.add('bad', points), 0);
      await assert.rejects(writer.flush(), /refused by the test/);
      assert.deepEqual(read<{ key: string }>(file, 'SELECT DISTINCT key FROM metrics'), [{ key: 'ok' }]);
      assert.deepEqual([...latestRows(file).keys()], ['ok']);
    } finally {
      await db.close();
    }
  });

  test('a database of another server is refused before any point is written', async () => {
    const file = mlflowFile(dir, 'other.db', ['f'.repeat(32)]);
    await assert.rejects(exportInto(file, histories(), false), (error: Error) => {
      assert.ok(error instanceof MlflowDbRefusedError, String(error));
      assert.match(error.message, new RegExp(`1 of the 1 runs in the target \\(e\\.g\\. ${TARGET_RUN}\\) are not in the database sqlite .*other\\.db: --target-db must be the target server's own --backend-store-uri\\. No metric point was written`));
      return true;
    });
    assert.equal(read<{ n: number }>(file, 'SELECT count(*) AS n FROM metrics')[0]!.n, 0);
    assert.equal(read<{ n: number }>(file, 'SELECT count(*) AS n FROM latest_metrics')[0]!.n, 0);
  });

  test('a database without the tables or columns the writes need is refused, naming what is missing', async () => {
    const noLatest = path.join(dir, 'no-latest.db');
    const a = new Database(noLatest);
    a.exec('CREATE TABLE runs (run_uuid TEXT PRIMARY KEY)');
    a.exec('CREATE TABLE metrics (key TEXT, value REAL, timestamp INTEGER, step INTEGER, run_uuid TEXT)');
    a.close();
    await assert.rejects(openMlflowMetricsTarget(`sqlite:///${noLatest}`), (error: Error) =>
      error instanceof MlflowDbRefusedError && /Cannot write the MLflow database sqlite .*no-latest\.db \(--target-db\): .*lacks column metrics\.is_nan, table latest_metrics$/.test(error.message),
    );
    await assert.rejects(openMlflowMetricsTarget(`sqlite:///${path.join(dir, 'absent.db')}`), (error: Error) => error instanceof MlflowDbRefusedError && /Cannot write the MLflow database/.test(error.message));
    assert.equal(fs.existsSync(path.join(dir, 'absent.db')), false, 'no database is created');
  });
});


describe('trove export --target-db on the command line', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-target-db-cli-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('--target-db without --to, and a database that cannot be opened, are refused with exit code 2, the password never shown', async () => {
    const store = ['--backend-store-uri', `sqlite:///${path.join(dir, 'trove.db')}`, '--artifacts-destination', path.join(dir, 'artifacts')];
    const alone = await runTroveCli(['export', '--to-dir', path.join(dir, 'out'), '--target-db', `sqlite:///${path.join(dir, 'x.db')}`, ...store]);
    assert.equal(alone.code, 2, alone.stdout + alone.stderr);
    assert.match(alone.stderr, /--target-db goes with --to/);
    const mysql = await runTroveCli(['export', '--to', 'http://127.0.0.1:9', '--target-db', 'mysql://writer:s3cret@db/mlflow', ...store]);
    assert.equal(mysql.code, 2, mysql.stdout + mysql.stderr);
    assert.match(mysql.stderr, /--target-db 'mysql:\/\/writer:\*\*\*@db\/mlflow': MySQL databases are not supported/);
    assert.doesNotMatch(mysql.stdout + mysql.stderr, /s3cret/);
    const uri = testPostgresUri();
    if (uri) {
      const url = new URL(uri);
      url.password = 'wrong-s3cret';
      const wrong = await runTroveCli(['export', '--to', 'http://127.0.0.1:9', '--target-db', url.toString(), ...store]);
      assert.equal(wrong.code, 2, wrong.stdout + wrong.stderr);
      assert.match(wrong.stderr, /Cannot write the MLflow database postgresql:\/\/trove:\*\*\*@/);
      assert.doesNotMatch(wrong.stdout + wrong.stderr, /wrong-s3cret/);
    }
  });
});

describe('trove export --target-db into an MLflow PostgreSQL database', { skip: testPostgresUri() ? false : POSTGRES_SKIP_MESSAGE }, () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase(testPostgresUri()!, 'trove_exp13db');
    const client = new pg.Client({ connectionString: database.uri });
    await client.connect();
    try {
      await createMlflowPostgresTables(client);
      await client.query('INSERT INTO runs (run_uuid) VALUES ($1)', [TARGET_RUN]);
    } finally {
      await client.end();
    }
  });
  after(async () => database?.drop());

  test('writes every point once through each URI form, latest_metrics as MLflow keeps them, and reads the history back', async () => {
    const data = histories();
    for (const [i, form] of ['postgresql://', 'postgresql+psycopg2://'].entries()) {
      const db = await openMlflowMetricsTarget(database.uri.replace(/^postgres(ql)?:\/\//, form), 2);
      try {
        assert.ok(db instanceof PostgresMetricsTarget);
        assert.match(db.description, /:\*\*\*@/);
        let inserted = 0;
        for (const [key, points] of data) {
          // In two calls, the second with the first's points again: nothing twice.
          inserted += await db.write(TARGET_RUN, key, points.slice(0, Math.ceil(points.length / 2)));
          inserted += await db.write(TARGET_RUN, key, points);
        }
        const all = [...data.values()].reduce((n, points) => n + distinct(points), 0);
        assert.equal(inserted, i === 0 ? all : 0, form);
        const counts = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM metrics');
        assert.equal(Number(counts.rows[0]!.n), all);
        const latest = await db.pool.query<{ key: string; value: number; timestamp: string; step: string; is_nan: boolean }>('SELECT key, value, timestamp, step, is_nan FROM latest_metrics');
        const rows = new Map(latest.rows.map((r) => [r.key, { value: r.value, timestamp: Number(r.timestamp), step: Number(r.step), is_nan: r.is_nan ? 1 : 0 }]));
        for (const [key, points] of data) assert.deepEqual(rows.get(key), mlflowLatest(points), key);
        const nan = await db.history(TARGET_RUN, 'nan');
        assert.deepEqual(nan.map((p) => [p.step, Number.isNaN(p.value) ? 'nan' : p.value]).sort(), [[0, 1], [1, 'nan']]);
        assert.deepEqual((await db.history(TARGET_RUN, 'inf')).map((p) => p.value).sort(), [-MAX, MAX]);
        assert.deepEqual(await db.missingRuns([TARGET_RUN, 'd'.repeat(32)]), ['d'.repeat(32)]);
      } finally {
        await db.close();
      }
    }
  });

  test('a schema without latest_metrics is refused, naming it', async () => {
    const url = new URL(database.uri);
    // Its own schema in the same database, holding only runs and metrics.
    const client = new pg.Client({ connectionString: database.uri });
    await client.connect();
    try {
      await client.query('CREATE SCHEMA partial');
      await client.query('CREATE TABLE partial.runs (run_uuid varchar(32) PRIMARY KEY)');
      await client.query('CREATE TABLE partial.metrics (key varchar(250), value double precision, timestamp bigint, step bigint, is_nan boolean, run_uuid varchar(32))');
    } finally {
      await client.end();
    }
    url.searchParams.set('options', '-c search_path=partial');
    await assert.rejects(openMlflowMetricsTarget(url.toString(), 1), (error: Error) => error instanceof MlflowDbRefusedError && /lacks table latest_metrics$/.test(error.message) && error.message.includes(':***@'));
  });
});
