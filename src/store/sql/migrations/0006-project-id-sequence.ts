import { sql, type Kysely } from 'kysely';
import { dialectOf } from '../dialect.ts';

/**
 * 0001 inserts the default project with an explicit id 1. PostgreSQL's bigserial sequence does
 * not see explicit ids, so the first project created later would draw id 1 again and collide.
 * Move the sequence past the highest id. (SQLite's AUTOINCREMENT already takes the max id.)
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (dialectOf(db) !== 'postgres') return;
  await sql`select setval(pg_get_serial_sequence('projects', 'id'), (select coalesce(max(id), 1) from projects))`.execute(db);
}

export async function down(): Promise<void> {
  // Nothing to undo: the sequence position is not part of the schema.
}
