import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database } from './schema.ts';
import type { EventsDatabase, EventsDb, EventsTables } from './events-schema.ts';
import type {
  AttemptOutcome,
  ClaimedDelivery,
  DeliveryRecord,
  DeliveryStatus,
  EventSubscription,
  EventsStore,
  NewRegistryEventRow,
  NewWebhook,
  RegistryEventRecord,
  WebhookRecord,
  WebhookStatusName,
  WebhookUpdate,
} from '../events-store.ts';
import { chunk } from './sql-conditions.ts';

const SEQUENCE = 'registry_events';
/** Rows per multi-row INSERT, well below both databases' bind-variable limits. */
const INSERT_CHUNK = 500;
/** Ids per `IN (...)` list. */
const IN_CHUNK = 1000;
/** What the delivery log keeps of a receiver's answer. */
const MAX_STORED_BODY = 2048;
const MAX_STORED_ERROR = 1024;

type WebhookRow = Selectable<EventsTables['webhooks']>;
type EventRow = Selectable<EventsTables['registry_events']>;

/**
 * The SQL events store (outbox, webhooks, deliveries), one implementation for SQLite and
 * PostgreSQL through Kysely. A store created by `transaction()` or `bindTo()` runs every call on
 * that transaction.
 *
 * The dispatcher's statements (fan-out, claim, completion) are single conditional statements
 * rather than read-then-write transactions: each is atomic on its own, they are idempotent, and
 * on SQLite a single statement waits for the write lock (busy timeout) where a deferred
 * transaction that read first would fail with SQLITE_BUSY when another process wrote meanwhile.
 */
export class SqlEventsStore implements EventsStore {
  private readonly db: EventsDb;

  constructor(
    db: Kysely<Database> | Kysely<EventsDatabase> | EventsDb,
    private readonly inTransaction = false,
  ) {
    // The events tables live beside the tracking and registry tables in the same database.
    this.db = (db as Kysely<Database>).withTables<EventsTables>();
  }

  /**
   * Joins the transaction of a registry change. `handle` is what RegistryService passes to its
   * event sink: the transaction's RegistryStore. A Kysely executor is recognised directly; of a
   * store object, a public `sqlExecutor` (property or method) is preferred, and the `db` field
   * the SQL stores keep their (transaction-bound) Kysely in is the fallback. That field is
   * private to TypeScript only; reading it keeps the registry store free of outbox concerns.
   */
  joinTransaction(handle: unknown): EventsStore | undefined {
    const executor = findKyselyExecutor(handle);
    return executor ? new SqlEventsStore(executor as Kysely<EventsDatabase>, true) : undefined;
  }

  async transaction<T>(work: (store: EventsStore) => Promise<T>): Promise<T> {
    if (this.inTransaction) return work(this);
    return (this.db as Kysely<EventsDatabase>).transaction().execute((trx) => work(new SqlEventsStore(trx, true)));
  }

  // ---------------------------------------------------------------- outbox

  async appendEvents(events: NewRegistryEventRow[]): Promise<number[]> {
    if (events.length === 0) return [];
    return this.transaction(async (store) => {
      const db = (store as SqlEventsStore).db;
      // Taking the ids from the counter row locks it until commit: concurrent appenders queue
      // here, so ids are handed out in commit order.
      const row = await db
        .updateTable('outbox_sequences')
        .set((eb) => ({ last_value: eb('last_value', '+', events.length) }))
        .where('name', '=', SEQUENCE)
        .returning('last_value')
        .executeTakeFirstOrThrow();
      const last = Number(row.last_value);
      const first = last - events.length + 1;
      const ids = events.map((_, index) => first + index);
      const rows = events.map((event, index) => ({
        id: first + index,
        project_id: event.projectId,
        entity: event.entity,
        action: event.action,
        model_name: event.modelName,
        payload: JSON.stringify(event.data),
        event_timestamp: event.timestamp,
      }));
      for (const part of chunk(rows, INSERT_CHUNK)) await db.insertInto('registry_events').values(part).execute();
      return ids;
    });
  }

  async readEvents(query: { projectId: number; afterId: number; modelName?: string; limit: number }): Promise<RegistryEventRecord[]> {
    let select = this.db
      .selectFrom('registry_events')
      .select(['id', 'project_id', 'entity', 'action', 'model_name', 'payload', 'event_timestamp'])
      .where('project_id', '=', query.projectId)
      .where('id', '>', query.afterId);
    if (query.modelName !== undefined) select = select.where('model_name', '=', query.modelName);
    const rows = await select.orderBy('id').limit(query.limit).execute();
    return rows.map(toEventRecord);
  }

  async lastEventId(): Promise<number> {
    const row = await this.db.selectFrom('outbox_sequences').select('last_value').where('name', '=', SEQUENCE).executeTakeFirst();
    return row ? Number(row.last_value) : 0;
  }

  // ---------------------------------------------------------------- webhooks

  async createWebhook(webhook: NewWebhook): Promise<void> {
    await this.transaction(async (store) => {
      const db = (store as SqlEventsStore).db;
      const row = await db
        .insertInto('webhooks')
        .values({
          project_id: webhook.projectId,
          webhook_id: webhook.webhookId,
          name: webhook.name,
          description: webhook.description,
          url: webhook.url,
          secret: webhook.secret,
          status: webhook.status,
          creation_timestamp: webhook.now,
          last_updated_timestamp: webhook.now,
          deleted_timestamp: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await insertSubscriptions(db, Number(row.id), webhook.projectId, webhook.events);
    });
  }

  async getWebhook(projectId: number, webhookId: string): Promise<WebhookRecord | undefined> {
    const row = await this.webhookQuery(projectId).where('webhook_id', '=', webhookId).where('deleted_timestamp', 'is', null).executeTakeFirst();
    return row ? (await this.loadWebhooks([row]))[0] : undefined;
  }

  async getWebhookIncludingDeleted(projectId: number, webhookId: string): Promise<WebhookRecord | undefined> {
    const row = await this.webhookQuery(projectId).where('webhook_id', '=', webhookId).executeTakeFirst();
    return row ? (await this.loadWebhooks([row]))[0] : undefined;
  }

  async listWebhooks(projectId: number, offset: number, limit: number): Promise<WebhookRecord[]> {
    const rows = await this.webhookQuery(projectId)
      .where('deleted_timestamp', 'is', null)
      .orderBy('creation_timestamp', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .offset(offset)
      .execute();
    return this.loadWebhooks(rows);
  }

  async updateWebhook(projectId: number, webhookId: string, update: WebhookUpdate): Promise<boolean> {
    return this.transaction(async (store) => {
      const db = (store as SqlEventsStore).db;
      const row = await db
        .selectFrom('webhooks')
        .select('id')
        .where('project_id', '=', projectId)
        .where('webhook_id', '=', webhookId)
        .where('deleted_timestamp', 'is', null)
        .executeTakeFirst();
      if (!row) return false;
      const pk = Number(row.id);
      await db
        .updateTable('webhooks')
        .set({
          ...(update.name !== undefined ? { name: update.name } : {}),
          ...(update.description !== undefined ? { description: update.description } : {}),
          ...(update.url !== undefined ? { url: update.url } : {}),
          ...(update.secret !== undefined ? { secret: update.secret } : {}),
          ...(update.status !== undefined ? { status: update.status } : {}),
          last_updated_timestamp: update.now,
        })
        .where('id', '=', pk)
        .execute();
      if (update.events !== undefined) {
        await db.deleteFrom('webhook_subscriptions').where('webhook_pk', '=', pk).execute();
        await insertSubscriptions(db, pk, projectId, update.events);
      }
      return true;
    });
  }

  async countDeliveries(): Promise<{ pending: number; failed: number }> {
    const rows = await this.db
      .selectFrom('webhook_deliveries')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', 'in', ['pending', 'failed'])
      .groupBy('status')
      .execute();
    const count = (status: string) => Number(rows.find((r) => r.status === status)?.n ?? 0);
    return { pending: count('pending'), failed: count('failed') };
  }

  async listWebhookSecrets(): Promise<{ pk: number; secret: string }[]> {
    const rows = await this.db.selectFrom('webhooks').select(['id', 'secret']).where('secret', 'is not', null).orderBy('id').execute();
    return rows.map((row) => ({ pk: Number(row.id), secret: row.secret! }));
  }

  async replaceWebhookSecret(pk: number, expected: string, secret: string): Promise<void> {
    await this.db.updateTable('webhooks').set({ secret }).where('id', '=', pk).where('secret', '=', expected).execute();
  }

  async deleteWebhook(projectId: number, webhookId: string, now: number): Promise<boolean> {
    return this.transaction(async (store) => {
      const db = (store as SqlEventsStore).db;
      const row = await db
        .selectFrom('webhooks')
        .select('id')
        .where('project_id', '=', projectId)
        .where('webhook_id', '=', webhookId)
        .where('deleted_timestamp', 'is', null)
        .executeTakeFirst();
      if (!row) return false;
      const pk = Number(row.id);
      await db.updateTable('webhooks').set({ deleted_timestamp: now, last_updated_timestamp: now }).where('id', '=', pk).execute();
      await db
        .updateTable('webhook_deliveries')
        .set({ status: 'cancelled', completed_at: now, last_error: 'The webhook was deleted.', next_attempt_at: now })
        .where('webhook_pk', '=', pk)
        .where('status', '=', 'pending')
        .execute();
      return true;
    });
  }

  // ---------------------------------------------------------------- deliveries

  async fanOutEvents(limit: number, now: number): Promise<number> {
    const events = await this.db
      .selectFrom('registry_events')
      .select(['id', 'project_id', 'entity', 'action'])
      .where('fanned_out', '=', 0)
      .orderBy('id')
      .limit(limit)
      .execute();
    if (events.length === 0) return 0;

    // The ACTIVE webhooks of each (project, entity, action) the batch needs, looked up once each.
    const subscribers = new Map<string, number[]>();
    for (const event of events) {
      const key = `${Number(event.project_id)}\u0000${event.entity}\u0000${event.action}`;
      if (subscribers.has(key)) continue;
      const rows = await this.db
        .selectFrom('webhook_subscriptions as s')
        .innerJoin('webhooks as w', 'w.id', 's.webhook_pk')
        .select('w.id')
        .where('w.project_id', '=', Number(event.project_id))
        .where('w.status', '=', 'ACTIVE')
        .where('w.deleted_timestamp', 'is', null)
        .where('s.entity', '=', event.entity)
        .where('s.action', '=', event.action)
        .execute();
      subscribers.set(key, rows.map((r) => Number(r.id)));
    }

    const deliveries = events.flatMap((event) => {
      const key = `${Number(event.project_id)}\u0000${event.entity}\u0000${event.action}`;
      return (subscribers.get(key) ?? []).map((webhookPk) => ({
        project_id: Number(event.project_id),
        delivery_id: randomUUID(),
        webhook_pk: webhookPk,
        event_id: Number(event.id),
        status: 'pending',
        attempts: 0,
        next_attempt_at: now,
        lease_token: null,
        lease_expires_at: null,
        created_at: now,
      }));
    });
    // Idempotent: a process that fans the same event out concurrently inserts nothing twice.
    for (const part of chunk(deliveries, INSERT_CHUNK)) {
      await this.db
        .insertInto('webhook_deliveries')
        .values(part)
        .onConflict((oc) => oc.columns(['webhook_pk', 'event_id']).doNothing())
        .execute();
    }
    for (const ids of chunk(events.map((e) => Number(e.id)), IN_CHUNK)) {
      await this.db.updateTable('registry_events').set({ fanned_out: 1 }).where('id', 'in', ids).execute();
    }
    return events.length;
  }

  async claimDueDeliveries(query: { limit: number; now: number; leaseMs: number; leaseToken: string }): Promise<ClaimedDelivery[]> {
    const { now } = query;
    const candidates = await this.db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<=', now)]))
      .orderBy('next_attempt_at')
      .orderBy('id')
      // Extra candidates: under contention some are taken by another claimant first.
      .limit(query.limit * 2)
      .execute();
    const claimed: number[] = [];
    for (const candidate of candidates) {
      if (claimed.length >= query.limit) break;
      const id = Number(candidate.id);
      // The claim: only one UPDATE can match while the row is free, whoever runs it.
      const result = await this.db
        .updateTable('webhook_deliveries')
        .set({ lease_token: query.leaseToken, lease_expires_at: now + query.leaseMs })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<=', now)]))
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 1) claimed.push(id);
    }
    if (claimed.length === 0) return [];
    const rows = await this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('registry_events as e', 'e.id', 'd.event_id')
      .innerJoin('webhooks as w', 'w.id', 'd.webhook_pk')
      .select([
        'd.id as id',
        'd.delivery_id as delivery_id',
        'd.lease_token as lease_token',
        'd.attempts as attempts',
        'd.created_at as created_at',
        'e.id as event_id',
        'e.project_id as event_project_id',
        'e.entity as entity',
        'e.action as action',
        'e.model_name as model_name',
        'e.payload as payload',
        'e.event_timestamp as event_timestamp',
        'w.id as webhook_pk',
        'w.webhook_id as webhook_id',
        'w.url as url',
        'w.secret as secret',
        'w.status as webhook_status',
        'w.deleted_timestamp as deleted_timestamp',
      ])
      .where('d.id', 'in', claimed)
      .where('d.lease_token', '=', query.leaseToken)
      .orderBy('d.next_attempt_at')
      .orderBy('d.id')
      .execute();
    return rows.map((row) => ({
      id: Number(row.id),
      deliveryId: row.delivery_id,
      leaseToken: row.lease_token ?? query.leaseToken,
      attempts: Number(row.attempts),
      createdAt: Number(row.created_at),
      event: toEventRecord({
        id: row.event_id,
        project_id: row.event_project_id,
        entity: row.entity,
        action: row.action,
        model_name: row.model_name,
        payload: row.payload,
        event_timestamp: row.event_timestamp,
      }),
      webhook: {
        pk: Number(row.webhook_pk),
        webhookId: row.webhook_id,
        url: row.url,
        secret: row.secret,
        status: row.webhook_status as WebhookStatusName,
        deleted: row.deleted_timestamp !== null,
      },
    }));
  }

  async nextDueTime(now: number): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('webhook_deliveries')
      .select((eb) => eb.fn.min('next_attempt_at').as('next'))
      .where('status', '=', 'pending')
      .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<=', now)]))
      .executeTakeFirst();
    return row?.next === null || row?.next === undefined ? undefined : Number(row.next);
  }

  async completeAttempt(id: number, leaseToken: string, outcome: AttemptOutcome): Promise<boolean> {
    const common = { lease_token: null, lease_expires_at: null, last_attempt_at: outcome.now };
    let set: Record<string, unknown>;
    switch (outcome.kind) {
      case 'delivered':
        set = {
          ...common,
          status: 'delivered',
          completed_at: outcome.now,
          last_response_status: outcome.responseStatus,
          last_response_body: truncate(outcome.responseBody, MAX_STORED_BODY),
          last_error: null,
        };
        break;
      case 'retry':
        set = {
          ...common,
          next_attempt_at: outcome.nextAttemptAt,
          last_response_status: outcome.responseStatus,
          last_response_body: truncate(outcome.responseBody, MAX_STORED_BODY),
          last_error: truncate(outcome.error, MAX_STORED_ERROR),
        };
        break;
      case 'failed':
        set = {
          ...common,
          status: 'failed',
          completed_at: outcome.now,
          last_response_status: outcome.responseStatus,
          last_response_body: truncate(outcome.responseBody, MAX_STORED_BODY),
          last_error: truncate(outcome.error, MAX_STORED_ERROR),
        };
        break;
      case 'cancelled':
        // Not an attempt: nothing was sent.
        set = { lease_token: null, lease_expires_at: null, status: 'cancelled', completed_at: outcome.now, last_error: outcome.error };
        break;
    }
    const countsAsAttempt = outcome.kind !== 'cancelled';
    const result = await this.db
      .updateTable('webhook_deliveries')
      .set((eb) => ({
        ...(set as object),
        ...(countsAsAttempt ? { attempts: eb('attempts', '+', 1) } : {}),
      }))
      .where('id', '=', id)
      .where('lease_token', '=', leaseToken)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 1) return true;
    // The delivery may have been cancelled (its webhook deleted) while this attempt was in flight:
    // the cancellation and its reason stand, the attempt is still counted and the lease released.
    const finished = await this.db
      .updateTable('webhook_deliveries')
      .set((eb) => ({ ...common, ...(countsAsAttempt ? { attempts: eb('attempts', '+', 1) } : {}) }))
      .where('id', '=', id)
      .where('lease_token', '=', leaseToken)
      .executeTakeFirst();
    return Number(finished.numUpdatedRows) === 1;
  }

  async releaseLease(id: number, leaseToken: string): Promise<void> {
    await this.db
      .updateTable('webhook_deliveries')
      .set({ lease_token: null, lease_expires_at: null })
      .where('id', '=', id)
      .where('lease_token', '=', leaseToken)
      .execute();
  }

  async listDeliveries(query: { webhookPk: number; status?: DeliveryStatus; offset: number; limit: number }): Promise<DeliveryRecord[]> {
    let select = this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('registry_events as e', 'e.id', 'd.event_id')
      .innerJoin('webhooks as w', 'w.id', 'd.webhook_pk')
      .select([
        'd.delivery_id as delivery_id',
        'w.webhook_id as webhook_id',
        'd.event_id as event_id',
        'e.entity as entity',
        'e.action as action',
        'd.status as status',
        'd.attempts as attempts',
        'd.created_at as created_at',
        'd.last_attempt_at as last_attempt_at',
        'd.next_attempt_at as next_attempt_at',
        'd.completed_at as completed_at',
        'd.last_response_status as last_response_status',
        'd.last_response_body as last_response_body',
        'd.last_error as last_error',
      ])
      .where('d.webhook_pk', '=', query.webhookPk);
    if (query.status !== undefined) select = select.where('d.status', '=', query.status);
    const rows = await select.orderBy('d.id', 'desc').limit(query.limit).offset(query.offset).execute();
    return rows.map((row) => {
      const status = row.status as DeliveryStatus;
      return {
        deliveryId: row.delivery_id,
        webhookId: row.webhook_id,
        eventId: Number(row.event_id),
        entity: row.entity,
        action: row.action,
        status,
        attempts: Number(row.attempts),
        createdAt: Number(row.created_at),
        lastAttemptAt: nullableNumber(row.last_attempt_at),
        nextAttemptAt: status === 'pending' ? nullableNumber(row.next_attempt_at) : null,
        completedAt: nullableNumber(row.completed_at),
        lastResponseStatus: nullableNumber(row.last_response_status),
        lastResponseBody: row.last_response_body,
        lastError: row.last_error,
      };
    });
  }

  async prune(before: number): Promise<number> {
    await this.db
      .deleteFrom('webhook_deliveries')
      .where('status', '!=', 'pending')
      .where('completed_at', '<', before)
      .execute();
    const result = await this.db
      .deleteFrom('registry_events')
      .where('event_timestamp', '<', before)
      .where('fanned_out', '=', 1)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('webhook_deliveries as d').select(sql`1`.as('one')).whereRef('d.event_id', '=', 'registry_events.id'))),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  // ---------------------------------------------------------------- helpers

  private webhookQuery(projectId: number) {
    return this.db
      .selectFrom('webhooks')
      .selectAll()
      .where('project_id', '=', projectId);
  }

  private async loadWebhooks(rows: WebhookRow[]): Promise<WebhookRecord[]> {
    if (rows.length === 0) return [];
    const byPk = new Map<number, EventSubscription[]>();
    for (const ids of chunk(rows.map((r) => Number(r.id)), IN_CHUNK)) {
      const subs = await this.db
        .selectFrom('webhook_subscriptions')
        .select(['webhook_pk', 'entity', 'action'])
        .where('webhook_pk', 'in', ids)
        .orderBy('webhook_pk')
        .orderBy('entity')
        .orderBy('action')
        .execute();
      for (const sub of subs) {
        const pk = Number(sub.webhook_pk);
        const list = byPk.get(pk) ?? [];
        list.push({ entity: sub.entity, action: sub.action });
        byPk.set(pk, list);
      }
    }
    return rows.map((row) => ({
      pk: Number(row.id),
      projectId: Number(row.project_id),
      webhookId: row.webhook_id,
      name: row.name,
      description: row.description,
      url: row.url,
      secret: row.secret,
      status: row.status as WebhookStatusName,
      events: byPk.get(Number(row.id)) ?? [],
      creationTimestamp: Number(row.creation_timestamp),
      lastUpdatedTimestamp: Number(row.last_updated_timestamp),
      deletedTimestamp: nullableNumber(row.deleted_timestamp),
    }));
  }
}

function isKyselyExecutor(value: unknown): value is Kysely<unknown> {
  const candidate = value as { selectFrom?: unknown; insertInto?: unknown; withTables?: unknown } | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.selectFrom === 'function' &&
    typeof candidate.insertInto === 'function' &&
    typeof candidate.withTables === 'function'
  );
}

function findKyselyExecutor(handle: unknown): Kysely<unknown> | undefined {
  if (isKyselyExecutor(handle)) return handle;
  if (typeof handle !== 'object' || handle === null) return undefined;
  const carrier = handle as { sqlExecutor?: unknown; db?: unknown };
  const exposed = typeof carrier.sqlExecutor === 'function' ? (carrier.sqlExecutor as () => unknown).call(handle) : carrier.sqlExecutor;
  if (isKyselyExecutor(exposed)) return exposed;
  if (isKyselyExecutor(carrier.db)) return carrier.db;
  return undefined;
}

async function insertSubscriptions(db: EventsDb, webhookPk: number, projectId: number, events: EventSubscription[]): Promise<void> {
  const unique = new Map(events.map((e) => [`${e.entity}.${e.action}`, e]));
  if (unique.size === 0) return;
  await db
    .insertInto('webhook_subscriptions')
    .values([...unique.values()].map((e) => ({ webhook_pk: webhookPk, project_id: projectId, entity: e.entity, action: e.action })))
    .execute();
}

function toEventRecord(row: Omit<EventRow, 'fanned_out'>): RegistryEventRecord {
  let data: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(row.payload);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) data = parsed as Record<string, unknown>;
  } catch {
    // A payload is always written by appendEvents as JSON; an unreadable one is presented empty.
  }
  return {
    id: Number(row.id),
    projectId: Number(row.project_id),
    entity: row.entity,
    action: row.action,
    modelName: row.model_name,
    data,
    timestamp: Number(row.event_timestamp),
  };
}

function nullableNumber(value: number | string | null | undefined | bigint): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function truncate(text: string | null, max: number): string | null {
  if (text === null) return null;
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
