import { Migrator, sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { migrationProvider } from './migrations/index.ts';

export type SqlDialectName = 'sqlite' | 'postgresql';

/**
 * The names of the migrations recorded in Kysely's table, or undefined where that table does not
 * exist yet (a new database). Looked up in the catalogue first, so a new database sees no failed
 * statement (PostgreSQL would log one, and the query metrics would count it).
 */
async function recordedMigrations(db: Kysely<Database>, dialect: SqlDialectName): Promise<Set<string> | undefined> {
  const table =
    dialect === 'sqlite'
      ? sql<{ present: number }>`select count(*) as present from sqlite_master where type = 'table' and name = 'kysely_migration'`
      : sql<{ present: number }>`select count(*)::int as present from (select to_regclass('kysely_migration') as t) found where t is not null`;
  const { rows } = await table.execute(db);
  if (Number(rows[0]?.present ?? 0) === 0) return undefined;
  const names = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
  return new Set(names.rows.map((row) => row.name));
}

/**
 * Brings the schema up to date. A database that has run exactly the migrations this build knows
 * (every start but the first after an upgrade) is recognised with two reads and left alone:
 * Kysely's migrator would otherwise introspect every table, create its lock row and take the
 * lock in a write transaction at each start (docs/memory.md, "Cold start"). Anything else (a new
 * database, a pending migration, a migration this build does not know) goes through the migrator
 * as before, which applies or rejects it.
 */
export async function migrate(db: Kysely<Database>, dialect: SqlDialectName): Promise<void> {
  const known = Object.keys(await migrationProvider.getMigrations());
  const recorded = await recordedMigrations(db, dialect);
  if (recorded !== undefined && recorded.size === known.length && known.every((name) => recorded.has(name))) return;
  // 0004 (auth and audit) landed after 0005 and 0006 had already run on some databases; it only
  // adds tables of its own, so it may run after them. Names are compared by code unit: Kysely's
  // default, localeCompare, loads ICU's collation data for it (~7 ms of a start).
  const migrator = new Migrator({
    db,
    provider: migrationProvider,
    allowUnorderedMigrations: true,
    nameComparator: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (failed) throw new Error(`database migration ${failed.migrationName} failed: ${String(error)}`, { cause: error });
  if (error) throw new Error(error instanceof Error ? error.message : String(error), { cause: error });
}
