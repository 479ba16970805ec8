import type { Kysely } from 'kysely';
import { addIdColumn, BIGINT, dialectOf } from '../dialect.ts';

/**
 * Webhooks (MLflow 3's webhook API) and the registry event outbox behind them and behind the
 * server-sent-events stream.
 *
 * - `registry_events` is the outbox: one row per registry change, written in the transaction of
 *   the change. Its ids come from `outbox_sequences` (a counter row updated in that same
 *   transaction), not from an auto-increment: the row lock on the counter makes ids follow commit
 *   order on PostgreSQL too, so a reader that remembers "the last id I saw" (an SSE client's
 *   Last-Event-ID, a cursor) never skips an event that committed late with a lower id.
 * - `webhooks` and `webhook_subscriptions` hold the webhooks and the entity/action pairs they
 *   listen to. Webhooks are soft-deleted (`deleted_timestamp`), like upstream, so their delivery
 *   log stays readable.
 * - `webhook_deliveries` is one row per (webhook, event): its status, attempt count, next attempt
 *   time and the lease a dispatcher holds while sending it. The unique (webhook, event) pair makes
 *   the fan-out idempotent when several server processes run it at once.
 *
 * Every table carries `project_id` (default 1) so multi-project support needs no migration.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const dialect = dialectOf(db);

  await db.schema
    .createTable('outbox_sequences')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('project_id', BIGINT, (c) => c.notNull().defaultTo(1).references('projects.id'))
    .addColumn('last_value', BIGINT, (c) => c.notNull())
    .execute();
  await db
    .insertInto('outbox_sequences' as never)
    .values({ name: 'registry_events', project_id: 1, last_value: 0 } as never)
    .execute();

  await db.schema
    .createTable('registry_events')
    .addColumn('id', BIGINT, (c) => c.primaryKey())
    .addColumn('project_id', BIGINT, (c) => c.notNull().defaultTo(1).references('projects.id'))
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('model_name', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('event_timestamp', BIGINT, (c) => c.notNull())
    // 0 until a dispatcher has created this event's webhook deliveries.
    .addColumn('fanned_out', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('registry_events_fan_out_idx').on('registry_events').columns(['fanned_out', 'id']).execute();
  // The SSE stream filtered by model: `model_name = ? and id > ? order by id`.
  await db.schema
    .createIndex('registry_events_model_idx')
    .on('registry_events')
    .columns(['project_id', 'model_name', 'id'])
    .execute();

  await addIdColumn(dialect, db.schema.createTable('webhooks'), 'id')
    .addColumn('project_id', BIGINT, (c) => c.notNull().defaultTo(1).references('projects.id'))
    .addColumn('webhook_id', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('url', 'text', (c) => c.notNull())
    // The HMAC key, stored as given: signing needs the key itself, so it cannot be hashed.
    .addColumn('secret', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('creation_timestamp', BIGINT, (c) => c.notNull())
    .addColumn('last_updated_timestamp', BIGINT, (c) => c.notNull())
    .addColumn('deleted_timestamp', BIGINT)
    .execute();
  await db.schema
    .createIndex('webhooks_project_created_idx')
    .on('webhooks')
    .columns(['project_id', 'deleted_timestamp', 'creation_timestamp'])
    .execute();

  await db.schema
    .createTable('webhook_subscriptions')
    .addColumn('webhook_pk', BIGINT, (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
    .addColumn('project_id', BIGINT, (c) => c.notNull().defaultTo(1).references('projects.id'))
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('webhook_subscriptions_pk', ['webhook_pk', 'entity', 'action'])
    .execute();
  await db.schema
    .createIndex('webhook_subscriptions_event_idx')
    .on('webhook_subscriptions')
    .columns(['entity', 'action'])
    .execute();

  await addIdColumn(dialect, db.schema.createTable('webhook_deliveries'), 'id')
    .addColumn('project_id', BIGINT, (c) => c.notNull().defaultTo(1).references('projects.id'))
    .addColumn('delivery_id', 'text', (c) => c.notNull().unique())
    .addColumn('webhook_pk', BIGINT, (c) => c.notNull().references('webhooks.id'))
    .addColumn('event_id', BIGINT, (c) => c.notNull().references('registry_events.id'))
    // pending | delivered | failed | cancelled
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', BIGINT, (c) => c.notNull())
    .addColumn('lease_token', 'text')
    .addColumn('lease_expires_at', BIGINT)
    .addColumn('last_attempt_at', BIGINT)
    .addColumn('last_response_status', 'integer')
    .addColumn('last_response_body', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', BIGINT, (c) => c.notNull())
    .addColumn('completed_at', BIGINT)
    .addUniqueConstraint('webhook_deliveries_webhook_event_unique', ['webhook_pk', 'event_id'])
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_due_idx')
    .on('webhook_deliveries')
    .columns(['status', 'next_attempt_at'])
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_event_idx')
    .on('webhook_deliveries')
    .column('event_id')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['webhook_deliveries', 'webhook_subscriptions', 'webhooks', 'registry_events', 'outbox_sequences']) {
    await db.schema.dropTable(table).execute();
  }
}
