import { sql, type Kysely } from 'kysely';
import { dialectOf } from '../dialect.ts';

/**
 * SQLite drops latest_metrics' (key, value) index. Since 0011 every SQLite search reads latest
 * values through (experiment, key, is_nan, value, run) or by run (the primary key): a metric filter
 * is an EXISTS by run, a metric order walks the experiment's index, and SQLite's planner uses
 * neither (key, value) plan for them (test/store/query-plans.test.ts). The index still cost every
 * logged metric one more insert at a random place of a B-tree (values are random): about 8 of the
 * ~50 pages a group commit wrote while runs were seeded (docs/benchmarks.md). PostgreSQL keeps it:
 * its planner may turn a selective metric filter into a semi-join that starts from it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (dialectOf(db) !== 'sqlite') return;
  await sql`drop index if exists latest_metrics_key_value_idx`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (dialectOf(db) !== 'sqlite') return;
  await sql`create index if not exists latest_metrics_key_value_idx on latest_metrics (key_id, value)`.execute(db);
}
