import { sql, type Kysely } from 'kysely';
import { BIGINT } from '../dialect.ts';

/**
 * Searches ordered by a metric walk latest values in order and stop after the page. For that the
 * latest_metrics rows carry their run's experiment (a run never changes experiment), and an index
 * on (experiment, key, is_nan, value, run) gives one experiment's values of one key in value order,
 * covering the walk: `ORDER BY metrics.x DESC LIMIT n` reads n index entries plus the runs they
 * join to, whatever the experiment's size. The older (key, value) index stays for metric filters
 * across experiments.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('latest_metrics').addColumn('experiment_id', BIGINT).execute();
  await sql`update latest_metrics set experiment_id = (select runs.experiment_id from runs where runs.id = latest_metrics.run_id)`.execute(db);
  await db.schema
    .createIndex('latest_metrics_experiment_key_value_idx')
    .on('latest_metrics')
    .columns(['experiment_id', 'key_id', 'is_nan', 'value', 'run_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('latest_metrics_experiment_key_value_idx').execute();
  await db.schema.alterTable('latest_metrics').dropColumn('experiment_id').execute();
}
