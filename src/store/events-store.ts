/**
 * The persistence contract of the registry event outbox, the webhooks and their deliveries.
 *
 * - Events are appended (in the transaction of the registry change when the caller has one) and
 *   read back in id order by the server-sent-events stream; ids follow commit order.
 * - A dispatcher fans each event out into one delivery per matching webhook (idempotent: a
 *   (webhook, event) pair is unique), then claims due deliveries under a lease with a conditional
 *   UPDATE, so several server processes over one database never send the same delivery at once.
 *
 * Record types are camelCase; query methods return `undefined` for missing rows. Webhooks are
 * soft-deleted: no method returns a deleted webhook except where it says so.
 */

export type WebhookStatusName = 'ACTIVE' | 'DISABLED';
export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled';

export interface EventSubscription {
  /** Lower-case entity, e.g. `model_version`. */
  entity: string;
  /** Lower-case action, e.g. `created`. */
  action: string;
}

export interface NewRegistryEventRow {
  projectId: number;
  entity: string;
  action: string;
  /** The registered model the event is about (filter key of the SSE stream). */
  modelName: string;
  data: Record<string, unknown>;
  /** ms since the epoch. */
  timestamp: number;
}

export interface RegistryEventRecord extends NewRegistryEventRow {
  id: number;
}

export interface WebhookRecord {
  /** Internal id; never leaves the server. */
  pk: number;
  projectId: number;
  webhookId: string;
  name: string;
  description: string | null;
  url: string;
  /** The HMAC key. Never presented, never logged. */
  secret: string | null;
  status: WebhookStatusName;
  events: EventSubscription[];
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  deletedTimestamp: number | null;
}

export interface NewWebhook {
  projectId: number;
  webhookId: string;
  name: string;
  description: string | null;
  url: string;
  secret: string | null;
  status: WebhookStatusName;
  events: EventSubscription[];
  now: number;
}

/** Fields to change; `undefined` leaves a field as it is, `null` clears a nullable one. */
export interface WebhookUpdate {
  name?: string;
  description?: string | null;
  url?: string;
  secret?: string | null;
  status?: WebhookStatusName;
  events?: EventSubscription[];
  now: number;
}

export interface DeliveryRecord {
  deliveryId: string;
  webhookId: string;
  eventId: number;
  entity: string;
  action: string;
  status: DeliveryStatus;
  attempts: number;
  createdAt: number;
  lastAttemptAt: number | null;
  nextAttemptAt: number | null;
  completedAt: number | null;
  lastResponseStatus: number | null;
  lastResponseBody: string | null;
  lastError: string | null;
}

/** A delivery a dispatcher holds the lease on, with what it needs to send it. */
export interface ClaimedDelivery {
  id: number;
  deliveryId: string;
  leaseToken: string;
  attempts: number;
  createdAt: number;
  event: RegistryEventRecord;
  webhook: {
    pk: number;
    webhookId: string;
    url: string;
    secret: string | null;
    status: WebhookStatusName;
    deleted: boolean;
  };
}

/** What became of one attempt. */
export type AttemptOutcome =
  | { kind: 'delivered'; responseStatus: number; responseBody: string | null; now: number }
  | { kind: 'retry'; responseStatus: number | null; responseBody: string | null; error: string | null; nextAttemptAt: number; now: number }
  | { kind: 'failed'; responseStatus: number | null; responseBody: string | null; error: string | null; now: number }
  | { kind: 'cancelled'; error: string; now: number };

export interface EventsStore {
  /** Runs `work` in one transaction. */
  transaction<T>(work: (store: EventsStore) => Promise<T>): Promise<T>;

  /**
   * A store whose calls run inside the transaction `handle` stands for (a Kysely transaction, or
   * the transaction-bound store of another SQL store such as the registry's), so rows written
   * through it commit or roll back with that transaction. Undefined when `handle` is not a
   * transaction this store can join.
   */
  joinTransaction(handle: unknown): EventsStore | undefined;

  // ------------------------------------------------------------------ outbox

  /** Appends events in order; returns their ids (ascending, in commit order). */
  appendEvents(events: NewRegistryEventRow[]): Promise<number[]>;

  /** Events with id > `afterId`, oldest first, optionally only those of one model. */
  readEvents(query: { projectId: number; afterId: number; modelName?: string; limit: number }): Promise<RegistryEventRecord[]>;

  /** The highest event id handed out so far (0 when none). */
  lastEventId(): Promise<number>;

  // ------------------------------------------------------------------ webhooks

  createWebhook(webhook: NewWebhook): Promise<void>;
  /** A live (not deleted) webhook. */
  getWebhook(projectId: number, webhookId: string): Promise<WebhookRecord | undefined>;
  /** A webhook even when deleted (the delivery log of a deleted webhook stays readable). */
  getWebhookIncludingDeleted(projectId: number, webhookId: string): Promise<WebhookRecord | undefined>;
  /** Live webhooks, newest first. */
  listWebhooks(projectId: number, offset: number, limit: number): Promise<WebhookRecord[]>;
  /** @returns false when there is no live webhook with that id */
  updateWebhook(projectId: number, webhookId: string, update: WebhookUpdate): Promise<boolean>;
  /** Soft-deletes a webhook and cancels its pending deliveries. @returns false when not found */
  deleteWebhook(projectId: number, webhookId: string, now: number): Promise<boolean>;
  /** How many deliveries wait to be sent, and how many failed for good (for /metrics). */
  countDeliveries(): Promise<{ pending: number; failed: number }>;
  /** Every stored webhook secret of every project (deleted webhooks too), by internal id. */
  listWebhookSecrets(): Promise<{ pk: number; secret: string }[]>;
  /** Replaces a stored secret if it still is `expected` (a concurrent change wins). */
  replaceWebhookSecret(pk: number, expected: string, secret: string): Promise<void>;

  // ------------------------------------------------------------------ deliveries

  /**
   * Creates the deliveries of up to `limit` events that have not been fanned out yet, one per
   * ACTIVE webhook subscribed to the event's entity and action, due at `now`, and marks those
   * events fanned out. Safe to run concurrently from several processes.
   * @returns the number of events processed
   */
  fanOutEvents(limit: number, now: number): Promise<number>;

  /**
   * Takes the lease on up to `limit` pending deliveries that are due at `now` and not leased by
   * anyone else (or whose lease has expired). Each claim is a conditional UPDATE, so a delivery
   * is never held by two claimants at once.
   */
  claimDueDeliveries(query: { limit: number; now: number; leaseMs: number; leaseToken: string }): Promise<ClaimedDelivery[]>;

  /**
   * The earliest `next_attempt_at` of a pending delivery nobody holds a live lease on at `now`,
   * undefined when there is none.
   */
  nextDueTime(now: number): Promise<number | undefined>;

  /**
   * Records an attempt's outcome and releases the lease, only if `leaseToken` still holds it.
   * A delivery cancelled while the attempt was in flight stays cancelled (the attempt is counted).
   * @returns false when the lease had been lost (another dispatcher owns the delivery now)
   */
  completeAttempt(id: number, leaseToken: string, outcome: AttemptOutcome): Promise<boolean>;

  /** Gives a lease back without counting an attempt (dispatcher shutdown). */
  releaseLease(id: number, leaseToken: string): Promise<void>;

  /** A webhook's deliveries, newest first. */
  listDeliveries(query: { webhookPk: number; status?: DeliveryStatus; offset: number; limit: number }): Promise<DeliveryRecord[]>;

  /**
   * Deletes finished deliveries completed before `before`, then events older than `before` that
   * are fanned out and have no delivery left. @returns the number of events deleted
   */
  prune(before: number): Promise<number>;
}
