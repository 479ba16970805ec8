import type { Kysely } from 'kysely';
import { addIdColumn, BIGINT, dialectOf } from '../dialect.ts';

/**
 * The model registry: registered models (unique name per project) with tags and aliases, and
 * their versions with tags.
 *
 * Version numbers are never reused: `registered_models.next_version` is the number the next
 * version gets, and a deleted version stays behind as a tombstone row (stage `Deleted_Internal`,
 * `deleted_time` set, its fields redacted) that every read skips, as in MLflow's SQL store.
 * `storage_location` is where a version's files are served from: a registry-owned frozen copy
 * when the source lives in the artifact proxy, the source itself otherwise.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const dialect = dialectOf(db);

  await addIdColumn(dialect, db.schema.createTable('registered_models'), 'id')
    .addColumn('project_id', BIGINT, (c) => c.notNull().defaultTo(1).references('projects.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('creation_timestamp', BIGINT, (c) => c.notNull())
    .addColumn('last_updated_timestamp', BIGINT, (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('next_version', BIGINT, (c) => c.notNull().defaultTo(1))
    .addUniqueConstraint('registered_models_project_name_unique', ['project_id', 'name'])
    .execute();
  // Searches order by either timestamp within a project; the name order is the unique constraint.
  await db.schema
    .createIndex('registered_models_updated_idx')
    .on('registered_models')
    .columns(['project_id', 'last_updated_timestamp'])
    .execute();
  await db.schema
    .createIndex('registered_models_created_idx')
    .on('registered_models')
    .columns(['project_id', 'creation_timestamp'])
    .execute();

  await db.schema
    .createTable('registered_model_tags')
    .addColumn('registered_model_id', BIGINT, (c) => c.notNull().references('registered_models.id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('registered_model_tags_pk', ['registered_model_id', 'key'])
    .execute();
  await db.schema.createIndex('registered_model_tags_key_value_idx').on('registered_model_tags').columns(['key', 'value']).execute();

  await db.schema
    .createTable('registered_model_aliases')
    .addColumn('registered_model_id', BIGINT, (c) => c.notNull().references('registered_models.id').onDelete('cascade'))
    .addColumn('alias', 'text', (c) => c.notNull())
    .addColumn('version', BIGINT, (c) => c.notNull())
    .addPrimaryKeyConstraint('registered_model_aliases_pk', ['registered_model_id', 'alias'])
    .execute();
  // Deleting a version drops the aliases that point at it.
  await db.schema
    .createIndex('registered_model_aliases_version_idx')
    .on('registered_model_aliases')
    .columns(['registered_model_id', 'version'])
    .execute();

  await addIdColumn(dialect, db.schema.createTable('model_versions'), 'id')
    .addColumn('registered_model_id', BIGINT, (c) => c.notNull().references('registered_models.id').onDelete('cascade'))
    .addColumn('version', BIGINT, (c) => c.notNull())
    .addColumn('creation_timestamp', BIGINT, (c) => c.notNull())
    .addColumn('last_updated_timestamp', BIGINT, (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('current_stage', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('storage_location', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text')
    .addColumn('run_link', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_message', 'text')
    .addColumn('model_id', 'text')
    // JSON snapshots of the logged model's params and metrics at registration time.
    .addColumn('model_params', 'text')
    .addColumn('model_metrics', 'text')
    .addColumn('deleted_time', BIGINT)
    .addUniqueConstraint('model_versions_model_version_unique', ['registered_model_id', 'version'])
    .execute();
  // Latest version per stage (registered models' latest_versions, get-latest-versions).
  await db.schema
    .createIndex('model_versions_stage_idx')
    .on('model_versions')
    .columns(['registered_model_id', 'current_stage', 'version'])
    .execute();
  await db.schema.createIndex('model_versions_run_idx').on('model_versions').column('run_id').execute();
  await db.schema.createIndex('model_versions_logged_model_idx').on('model_versions').column('model_id').execute();
  // The default version search order.
  await db.schema.createIndex('model_versions_updated_idx').on('model_versions').column('last_updated_timestamp').execute();

  await db.schema
    .createTable('model_version_tags')
    .addColumn('model_version_id', BIGINT, (c) => c.notNull().references('model_versions.id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('model_version_tags_pk', ['model_version_id', 'key'])
    .execute();
  await db.schema.createIndex('model_version_tags_key_value_idx').on('model_version_tags').columns(['key', 'value']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['model_version_tags', 'model_versions', 'registered_model_aliases', 'registered_model_tags', 'registered_models']) {
    await db.schema.dropTable(table).execute();
  }
}
