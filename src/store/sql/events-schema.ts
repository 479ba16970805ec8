import type { Generated, Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Table types of the registry event outbox and the webhooks (migration 0003), shared by SQLite
 * and PostgreSQL. The events store works on `Database & EventsTables` through `withTables`.
 */
export type EventsTables = {
  outbox_sequences: OutboxSequenceTable;
  registry_events: RegistryEventTable;
  webhooks: WebhookTable;
  webhook_subscriptions: WebhookSubscriptionTable;
  webhook_deliveries: WebhookDeliveryTable;
};

export type EventsDatabase = Database & EventsTables;
export type EventsDb = Kysely<EventsDatabase> | Transaction<EventsDatabase>;

export type OutboxSequenceTable = {
  name: string;
  project_id: Generated<number>;
  last_value: number;
};

export type RegistryEventTable = {
  id: number;
  project_id: Generated<number>;
  entity: string;
  action: string;
  model_name: string;
  /** JSON text of the event's `data`. */
  payload: string;
  event_timestamp: number;
  fanned_out: Generated<number>;
};

export type WebhookTable = {
  id: Generated<number>;
  project_id: Generated<number>;
  webhook_id: string;
  name: string;
  description: string | null;
  url: string;
  secret: string | null;
  status: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  deleted_timestamp: number | null;
};

export type WebhookSubscriptionTable = {
  webhook_pk: number;
  project_id: Generated<number>;
  entity: string;
  action: string;
};

export type WebhookDeliveryTable = {
  id: Generated<number>;
  project_id: Generated<number>;
  delivery_id: string;
  webhook_pk: number;
  event_id: number;
  status: string;
  attempts: Generated<number>;
  next_attempt_at: number;
  lease_token: string | null;
  lease_expires_at: number | null;
  last_attempt_at: number | null;
  last_response_status: number | null;
  last_response_body: string | null;
  last_error: string | null;
  created_at: number;
  completed_at: number | null;
};
