import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import type { MetricRecord } from '../../store/tracking-store.ts';
import type { ArtifactOwner, MigrationSource, OpenedArtifact, SourceArtifact, SourceExperiment, SourceLoggedModel, SourceModelVersion, SourceRegisteredModel, SourceRun, SourceTrace, SourceTracePage } from '../../domain/import/source.ts';
import { describeBackendStoreUri, isPostgresUri, toPgConnectionString } from '../../store/sql/database.ts';
import { loadPg } from '../../store/sql/load-pg.ts';

/**
 * `trove import mlflow --source-db <uri>`: the metric histories, nearly all of a tracking server's
 * data, read straight from the MLflow server's own database (its `--backend-store-uri`) instead of
 * one `metrics/get-history` request per metric; everything else still comes through the REST API.
 * The database is only read: SQLite opened read-only (waiting for the server's writes), PostgreSQL
 * in read-only sessions.
 *
 * MLflow's `metrics` table holds one row per point (run_uuid, key, value, timestamp, step, is_nan),
 * indexed on (run_uuid, key, step). A NaN is stored as value 0 with is_nan true; ±infinity as
 * ±the largest double, which is also what MLflow's REST API answers for it, so it is kept as is.
 */

/** A `--source-db` URI understood: which database, and how to print it (password masked). */
export type SourceDbUri = { dialect: 'sqlite'; file: string; description: string } | { dialect: 'postgres'; connectionString: string; description: string };

/**
 * MLflow's backend-store URI forms: `sqlite:///relative.db`, `sqlite:////absolute.db`,
 * `postgresql://`, `postgres://` and `postgresql+<driver>://` (e.g. `+psycopg2`). MySQL and SQL
 * Server databases are refused with a message saying what to do instead.
 */
export function parseSourceDbUri(uri: string): SourceDbUri {
  const shown = describeBackendStoreUri(uri);
  if (/^sqlite:/i.test(uri)) {
    const match = /^sqlite:\/\/\/([^?]*)(?:\?.*)?$/i.exec(uri);
    const file = match?.[1] ?? '';
    if (file === '' || file === ':memory:') {
      throw new Error(`--source-db '${shown}' names no database file. Give the MLflow server's --backend-store-uri, e.g. sqlite:///mlflow.db (relative) or sqlite:////srv/mlflow/mlflow.db (absolute).`);
    }
    const resolved = path.resolve(decodeURIComponent(file));
    return { dialect: 'sqlite', file: resolved, description: `sqlite ${resolved}` };
  }
  if (isPostgresUri(uri)) return { dialect: 'postgres', connectionString: toPgConnectionString(uri), description: shown };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase() ?? '';
  const family = scheme.split('+')[0];
  const name = family === 'mysql' || family === 'mariadb' ? 'MySQL' : family === 'mssql' ? 'SQL Server' : undefined;
  throw new Error(
    `--source-db '${shown}': ${name ? `${name} databases are not supported` : 'unsupported database URI'}. ` +
      'It reads SQLite (sqlite:///<path>) and PostgreSQL (postgresql://<user>:<password>@<host>:<port>/<database>) MLflow databases; ' +
      'without --source-db the metric histories come through the server\'s REST API.',
  );
}

/** The two reads the import needs from an MLflow database. */
export interface MlflowMetricsDb {
  readonly description: string;
  /** Whether the `runs` table holds this run (the database belongs to the server being imported). */
  hasRun(runId: string): Promise<boolean>;
  /** Every point of one metric of a run. */
  history(runId: string, key: string): Promise<MetricRecord[]>;
  close(): Promise<void>;
}

interface PointRow {
  value: number;
  timestamp: number | string;
  step: number | string;
  is_nan: number | boolean;
}

const HISTORY_SQL = 'SELECT value, timestamp, step, is_nan FROM metrics WHERE run_uuid = $1 AND key = $2';
const RUN_SQL = 'SELECT 1 AS found FROM runs WHERE run_uuid = $1';

function point(key: string, row: PointRow): MetricRecord {
  return { key, value: row.is_nan === true || row.is_nan === 1 ? Number.NaN : row.value, timestamp: Number(row.timestamp), step: Number(row.step) };
}

/** Opens the database of a `--source-db` URI, read-only, and checks it has MLflow's tables. */
export async function openMlflowMetricsDb(uri: string, connections = 4): Promise<MlflowMetricsDb> {
  const parsed = parseSourceDbUri(uri);
  try {
    if (parsed.dialect === 'sqlite') return await SqliteMetricsDb.open(parsed.file, parsed.description);
    return await PostgresMetricsDb.open(parsed.connectionString, parsed.description, connections);
  } catch (error) {
    throw new Error(`Cannot read the MLflow database ${parsed.description} (--source-db): ${(error as Error).message}`, { cause: error });
  }
}

/**
 * MLflow's SQLite file, opened read-only: the server may still be writing, so a read waits for its
 * lock (busy timeout) instead of failing. Both statements are prepared once.
 */
export class SqliteMetricsDb implements MlflowMetricsDb {
  private constructor(
    readonly description: string,
    private readonly db: BetterSqlite3.Database,
    private readonly historyStatement: BetterSqlite3.Statement<[string, string], PointRow>,
    private readonly runStatement: BetterSqlite3.Statement<[string], { found: number }>,
  ) {}

  static async open(file: string, description: string): Promise<SqliteMetricsDb> {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 30_000 });
    try {
      const toSqlite = (sql: string) => sql.replace(/\$\d+/g, '?');
      // Without statistics SQLite answers `run_uuid = ? AND key = ?` from the primary key's index
      // (key first, covering), i.e. by scanning that key's points of every run: the time grows with
      // the number of runs (MLflow's own get-history query is planned so). MLflow's
      // (run_uuid, key, step) index, or its run_uuid one in older databases, is named instead:
      // 140,000 points/s on 2 busy cores against ~35,000 for the default plan at 200 runs.
      const indexes = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'metrics'").all() as Array<{ name: string }>).map((r) => r.name));
      const index = ['index_metrics_run_uuid_key_step', 'index_metrics_run_uuid'].find((name) => indexes.has(name));
      const history = toSqlite(HISTORY_SQL).replace('FROM metrics', index ? `FROM metrics INDEXED BY "${index}"` : 'FROM metrics');
      return new SqliteMetricsDb(description, db, db.prepare<[string, string], PointRow>(history), db.prepare<[string], { found: number }>(toSqlite(RUN_SQL)));
    } catch (error) {
      db.close();
      throw new Error(`it has no MLflow metrics/runs tables (${(error as Error).message})`, { cause: error });
    }
  }

  /** The history query as prepared (which index it names). */
  get historySql(): string {
    return this.historyStatement.source;
  }

  async hasRun(runId: string): Promise<boolean> {
    return this.runStatement.get(runId) !== undefined;
  }

  async history(runId: string, key: string): Promise<MetricRecord[]> {
    return this.historyStatement.all(runId, key).map((row) => point(key, row));
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/**
 * MLflow's PostgreSQL database through the bundled node-postgres (loaded only here), a few
 * connections whose sessions are read-only (every transaction in them refuses to write). The
 * queries are named, so each connection prepares them once.
 */
export class PostgresMetricsDb implements MlflowMetricsDb {
  private constructor(
    readonly description: string,
    /** The connections (read-only sessions). */
    readonly pool: pg.Pool,
  ) {}

  static async open(connectionString: string, description: string, connections: number): Promise<PostgresMetricsDb> {
    const pgModule = await loadPg();
    // Every session starts read-only (a server setting sent with the connection, added to the
    // URI's own `options` if it has some): each transaction in it refuses to write.
    let options = '-c default_transaction_read_only=on';
    let target = connectionString;
    const url = new URL(connectionString);
    const own = url.searchParams.get('options');
    if (own !== null) {
      url.searchParams.delete('options');
      target = url.toString();
      options = `${own} ${options}`;
    }
    const pool = new pgModule.Pool({ connectionString: target, options, max: connections, idleTimeoutMillis: 30_000 });
    pool.on('error', () => undefined);
    const db = new PostgresMetricsDb(description, pool);
    try {
      await pool.query({ name: 'trove_mlflow_columns', text: 'SELECT run_uuid, key, value, timestamp, step, is_nan FROM metrics WHERE false' });
      await pool.query({ name: 'trove_mlflow_runs', text: 'SELECT run_uuid FROM runs WHERE false' });
    } catch (error) {
      await pool.end().catch(() => undefined);
      const code = (error as { code?: string }).code;
      throw code === '42P01' || code === '42703' ? new Error(`it has no MLflow metrics/runs tables (${(error as Error).message})`, { cause: error }) : error;
    }
    return db;
  }

  async hasRun(runId: string): Promise<boolean> {
    return (await this.pool.query({ name: 'trove_mlflow_run', text: RUN_SQL, values: [runId] })).rowCount !== 0;
  }

  async history(runId: string, key: string): Promise<MetricRecord[]> {
    const result = await this.pool.query<PointRow>({ name: 'trove_mlflow_history', text: HISTORY_SQL, values: [runId, key] });
    return result.rows.map((row) => point(key, row));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * The REST source with its metric histories read from the server's database instead. Each run the
 * server lists is looked up in the database's `runs` table first: a database of another server
 * stops the import while it is planned, before anything is written.
 */
export class DbHistoriesSource implements MigrationSource {
  readonly description: string;
  readonly key: string;
  /** Ids checked against the database (the plan lists each run once; the check runs once per id). */
  private readonly checked = new Set<string>();

  constructor(
    private readonly rest: MigrationSource,
    private readonly db: MlflowMetricsDb,
  ) {
    this.description = `${rest.description}, metric histories read from its database ${db.description}`;
    // The same source as without --source-db: a mirror may switch between the two.
    this.key = rest.key;
    if (rest.traceIds && rest.trace) {
      const { traceIds, trace } = rest;
      this.traceIds = (experimentId, pageToken) => traceIds.call(rest, experimentId, pageToken);
      this.trace = (traceId) => trace.call(rest, traceId);
    }
  }

  traceIds?: (experimentId: string, pageToken: string | undefined) => Promise<SourceTracePage>;
  trace?: (traceId: string) => Promise<SourceTrace>;

  get warnings(): string[] {
    return this.rest.warnings;
  }

  experiments(): AsyncIterable<SourceExperiment> {
    return this.rest.experiments();
  }

  async *runs(experimentId: string): AsyncIterable<SourceRun> {
    for await (const run of this.rest.runs(experimentId)) {
      const id = run.info.runId;
      if (!this.checked.has(id)) {
        if (!(await this.db.hasRun(id))) {
          throw new Error(
            `Run ${id} of ${this.rest.description} is not in the database ${this.db.description}: --source-db must be that server's own --backend-store-uri. Nothing was imported.`,
          );
        }
        this.checked.add(id);
      }
      yield run;
    }
  }

  metricHistory(runId: string, key: string): Promise<MetricRecord[]> {
    return this.db.history(runId, key);
  }

  loggedModels(experimentIds: string[]): AsyncIterable<SourceLoggedModel> {
    return this.rest.loggedModels(experimentIds);
  }

  registeredModels(): AsyncIterable<SourceRegisteredModel> {
    return this.rest.registeredModels();
  }

  modelVersions(modelName: string): Promise<SourceModelVersion[]> {
    return this.rest.modelVersions(modelName);
  }

  listArtifacts(root: string, owner: ArtifactOwner): AsyncIterable<SourceArtifact> {
    return this.rest.listArtifacts(root, owner);
  }

  openArtifact(root: string, owner: ArtifactOwner, relative: string): Promise<OpenedArtifact> {
    return this.rest.openArtifact(root, owner, relative);
  }

  async close(): Promise<void> {
    try {
      await this.db.close();
    } finally {
      await this.rest.close();
    }
  }
}
