import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import { ImportConflictError } from '../domain/import/import-plan.ts';
import type { MetricRecord } from '../store/tracking-store.ts';
import { describeBackendStoreUri, isPostgresUri, toPgConnectionString } from '../store/sql/database.ts';
import { loadPg } from '../store/sql/load-pg.ts';

/**
 * What `trove import mlflow --source-db` and `trove export --to … --target-db` share: an MLflow
 * server's own database (its `--backend-store-uri`) named by a SQLAlchemy URI, opened (SQLite
 * through better-sqlite3, PostgreSQL through the lazily loaded node-postgres), its tables checked,
 * and its metric rows read. Passwords are masked in every description and message.
 *
 * MLflow's `metrics` table holds one row per point (run_uuid, key, value, timestamp, step, is_nan),
 * indexed on (run_uuid, key, step); `latest_metrics` one row per run and key. A NaN is stored as
 * value 0 with is_nan true; ±infinity as ±the largest double, which is also what MLflow's REST API
 * answers for it.
 */

/** The flag a database URI came with, named in messages. */
export type MlflowDbFlag = '--source-db' | '--target-db';

/** A database URI understood: which database, and how to print it (password masked). */
export type MlflowDbUri = { dialect: 'sqlite'; file: string; description: string } | { dialect: 'postgres'; connectionString: string; description: string };

/** The largest double: what MLflow stores for +infinity (and its negative for -infinity). */
export const MLFLOW_MAX_DOUBLE = 1.7976931348623157e308;

/**
 * Raised when a database given with --source-db/--target-db cannot be used (an unsupported URI, a
 * file or server that is not there, missing tables, another server's database): the command is
 * refused before it writes anything, with exit code 2 like every other refusal of the CLI.
 */
export class MlflowDbRefusedError extends ImportConflictError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'MlflowDbRefusedError';
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/**
 * MLflow's backend-store URI forms: `sqlite:///relative.db`, `sqlite:////absolute.db`,
 * `postgresql://`, `postgres://` and `postgresql+<driver>://` (e.g. `+psycopg2`). MySQL and SQL
 * Server databases are refused with a message saying what to do instead.
 */
export function parseMlflowDbUri(uri: string, flag: MlflowDbFlag): MlflowDbUri {
  const shown = describeBackendStoreUri(uri);
  if (/^sqlite:/i.test(uri)) {
    const match = /^sqlite:\/\/\/([^?]*)(?:\?.*)?$/i.exec(uri);
    const file = match?.[1] ?? '';
    if (file === '' || file === ':memory:') {
      throw new MlflowDbRefusedError(`${flag} '${shown}' names no database file. Give the MLflow server's --backend-store-uri, e.g. sqlite:///mlflow.db (relative) or sqlite:////srv/mlflow/mlflow.db (absolute).`);
    }
    const resolved = path.resolve(decodeURIComponent(file));
    return { dialect: 'sqlite', file: resolved, description: `sqlite ${resolved}` };
  }
  if (isPostgresUri(uri)) return { dialect: 'postgres', connectionString: toPgConnectionString(uri), description: shown };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase() ?? '';
  const family = scheme.split('+')[0];
  const name = family === 'mysql' || family === 'mariadb' ? 'MySQL' : family === 'mssql' ? 'SQL Server' : undefined;
  const without = flag === '--source-db' ? "without --source-db the metric histories come through the server's REST API" : "without --target-db the metric histories go through the server's REST API";
  throw new MlflowDbRefusedError(
    `${flag} '${shown}': ${name ? `${name} databases are not supported` : 'unsupported database URI'}. ` +
      `It takes SQLite (sqlite:///<path>) and PostgreSQL (postgresql://<user>:<password>@<host>:<port>/<database>) MLflow databases; ${without}.`,
  );
}

/** The tables and columns of MLflow's schema a command needs, by table. */
export type RequiredColumns = Record<string, readonly string[]>;

/** What of `required` a database lacks, as words ("table latest_metrics", "column metrics.is_nan"); empty when nothing. */
export function describeMissing(required: RequiredColumns, present: Map<string, Set<string>>): string[] {
  const missing: string[] = [];
  for (const [table, columns] of Object.entries(required)) {
    const have = present.get(table);
    if (!have || have.size === 0) {
      missing.push(`table ${table}`);
      continue;
    }
    for (const column of columns) if (!have.has(column)) missing.push(`column ${table}.${column}`);
  }
  return missing;
}

/** The columns each of `tables` has in a SQLite database (an absent table has none). */
export function sqliteColumns(db: BetterSqlite3.Database, tables: string[]): Map<string, Set<string>> {
  const statement = db.prepare<[string], { name: string }>('SELECT name FROM pragma_table_info(?)');
  return new Map(tables.map((t) => [t, new Set(statement.all(t).map((r) => r.name))]));
}

/** The columns each of `tables` has in the first schema of a PostgreSQL session's search path. */
export async function postgresColumns(pool: pg.Pool, tables: string[]): Promise<Map<string, Set<string>>> {
  const result = await pool.query<{ table_name: string; column_name: string }>(
    'SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ANY($1::text[])',
    [tables],
  );
  const out = new Map<string, Set<string>>(tables.map((t) => [t, new Set<string>()]));
  for (const row of result.rows) out.get(row.table_name)?.add(row.column_name);
  return out;
}

/** Refuses a database lacking what `required` names, naming each missing table and column. */
export function requireColumns(required: RequiredColumns, present: Map<string, Set<string>>): void {
  const missing = describeMissing(required, present);
  if (missing.length > 0) throw new Error(`it is not an MLflow tracking database this command can use: it lacks ${missing.join(', ')}`);
}

/**
 * An MLflow SQLite file, which must exist. `readonly` for a source; a target is opened read-write.
 * Either way the server may be writing at the same time, so a statement waits for its lock (a busy
 * timeout of 30 s) instead of failing. The journal mode is left as the server set it. A file
 * lacking what `required` names is refused (closed again).
 */
export async function openMlflowSqlite(file: string, options: { readonly: boolean; required: RequiredColumns }): Promise<BetterSqlite3.Database> {
  const Database = (await import('better-sqlite3')).default;
  const db = new Database(file, { readonly: options.readonly, fileMustExist: true, timeout: 30_000 });
  try {
    requireColumns(options.required, sqliteColumns(db, Object.keys(options.required)));
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * An MLflow PostgreSQL database: a pool of `connections`. With `readOnly` every session starts
 * read-only (a server setting sent with the connection, added to the URI's own `options` if it
 * has some): each transaction in it refuses to write. A database lacking what `required` names is
 * refused (the pool ended again).
 */
export async function openMlflowPgPool(connectionString: string, options: { readOnly: boolean; connections: number; required: RequiredColumns }): Promise<pg.Pool> {
  const pgModule = await loadPg();
  let sessionOptions = options.readOnly ? '-c default_transaction_read_only=on' : '';
  let target = connectionString;
  const url = new URL(connectionString);
  const own = url.searchParams.get('options');
  if (own !== null) {
    url.searchParams.delete('options');
    target = url.toString();
    sessionOptions = `${own} ${sessionOptions}`.trim();
  }
  const pool = new pgModule.Pool({ connectionString: target, ...(sessionOptions ? { options: sessionOptions } : {}), max: options.connections, idleTimeoutMillis: 30_000 });
  pool.on('error', () => undefined);
  // The first connection, so a wrong password or an unreachable server is reported here.
  try {
    await pool.query('SELECT 1');
    requireColumns(options.required, await postgresColumns(pool, Object.keys(options.required)));
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  return pool;
}

/**
 * Runs `open` for a database given with `flag`; any failure (missing file, wrong password, missing
 * tables) becomes a refusal naming the database, its password masked.
 */
export async function openRefusing<T>(flag: MlflowDbFlag, description: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    if (error instanceof MlflowDbRefusedError) throw error;
    const verb = flag === '--source-db' ? 'read' : 'write';
    throw new MlflowDbRefusedError(`Cannot ${verb} the MLflow database ${description} (${flag}): ${describeBackendStoreUri((error as Error).message)}`, { cause: error });
  }
}

/** A `metrics` row as read back (PostgreSQL answers bigint as text). */
export interface MetricRow {
  value: number;
  timestamp: number | string;
  step: number | string;
  is_nan: number | boolean;
}

/** Every point of one metric of a run, in MLflow's `metrics` table. */
export const HISTORY_SQL = 'SELECT value, timestamp, step, is_nan FROM metrics WHERE run_uuid = $1 AND key = $2';

/** `$n` placeholders as SQLite's `?`. */
export function toSqlite(sql: string): string {
  return sql.replace(/\$\d+/g, '?');
}

/**
 * The history query for a SQLite file. Without statistics SQLite answers `run_uuid = ? AND key = ?`
 * from the primary key's index (key first, covering), i.e. by scanning that key's points of every
 * run: the time grows with the number of runs (MLflow's own get-history query is planned so).
 * MLflow's (run_uuid, key, step) index, or its run_uuid one in older databases, is named instead:
 * 140,000 points/s on 2 busy cores against ~35,000 for the default plan at 200 runs.
 */
export function sqliteHistorySql(db: BetterSqlite3.Database): string {
  const indexes = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'metrics'").all() as Array<{ name: string }>).map((r) => r.name));
  const index = ['index_metrics_run_uuid_key_step', 'index_metrics_run_uuid'].find((name) => indexes.has(name));
  return toSqlite(HISTORY_SQL).replace('FROM metrics', index ? `FROM metrics INDEXED BY "${index}"` : 'FROM metrics');
}

/** A stored point as Trove holds it: NaN from is_nan, infinities as the largest double (as MLflow's API answers). */
export function metricFromRow(key: string, row: MetricRow): MetricRecord {
  return { key, value: row.is_nan === true || row.is_nan === 1 ? Number.NaN : row.value, timestamp: Number(row.timestamp), step: Number(row.step) };
}
