import { sql, type Kysely } from 'kysely';
import { addIdColumn, BIGINT, dialectOf, DOUBLE } from '../dialect.ts';

/**
 * The initial schema: projects, experiments, runs with params, tags, metric history and latest
 * metrics, dataset inputs, model inputs/outputs, and MLflow 3 logged models.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const dialect = dialectOf(db);

  await addIdColumn(dialect, db.schema.createTable('projects'), 'id')
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text')
    .addColumn('created_at', BIGINT, (c) => c.notNull())
    .execute();
  // Every experiment belongs to a project; the single default project makes multi-project support
  // later a matter of adding rows, not migrating data.
  await db
    .insertInto('projects' as never)
    .values({ id: 1, name: 'default', description: 'The default project', created_at: Date.now() } as never)
    .execute();

  await addIdColumn(dialect, db.schema.createTable('experiments'), 'experiment_id')
    .addColumn('project_id', BIGINT, (c) => c.notNull().defaultTo(1).references('projects.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('artifact_location', 'text', (c) => c.notNull())
    .addColumn('lifecycle_stage', 'text', (c) => c.notNull())
    .addColumn('creation_time', BIGINT, (c) => c.notNull())
    .addColumn('last_update_time', BIGINT, (c) => c.notNull())
    .addColumn('deleted_time', BIGINT)
    .addUniqueConstraint('experiments_project_name_unique', ['project_id', 'name'])
    .execute();
  await db.schema.createIndex('experiments_creation_idx').on('experiments').columns(['creation_time', 'experiment_id']).execute();

  await db.schema
    .createTable('experiment_tags')
    .addColumn('experiment_id', BIGINT, (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('experiment_tags_pk', ['experiment_id', 'key'])
    .execute();

  await addIdColumn(dialect, db.schema.createTable('runs'), 'id')
    .addColumn('run_uuid', 'text', (c) => c.notNull().unique())
    .addColumn('experiment_id', BIGINT, (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('start_time', BIGINT, (c) => c.notNull())
    .addColumn('end_time', BIGINT)
    .addColumn('lifecycle_stage', 'text', (c) => c.notNull())
    .addColumn('artifact_uri', 'text', (c) => c.notNull())
    .addColumn('deleted_time', BIGINT)
    .execute();
  await db.schema
    .createIndex('runs_experiment_start_idx')
    .on('runs')
    .columns(['experiment_id', 'lifecycle_stage', 'start_time', 'run_uuid'])
    .execute();

  for (const table of ['params', 'run_tags'] as const) {
    await db.schema
      .createTable(table)
      .addColumn('run_id', BIGINT, (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${table}_pk`, ['run_id', 'key'])
      .execute();
    await db.schema.createIndex(`${table}_key_value_idx`).on(table).columns(['key', 'value']).execute();
  }

  await addIdColumn(dialect, db.schema.createTable('metric_keys'), 'id')
    .addColumn('key', 'text', (c) => c.notNull().unique())
    .execute();

  // The history is clustered by (run, key, step, timestamp) so reading one series is a range scan.
  // The whole point is the key: logging the same point twice is ignored, as MLflow's SQL store does.
  let metrics = db.schema
    .createTable('metrics')
    .addColumn('run_id', BIGINT, (c) => c.notNull())
    .addColumn('key_id', BIGINT, (c) => c.notNull())
    .addColumn('step', BIGINT, (c) => c.notNull())
    .addColumn('timestamp', BIGINT, (c) => c.notNull())
    .addColumn('value', DOUBLE, (c) => c.notNull())
    .addColumn('is_nan', 'integer', (c) => c.notNull())
    .addColumn('model_id', 'text')
    .addColumn('dataset_name', 'text')
    .addColumn('dataset_digest', 'text')
    .addPrimaryKeyConstraint('metrics_pk', ['run_id', 'key_id', 'step', 'timestamp', 'value', 'is_nan']);
  if (dialect === 'sqlite') metrics = metrics.modifyEnd(sql`without rowid`);
  await metrics.execute();

  await db.schema
    .createTable('latest_metrics')
    .addColumn('run_id', BIGINT, (c) => c.notNull())
    .addColumn('key_id', BIGINT, (c) => c.notNull())
    .addColumn('step', BIGINT, (c) => c.notNull())
    .addColumn('timestamp', BIGINT, (c) => c.notNull())
    .addColumn('value', DOUBLE, (c) => c.notNull())
    .addColumn('is_nan', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('latest_metrics_pk', ['run_id', 'key_id'])
    .execute();
  // Filtering and ordering runs by a metric walks this index.
  await db.schema.createIndex('latest_metrics_key_value_idx').on('latest_metrics').columns(['key_id', 'value']).execute();

  await addIdColumn(dialect, db.schema.createTable('datasets'), 'id')
    .addColumn('dataset_uuid', 'text', (c) => c.notNull())
    .addColumn('experiment_id', BIGINT, (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('source_type', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('schema', 'text')
    .addColumn('profile', 'text')
    .addUniqueConstraint('datasets_experiment_name_digest_unique', ['experiment_id', 'name', 'digest'])
    .execute();

  await db.schema
    .createTable('run_inputs')
    .addColumn('run_id', BIGINT, (c) => c.notNull())
    .addColumn('dataset_id', BIGINT, (c) => c.notNull())
    .addPrimaryKeyConstraint('run_inputs_pk', ['run_id', 'dataset_id'])
    .execute();
  await db.schema
    .createTable('run_input_tags')
    .addColumn('run_id', BIGINT, (c) => c.notNull())
    .addColumn('dataset_id', BIGINT, (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('run_input_tags_pk', ['run_id', 'dataset_id', 'key'])
    .execute();
  await db.schema
    .createTable('run_model_inputs')
    .addColumn('run_id', BIGINT, (c) => c.notNull())
    .addColumn('model_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('run_model_inputs_pk', ['run_id', 'model_id'])
    .execute();
  await db.schema
    .createTable('run_model_outputs')
    .addColumn('run_id', BIGINT, (c) => c.notNull())
    .addColumn('model_id', 'text', (c) => c.notNull())
    .addColumn('step', BIGINT, (c) => c.notNull())
    .addPrimaryKeyConstraint('run_model_outputs_pk', ['run_id', 'model_id', 'step'])
    .execute();

  await addIdColumn(dialect, db.schema.createTable('logged_models'), 'id')
    .addColumn('model_id', 'text', (c) => c.notNull().unique())
    .addColumn('experiment_id', BIGINT, (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('artifact_uri', 'text', (c) => c.notNull())
    .addColumn('creation_timestamp', BIGINT, (c) => c.notNull())
    .addColumn('last_updated_timestamp', BIGINT, (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_message', 'text')
    .addColumn('creator_id', 'text')
    .addColumn('model_type', 'text')
    .addColumn('source_run_id', 'text')
    .addColumn('lifecycle_stage', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('logged_models_experiment_idx')
    .on('logged_models')
    .columns(['experiment_id', 'creation_timestamp'])
    .execute();

  for (const table of ['logged_model_params', 'logged_model_tags'] as const) {
    await db.schema
      .createTable(table)
      .addColumn('model_pk', BIGINT, (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${table}_pk`, ['model_pk', 'key'])
      .execute();
  }
  await db.schema
    .createTable('logged_model_metrics')
    .addColumn('model_pk', BIGINT, (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('step', BIGINT, (c) => c.notNull())
    .addColumn('timestamp', BIGINT, (c) => c.notNull())
    .addColumn('value', DOUBLE, (c) => c.notNull())
    .addColumn('is_nan', 'integer', (c) => c.notNull())
    .addColumn('run_uuid', 'text')
    .addColumn('dataset_name', 'text')
    .addColumn('dataset_digest', 'text')
    .addPrimaryKeyConstraint('logged_model_metrics_pk', ['model_pk', 'key', 'step', 'timestamp', 'value', 'is_nan'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const tables = [
    'logged_model_metrics', 'logged_model_tags', 'logged_model_params', 'logged_models',
    'run_model_outputs', 'run_model_inputs', 'run_input_tags', 'run_inputs', 'datasets',
    'latest_metrics', 'metrics', 'metric_keys', 'run_tags', 'params', 'runs',
    'experiment_tags', 'experiments', 'projects',
  ];
  for (const table of tables) await db.schema.dropTable(table).execute();
}
