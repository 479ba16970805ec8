import type { Kysely } from 'kysely';
import { BIGINT } from '../dialect.ts';

/**
 * MLflow 3 tracing: trace infos, their tags and request metadata, spans, assessments and the
 * runs a trace is linked to.
 *
 * - `traces.trace_id` is MLflow's id (`tr-<32 hex>`); each trace belongs to an experiment and,
 *   like experiments, carries its project so searches and lookups never leave the project.
 * - `spans.content` is the span as MLflow keeps it (its span dict: attribute values JSON-encoded),
 *   so spans round-trip unchanged; `start_time_ns` is text because nanoseconds exceed 2^53.
 * - `assessments.content` is the assessment's wire body (feedback/expectation values are JSON
 *   values of any shape); the columns beside it are what lookups and ordering need.
 * - The indexes serve the search filters: (experiment, request_time) for the default order and
 *   time ranges, (key, value) on tags and metadata for `tags.x = 'y'` / `metadata.x = 'y'`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('traces')
    .addColumn('trace_id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', BIGINT, (c) => c.notNull())
    .addColumn('experiment_id', BIGINT, (c) => c.notNull())
    .addColumn('request_time', BIGINT, (c) => c.notNull())
    .addColumn('execution_duration', BIGINT)
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('client_request_id', 'text')
    .addColumn('request_preview', 'text')
    .addColumn('response_preview', 'text')
    .execute();
  await db.schema.createIndex('traces_experiment_time_idx').on('traces').columns(['experiment_id', 'request_time', 'trace_id']).execute();
  await db.schema.createIndex('traces_project_idx').on('traces').columns(['project_id', 'experiment_id']).execute();

  for (const table of ['trace_tags', 'trace_metadata'] as const) {
    await db.schema
      .createTable(table)
      .addColumn('trace_id', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${table}_pk`, ['trace_id', 'key'])
      .execute();
    await db.schema.createIndex(`${table}_key_value_idx`).on(table).columns(['key', 'value', 'trace_id']).execute();
  }

  await db.schema
    .createTable('spans')
    .addColumn('trace_id', 'text', (c) => c.notNull())
    .addColumn('span_id', 'text', (c) => c.notNull())
    .addColumn('parent_span_id', 'text')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('start_time_ns', 'text', (c) => c.notNull())
    .addColumn('content', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('spans_pk', ['trace_id', 'span_id'])
    .execute();

  await db.schema
    .createTable('assessments')
    .addColumn('assessment_id', 'text', (c) => c.primaryKey())
    .addColumn('trace_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('create_time', BIGINT, (c) => c.notNull())
    .addColumn('last_update_time', BIGINT, (c) => c.notNull())
    .addColumn('content', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('assessments_trace_idx').on('assessments').columns(['trace_id', 'create_time']).execute();

  await db.schema
    .createTable('trace_run_links')
    .addColumn('trace_id', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('trace_run_links_pk', ['trace_id', 'run_id'])
    .execute();
  await db.schema.createIndex('trace_run_links_run_idx').on('trace_run_links').columns(['run_id', 'trace_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['trace_run_links', 'assessments', 'spans', 'trace_metadata', 'trace_tags', 'traces']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
