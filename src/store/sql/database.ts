import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import type { Database } from './schema.ts';
import { migrationProvider } from './migrations/index.ts';

export interface OpenedDatabase {
  db: Kysely<Database>;
  /** A description safe to print: never includes a password. */
  description: string;
  close(): Promise<void>;
}

/**
 * Parses MLflow's backend store URI forms: `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`
 * and `sqlite:///:memory:`.
 */
export function parseSqliteUri(uri: string): string {
  const match = /^sqlite:\/\/\/(.*)$/.exec(uri);
  if (!match) throw new Error(`Unsupported backend store URI '${uri}'. Expected sqlite:///<path>.`);
  const file = match[1] ?? '';
  if (file === '' || file === ':memory:') return ':memory:';
  return file;
}

/**
 * Opens the backend store and brings its schema up to date. SQLite runs in WAL mode with a busy
 * timeout, so readers never block the writer and a second process (an admin command) waits
 * instead of failing with "database is locked". synchronous=FULL makes every acknowledged commit
 * survive a power loss, not only a process crash.
 */
export async function openDatabase(uri: string): Promise<OpenedDatabase> {
  if (!uri.startsWith('sqlite:')) {
    throw new Error(`Unsupported backend store URI '${uri}'. This version supports sqlite:///<path>.`);
  }
  const file = parseSqliteUri(uri);
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new SqliteDatabase(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 10000');
  sqlite.pragma('foreign_keys = ON');
  // MLflow's LIKE is case-sensitive (ILIKE is the case-insensitive one); SQLite's is not by default.
  sqlite.pragma('case_sensitive_like = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrate(db);
  return {
    db,
    description: file === ':memory:' ? 'sqlite (in memory)' : `sqlite ${path.resolve(file)}`,
    close: () => db.destroy(),
  };
}

export async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`Database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error });
  }
}
