import { sql, type Kysely } from 'kysely';
import { dialectOf } from '../dialect.ts';

/**
 * PostgreSQL only: statistics on the (key, value) pairs of params and run tags taken together.
 * A search filter `params.model = 'a'` is `key = 'model' and value = 'a'`; without them the planner
 * multiplies the two columns' frequencies as if independent (a third of the rows have key 'model',
 * 'a' is a rarer value overall) and expects a third of the real matches. A search ordered by a
 * metric then looks too sparse to stop early, and the planner reads and sorts every remaining row
 * instead of walking the metric index to the end of the page (the deep page of the benchmark:
 * 17 ms against 8.7 ms for page one, docs/query-plans.md). The most-common-values lists of the
 * pairs give the right counts; ANALYZE (autovacuum) fills them. SQLite has no such statistics and
 * already walks the index (its join order is fixed by the query, sql-search.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (dialectOf(db) !== 'postgres') return;
  await sql`create statistics if not exists params_key_value_stats (mcv) on key, value from params`.execute(db);
  await sql`create statistics if not exists run_tags_key_value_stats (mcv) on key, value from run_tags`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (dialectOf(db) !== 'postgres') return;
  await sql`drop statistics if exists params_key_value_stats`.execute(db);
  await sql`drop statistics if exists run_tags_key_value_stats`.execute(db);
}
