import fs from 'node:fs';
import path from 'node:path';
import type SqliteDatabase from 'better-sqlite3';
import type pg from 'pg';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type LogEvent,
  type PostgresPool,
  type PostgresPoolClient,
  type SqliteDatabase as KyselySqliteDatabase,
  type SqliteDialectConfig,
} from 'kysely';
import type { Database } from './schema.ts';
import { preparedStatementName } from './prepared.ts';
import { migrate } from './migrate.ts';
import { loadPg } from './load-pg.ts';
import { enableGroupCommit } from './group-commit.ts';
import { directSqlite } from './direct-sqlite.ts';
import { walAutocheckpointFromEnv } from './sqlite-checkpoint.ts';
import { noteCommits, registerWalSyncer, sqliteSyncFromEnv, WalFile, WalSyncer, type SqliteState, type SqliteSyncMode } from './wal-sync.ts';

export interface OpenedDatabase {
  db: Kysely<Database>;
  /** Which database this is; a few callers (query plans, tests) need to know. */
  dialect: 'sqlite' | 'postgres';
  /** A description safe to print: never includes a password. */
  description: string;
  close(): Promise<void>;
  /** Connections of the PostgreSQL pool (absent for SQLite). */
  poolStats?(): { total: number; idle: number; waiting: number };
}

export interface OpenDatabaseOptions {
  /**
   * Bring the schema up to date (default true). `trove server --workers N` migrates once in the
   * primary process and opens the database in the workers with `migrate: false`.
   */
  migrate?: boolean;
  /** Most connections one process keeps to PostgreSQL (default 10). Ignored for SQLite. */
  poolSize?: number;
  /**
   * Send the hot statements of prepared.ts as named PostgreSQL statements (default true). Off for a
   * pooler that hands each transaction a different server connection (PgBouncer in transaction
   * mode before 1.21, or without `max_prepared_statements`): there a name prepared on one server
   * connection is unknown on the next. Ignored for SQLite.
   */
  preparedStatements?: boolean;
  /** Sees every statement the store runs, with its parameters (the query-plan report uses it). */
  onQuery?: (query: CompiledQuery) => void;
  /** Sees every statement's duration and whether it failed (Prometheus). */
  onQueryTiming?: (durationMs: number, failed: boolean) => void;
  /** How SQLite commits are made durable (default: TROVE_SQLITE_SYNC, else `overlapped`; wal-sync.ts). Ignored for PostgreSQL. */
  sqliteSync?: SqliteSyncMode;
  /** WAL pages at which SQLite checkpoints (default: TROVE_SQLITE_WAL_AUTOCHECKPOINT, else 10,000; sqlite-checkpoint.ts). Ignored for PostgreSQL. */
  sqliteWalAutocheckpoint?: number;
}

/**
 * Parses MLflow's backend store URI forms: `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`
 * and `sqlite:///:memory:`.
 */
export function parseSqliteUri(uri: string): string {
  const match = /^sqlite:\/\/\/(.*)$/.exec(uri);
  if (!match) throw new Error(`Unsupported backend store URI '${describeBackendStoreUri(uri)}'. Expected sqlite:///<path>.`);
  const file = match[1] ?? '';
  if (file === '' || file === ':memory:') return ':memory:';
  return file;
}

/** MLflow's PostgreSQL forms: `postgresql://`, `postgres://` and SQLAlchemy's `postgresql+<driver>://`. */
const POSTGRES_SCHEME = /^postgres(?:ql)?(?:\+[a-z0-9_]+)?:\/\//i;

export function isPostgresUri(uri: string): boolean {
  return POSTGRES_SCHEME.test(uri);
}

/**
 * The connection string node-postgres understands: SQLAlchemy's `+psycopg2` (or any `+driver`)
 * suffix is dropped, everything else (user, password, host, port, database, `?sslmode=`) is kept.
 */
export function toPgConnectionString(uri: string): string {
  if (!isPostgresUri(uri)) throw new Error(`Not a PostgreSQL URI: '${describeBackendStoreUri(uri)}'.`);
  return uri.replace(POSTGRES_SCHEME, 'postgresql://');
}

/**
 * A backend store URI with its secrets masked, for logs, the startup banner and error messages:
 * the password in the authority part and any `password=` query parameter become `***`.
 */
export function describeBackendStoreUri(uri: string): string {
  return uri
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#@]*@/i, '$1:***@')
    .replace(/([?&]password=)[^&#]*/gi, '$1***');
}

/**
 * Opens the backend store (SQLite or PostgreSQL, chosen by the URI's scheme) and, unless told
 * otherwise, brings its schema up to date with the one migration list both databases share.
 */
export async function openDatabase(uri: string, options: OpenDatabaseOptions = {}): Promise<OpenedDatabase> {
  let opened: OpenedDatabase;
  // Each driver is loaded only when its database is used: a SQLite server never loads pg (about
  // 14 MiB), a PostgreSQL one never loads the native SQLite module (docs/memory.md).
  if (uri.startsWith('sqlite:')) opened = openSqlite(uri, (await import('better-sqlite3')).default, {
      sync: options.sqliteSync ?? sqliteSyncFromEnv(process.env),
      walAutocheckpoint: options.sqliteWalAutocheckpoint ?? walAutocheckpointFromEnv(process.env),
    }, queryObserver(options));
  else if (isPostgresUri(uri)) opened = openPostgres(uri, await loadPg(), options.poolSize ?? 10, options.preparedStatements ?? true, queryObserver(options));
  else {
    throw new Error(
      `Unsupported backend store URI '${describeBackendStoreUri(uri)}'. ` +
        'Expected sqlite:///<path> or postgresql://<user>:<password>@<host>:<port>/<database>.',
    );
  }
  if (options.migrate ?? true) {
    try {
      await migrate(opened.db, uri.startsWith('sqlite:') ? 'sqlite' : 'postgresql');
    } catch (error) {
      await opened.close().catch(() => undefined);
      // Name the database (password masked): "connect ECONNREFUSED" alone does not say which.
      throw new Error(`Cannot prepare the backend store ${opened.description}: ${(error as Error).message}`, { cause: error });
    }
  }
  return opened;
}

/**
 * SQLite runs in WAL mode with a busy timeout, so readers never block the writer and a second
 * process (another `--workers` process, an admin command) waits instead of failing with
 * "database is locked". Every acknowledged commit survives a power loss, not only a process
 * crash: by default (`overlapped`) SQLite runs synchronous=NORMAL and each commit is answered only
 * after our own fdatasync of the WAL, run off the event loop while the next group works
 * (wal-sync.ts); with TROVE_SQLITE_SYNC=full SQLite fsyncs inside every COMMIT (synchronous=FULL).
 */
function openSqlite(
  uri: string,
  SqliteDatabase: typeof import('better-sqlite3'),
  settings: { sync: SqliteSyncMode; walAutocheckpoint: number },
  onQuery?: QueryObserver,
): OpenedDatabase {
  const file = parseSqliteUri(uri);
  if (!Number.isSafeInteger(settings.walAutocheckpoint) || settings.walAutocheckpoint < 1) throw new Error(`wal_autocheckpoint must be a positive whole number of pages, got ${settings.walAutocheckpoint}.`);
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new SqliteDatabase(file);
  const overlapped = settings.sync === 'overlapped' && file !== ':memory:';
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(overlapped ? 'synchronous = NORMAL' : 'synchronous = FULL');
  // Checkpoints ten times rarer than SQLite's default: each one runs on the event loop (sqlite-checkpoint.ts).
  sqlite.pragma(`wal_autocheckpoint = ${settings.walAutocheckpoint}`);
  sqlite.pragma('busy_timeout = 30000');
  sqlite.pragma('foreign_keys = ON');
  // MLflow's LIKE is case-sensitive (ILIKE is the case-insensitive one); SQLite's is not by default.
  sqlite.pragma('case_sensitive_like = ON');
  // Every group-commit member runs inside a SAVEPOINT, and SQLite keeps the pages a savepoint
  // changes in a statement journal. Past 64 KiB (16 pages, which one run's log-batch with its
  // indexes exceeds) that journal spills to a temp file in /var/tmp, and from then on each page
  // is three pwrite() calls for the rest of the transaction: ~44 syscalls per seeded run, ~7 % of
  // the server's busy time (docs/benchmarks.md). In memory the journal is truncated at each
  // member's RELEASE, so it holds one member's pages at most. The price: a sort no index serves
  // (a search ordered by a param, say) no longer spills to a temp file past SQLite's cache size;
  // its rows are the sort keys and run ids, a few MiB for 100,000 runs.
  sqlite.pragma('temp_store = MEMORY');
  const state = { lastStatementReadonly: true, get inTransaction() { return sqlite.inTransaction; } };
  const syncer = overlapped ? new WalSyncer(new WalFile(file)) : undefined;
  const statements = withStatementCache(sqlite, state);
  const dialect = new ImmediateSqliteDialect({ database: statements }, syncer ? { syncer, sqlite: state } : undefined);
  const db = new Kysely<Database>({ dialect, ...queryLog(onQuery) });
  // Transactional writes of the tracking store share commits: one fsync for many requests.
  enableGroupCommit(db, { direct: directSqlite(statements, onQuery), ...(syncer ? { durability: syncer } : {}) });
  if (syncer) registerWalSyncer(db, syncer);
  return {
    db,
    dialect: 'sqlite',
    description: file === ':memory:' ? 'sqlite (in memory)' : `sqlite ${path.resolve(file)}`,
    close: () => db.destroy(),
  };
}

/**
 * Kysely's SQLite driver prepares every statement anew, and compiling SQL was ~9% of the server's
 * CPU under `npm run bench` (a 1,000-point metric insert alone has thousands of placeholders).
 * Prepared statements are kept per SQL text, least recently used out first, and reused unless one
 * is still being iterated. SQLite re-prepares a kept statement by itself after a schema change.
 */
function withStatementCache(sqlite: SqliteDatabase.Database, state: { lastStatementReadonly: boolean }, size = 256): KyselySqliteDatabase {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sqlText: string) {
      const kept = cache.get(sqlText);
      if (kept && !kept.busy) {
        cache.delete(sqlText);
        cache.set(sqlText, kept);
        state.lastStatementReadonly = kept.readonly;
        return kept;
      }
      const statement = sqlite.prepare(sqlText);
      state.lastStatementReadonly = statement.readonly;
      if (!kept) {
        cache.set(sqlText, statement);
        if (cache.size > size) cache.delete(cache.keys().next().value as string);
      }
      return statement;
    },
  };
}

/**
 * Kysely's SQLite driver starts transactions with a plain (deferred) BEGIN. A deferred
 * transaction that reads and then writes cannot wait for another process's write lock: SQLite
 * fails it at once with SQLITE_BUSY ("database is locked"), busy timeout or not, because waiting
 * could deadlock. BEGIN IMMEDIATE takes the write lock up front, where the busy timeout applies,
 * so several server processes on one file queue up instead of failing. Within one process the
 * driver's single connection already serialises everything, so nothing changes there.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  private wrapped: DatabaseConnection | undefined;
  /** A commit happened while the connection was held this time: flush before answering. */
  private committed = false;

  constructor(
    config: SqliteDialectConfig,
    private readonly durable?: { syncer: WalSyncer; sqlite: SqliteState },
  ) {
    super(config);
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await super.acquireConnection();
    const durable = this.durable;
    if (!durable) return connection;
    this.wrapped ??= noteCommits(connection, durable.sqlite, () => {
      durable.syncer.noteCommit();
      this.committed = true;
    });
    return this.wrapped;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    // After a failed fdatasync nothing more is written (wal-sync.ts, "Failure").
    const failed = this.durable?.syncer.failed;
    if (failed) throw failed;
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  /**
   * Overlapped sync: the connection is free for the next request at once; whoever used it to
   * commit (a transaction or an autocommit write) is answered after the WAL's fdatasync. The
   * group commit's own transaction waits for the same flush itself (group-commit.ts).
   */
  override async releaseConnection(): Promise<void> {
    if (!this.durable || !this.committed) return super.releaseConnection();
    this.committed = false;
    const durable = this.durable.syncer.flush();
    durable.catch(() => undefined);
    await super.releaseConnection();
    await durable;
  }

  override async destroy(): Promise<void> {
    await super.destroy();
    await this.durable?.syncer.close();
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  private readonly driverConfig: SqliteDialectConfig;

  constructor(
    config: SqliteDialectConfig,
    private readonly durable?: { syncer: WalSyncer; sqlite: SqliteState },
  ) {
    super(config);
    this.driverConfig = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.driverConfig, this.durable);
  }
}

/** PostgreSQL type ids (pg_type.oid) whose default text parsing we replace. */
const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * node-postgres returns int8 (bigint columns, count(*)) and numeric as strings, because they may
 * exceed 2^53. Every int8 in this schema is a millisecond timestamp, a step, an id or a count, all
 * far below that, so they become numbers, exactly what SQLite returns. A value that would lose
 * precision stays a string rather than being silently rounded here.
 */
function parseInt8(text: string): number | string {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : text;
}

function parseNumeric(text: string): number | string {
  const value = Number(text);
  // Exact integers must stay exact; fractions are doubles anyway, as on SQLite.
  if (Number.isInteger(value)) return Number.isSafeInteger(value) ? value : text;
  return Number.isFinite(value) ? value : text;
}

/** Per-pool type parsers, so the process-wide pg.types defaults stay untouched. */
function pgTypeParsers(types: typeof pg.types) {
  return {
    getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
      if (format !== 'binary' && oid === INT8_OID) return parseInt8;
      if (format !== 'binary' && oid === NUMERIC_OID) return parseNumeric;
      return types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
    },
  };
}

/**
 * PostgreSQL through a pg connection pool. The pool reconnects on its own: a connection that
 * breaks (server restart, network drop, pg_terminate_backend) fails the queries running on it,
 * which the error handler answers with a retryable 503, and is discarded; the next query opens a
 * fresh one. Nothing here keeps state a second server process would need to see.
 */
function openPostgres(uri: string, pg: typeof import('pg').default, poolSize: number, preparedStatements: boolean, onQuery?: QueryObserver): OpenedDatabase {
  const pool = new pg.Pool({
    connectionString: toPgConnectionString(uri),
    max: poolSize,
    idleTimeoutMillis: 30_000,
    // While the database is unreachable, requests fail after this instead of queueing forever.
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    application_name: 'trove',
    types: pgTypeParsers(pg.types),
  });
  // A connection that dies while idle in the pool (or between queries while checked out) emits
  // 'error'. Unhandled, that event would crash the process; the pool already drops such a
  // connection, and the next query reports any lasting outage, so there is nothing else to do.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparedStatements ? withPreparedStatements(pool) : pool }), ...queryLog(onQuery) });
  return {
    db,
    dialect: 'postgres',
    description: describeBackendStoreUri(uri.replace(POSTGRES_SCHEME, 'postgresql://')),
    close: () => db.destroy(),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
  };
}

/**
 * The pool as Kysely sees it, except that statements registered in prepared.ts go out as named
 * statements (node-postgres parses a name once per connection, then only binds and executes).
 * Everything else, cursors included, passes through unchanged.
 */
function withPreparedStatements(pool: pg.Pool): PostgresPool {
  const wrapped = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    const query = (textOrCursor: unknown, values?: readonly unknown[]): unknown => {
      if (typeof textOrCursor !== 'string') return client.query(textOrCursor as pg.Submittable);
      const name = preparedStatementName(textOrCursor);
      return name === undefined ? client.query(textOrCursor, values as unknown[]) : client.query({ name, text: textOrCursor, values: values as unknown[] });
    };
    return { query: query as PostgresPoolClient['query'], release: (destroy?: boolean) => client.release(destroy) };
  };
  return {
    async connect() {
      const client = await pool.connect();
      let kysely = wrapped.get(client);
      if (!kysely) {
        kysely = wrap(client);
        wrapped.set(client, kysely);
      }
      return kysely;
    },
    end: () => pool.end(),
  };
}

type QueryObserver = (event: LogEvent) => void;

function queryObserver(options: OpenDatabaseOptions): QueryObserver | undefined {
  const { onQuery, onQueryTiming } = options;
  if (onQuery === undefined && onQueryTiming === undefined) return undefined;
  return (event) => {
    onQuery?.(event.query);
    onQueryTiming?.(event.queryDurationMillis, event.level === 'error');
  };
}

function queryLog(observer: QueryObserver | undefined): { log?: (event: LogEvent) => void } {
  if (observer === undefined) return {};
  return { log: observer };
}
