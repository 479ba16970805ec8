import type { Kysely } from 'kysely';
import { BIGINT } from '../dialect.ts';

/**
 * MLflow 3 evaluation datasets (`mlflow.genai.datasets`): named collections of records (inputs,
 * expectations, outputs, tags, source) that GenAI evaluation runs against. The name `datasets`
 * already belongs to run input datasets (0001), hence the `evaluation_` prefix, as upstream.
 *
 * - `evaluation_datasets` carries `project_id`; tags, records and experiment links reach their
 *   project through the dataset. Deleting a project deletes its datasets (cascade), deleting a
 *   dataset deletes its tags, records and links.
 * - Record fields are JSON text, written by the domain exactly as they go out on the wire.
 *   `input_hash` (SHA-256 of the inputs with sorted keys) is unique per dataset: upserting a
 *   record with the same inputs merges into the existing one.
 * - `evaluation_dataset_experiments` links datasets to experiments (MLflow's entity
 *   associations). Soft-deleting an experiment keeps its links, as upstream; removing the
 *   experiment row (project deletion, garbage collection) removes them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('evaluation_datasets')
    .addColumn('dataset_id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', BIGINT, (c) => c.notNull().defaultTo(1).references('projects.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('schema_json', 'text')
    .addColumn('profile_json', 'text')
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('created_time', BIGINT, (c) => c.notNull())
    .addColumn('last_update_time', BIGINT, (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('last_updated_by', 'text')
    .execute();
  await db.schema.createIndex('evaluation_datasets_project_created_idx').on('evaluation_datasets').columns(['project_id', 'created_time']).execute();
  await db.schema.createIndex('evaluation_datasets_project_name_idx').on('evaluation_datasets').columns(['project_id', 'name']).execute();

  await db.schema
    .createTable('evaluation_dataset_tags')
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('evaluation_datasets.dataset_id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('evaluation_dataset_tags_pk', ['dataset_id', 'key'])
    .execute();

  await db.schema
    .createTable('evaluation_dataset_records')
    .addColumn('dataset_record_id', 'text', (c) => c.primaryKey())
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('evaluation_datasets.dataset_id').onDelete('cascade'))
    .addColumn('input_hash', 'text', (c) => c.notNull())
    .addColumn('inputs', 'text', (c) => c.notNull())
    .addColumn('outputs', 'text')
    .addColumn('expectations', 'text')
    .addColumn('tags', 'text')
    .addColumn('source', 'text')
    .addColumn('source_id', 'text')
    .addColumn('source_type', 'text')
    .addColumn('created_time', BIGINT, (c) => c.notNull())
    .addColumn('last_update_time', BIGINT, (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('last_updated_by', 'text')
    .addUniqueConstraint('evaluation_dataset_records_input_uq', ['dataset_id', 'input_hash'])
    .execute();
  // Record pages are read in (created_time, dataset_record_id) order from a cursor.
  await db.schema
    .createIndex('evaluation_dataset_records_page_idx')
    .on('evaluation_dataset_records')
    .columns(['dataset_id', 'created_time', 'dataset_record_id'])
    .execute();

  await db.schema
    .createTable('evaluation_dataset_experiments')
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('evaluation_datasets.dataset_id').onDelete('cascade'))
    .addColumn('experiment_id', BIGINT, (c) => c.notNull().references('experiments.experiment_id').onDelete('cascade'))
    .addColumn('created_time', BIGINT, (c) => c.notNull())
    .addPrimaryKeyConstraint('evaluation_dataset_experiments_pk', ['dataset_id', 'experiment_id'])
    .execute();
  await db.schema
    .createIndex('evaluation_dataset_experiments_experiment_idx')
    .on('evaluation_dataset_experiments')
    .columns(['experiment_id', 'dataset_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('evaluation_dataset_experiments').execute();
  await db.schema.dropTable('evaluation_dataset_records').execute();
  await db.schema.dropTable('evaluation_dataset_tags').execute();
  await db.schema.dropTable('evaluation_datasets').execute();
}
