import { sql, type Kysely } from 'kysely';
import { BIGINT, dialectOf, DOUBLE } from '../dialect.ts';
import { ROLLUP_LEVELS } from '../metric-rollups.ts';

/**
 * Metric rollups: for every run and metric key, the min/max value and step range of each block of
 * 8^level consecutive steps, kept up to date on write. Drawing a 1,000,000-point history then
 * reads a few thousand rollup rows instead of scanning a million points, and the min/max per
 * block keeps every spike visible.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const dialect = dialectOf(db);
  let table = db.schema
    .createTable('metric_rollups')
    .addColumn('run_id', BIGINT, (c) => c.notNull())
    .addColumn('key_id', BIGINT, (c) => c.notNull())
    .addColumn('level', 'integer', (c) => c.notNull())
    .addColumn('block', BIGINT, (c) => c.notNull())
    .addColumn('step_min', BIGINT, (c) => c.notNull())
    .addColumn('step_max', BIGINT, (c) => c.notNull())
    .addColumn('vmin', DOUBLE, (c) => c.notNull())
    .addColumn('vmax', DOUBLE, (c) => c.notNull())
    .addColumn('n', BIGINT, (c) => c.notNull())
    .addPrimaryKeyConstraint('metric_rollups_pk', ['run_id', 'key_id', 'level', 'block']);
  if (dialect === 'sqlite') table = table.modifyEnd(sql`without rowid`);
  await table.execute();

  // Histories logged before this migration get their rollups now. Block numbers use floor
  // division, written out because SQL integer division truncates negative steps towards zero.
  for (const level of ROLLUP_LEVELS) {
    const size = 8 ** level;
    const block = sql`case when step >= 0 then step / ${sql.lit(size)} else -((${sql.lit(size - 1)} - step) / ${sql.lit(size)}) end`;
    await sql`
      insert into metric_rollups (run_id, key_id, level, block, step_min, step_max, vmin, vmax, n)
      select run_id, key_id, ${sql.lit(level)}, ${block}, min(step), max(step), min(value), max(value), count(*)
      from metrics where is_nan = 0
      group by run_id, key_id, ${block}`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('metric_rollups').execute();
}
