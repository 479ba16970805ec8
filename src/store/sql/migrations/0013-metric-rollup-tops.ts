import { sql, type Kysely } from 'kysely';
import { dialectOf } from '../dialect.ts';

/**
 * SQLite keeps each series' rollups only up to its top level, the finest level at which its whole
 * history is one block (metric-rollups.ts). Rollups written before that hold every level 2 … 14:
 * still correct (top 14), but every later batch of such a series keeps writing all 13 levels. This
 * drops, per (run, key), the levels above the finest one that has a single block; they repeat that
 * block. PostgreSQL writes every level and keeps them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (dialectOf(db) !== 'sqlite') return;
  await sql`create temp table trove_rollup_tops (run_id integer not null, key_id integer not null, top integer not null, primary key (run_id, key_id))`.execute(db);
  await sql`
    insert into trove_rollup_tops (run_id, key_id, top)
    select run_id, key_id, min(level) from (
      select run_id, key_id, level from metric_rollups group by run_id, key_id, level having count(*) = 1
    ) as single group by run_id, key_id`.execute(db);
  await sql`
    delete from metric_rollups
    where level > (select t.top from trove_rollup_tops t where t.run_id = metric_rollups.run_id and t.key_id = metric_rollups.key_id)`.execute(db);
  await sql`drop table trove_rollup_tops`.execute(db);
}

/** Writes the dropped levels back: above the top, each level holds the top's single block. */
export async function down(db: Kysely<unknown>): Promise<void> {
  if (dialectOf(db) !== 'sqlite') return;
  for (let level = 3; level <= 14; level++) {
    const size = 8 ** level;
    const block = sql`case when step_min >= 0 then step_min / ${sql.lit(size)} else -((${sql.lit(size - 1)} - step_min) / ${sql.lit(size)}) end`;
    await sql`
      insert into metric_rollups (run_id, key_id, level, block, step_min, step_max, vmin, vmax, n)
      select run_id, key_id, ${sql.lit(level)}, ${block}, step_min, step_max, vmin, vmax, n from metric_rollups r
      where r.level = ${sql.lit(level - 1)}
        and not exists (select 1 from metric_rollups o where o.run_id = r.run_id and o.key_id = r.key_id and o.level = ${sql.lit(level)})`.execute(db);
  }
}
