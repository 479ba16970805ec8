import { randomUUID } from 'node:crypto';
import { MlflowError, missingParameter } from '../errors.ts';
import { decodePageToken, encodePageToken } from '../page-token.ts';
import type { DeliveryRecord, DeliveryStatus, EventsStore, WebhookRecord, WebhookUpdate } from '../../store/events-store.ts';
import { examplePayload, parseEvent, parseStatus, type WebhookEventType } from './webhook-events.ts';
import { MAX_WEBHOOK_DESCRIPTION_LENGTH, MAX_WEBHOOK_SECRET_LENGTH, validateWebhookName } from './webhook-validation.ts';
import { sendWebhook, type FetchFunction } from './webhook-sender.ts';
import { checkWebhookUrl, DEFAULT_WEBHOOK_URL_POLICY, systemResolver, type Resolver, type WebhookUrlPolicy } from './url-guard.ts';
import { guardedTransport, type WebhookTransport } from './webhook-transport.ts';
import { SecretBox } from './secret-box.ts';
import { currentProjectId } from '../request-context.ts';
import { NO_AUDIT, type AuditSink } from '../audit/audit-log.ts';

export interface WebhookServiceOptions {
  /** Where webhooks may point (MLflow's MLFLOW_WEBHOOK_* settings; https and public addresses by default). */
  urlPolicy?: WebhookUrlPolicy;
  /** Seals secrets before they are stored (an ephemeral key by default). */
  secretBox?: SecretBox;
  /** Timeout of one request to a receiver (the test endpoint's, and the dispatcher's). */
  requestTimeoutMs?: number;
  /** A fixed project; by default the project of the running request. */
  projectId?: number;
  /** A fetch function instead of the guarded transport (tests); skips the connect-time check. */
  fetch?: FetchFunction;
  /** How host names are resolved (the system resolver; tests substitute answers). */
  resolver?: Resolver;
  /** Creations, updates and deletions are appended to the audit log in their transaction. */
  audit?: AuditSink;
  now?: () => number;
}

export interface CreateWebhookInput {
  name: string;
  url: string;
  events: unknown[];
  description?: string | undefined;
  secret?: string | undefined;
  status?: unknown;
}

/** Fields present in an update request; absent ones (undefined) stay as they are. */
export interface UpdateWebhookInput {
  name?: string | undefined;
  description?: string | undefined;
  url?: string | undefined;
  events?: unknown[] | undefined;
  secret?: string | undefined;
  status?: unknown;
}

export interface WebhookTestResult {
  success: boolean;
  responseStatus: number | null;
  responseBody: string | null;
  errorMessage: string | null;
}

export interface Paged<T> {
  items: T[];
  nextPageToken?: string;
}

const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed', 'cancelled'];

/**
 * MLflow 3's webhook API (webhooks.proto, sqlalchemy_store.py semantics): validation, soft
 * delete, paging, the synchronous test call; plus Trove's delivery log.
 */
export class WebhookService {
  private readonly urlPolicy: WebhookUrlPolicy;
  private readonly secretBox: SecretBox;
  private readonly transport: WebhookTransport;
  private readonly requestTimeoutMs: number;
  private readonly fixedProjectId: number | undefined;
  private readonly audit: AuditSink;
  private readonly now: () => number;

  constructor(
    private readonly store: EventsStore,
    private readonly options: WebhookServiceOptions = {},
  ) {
    this.urlPolicy = options.urlPolicy ?? DEFAULT_WEBHOOK_URL_POLICY;
    this.secretBox = options.secretBox ?? SecretBox.ephemeral();
    this.transport = guardedTransport(this.urlPolicy, options.resolver);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.fixedProjectId = options.projectId;
    this.audit = options.audit ?? NO_AUDIT;
    this.now = options.now ?? Date.now;
  }

  /** Webhooks belong to the project of the request that manages them. */
  private get projectId(): number {
    return this.fixedProjectId ?? currentProjectId();
  }

  async create(input: CreateWebhookInput): Promise<WebhookRecord> {
    validateWebhookName(input.name);
    await checkWebhookUrl(input.url, this.urlPolicy, this.options.resolver ?? systemResolver);
    const events = parseEvents(input.events);
    if (events.length === 0) throw missingParameter('events');
    const description = input.description || null;
    checkLength('description', description, MAX_WEBHOOK_DESCRIPTION_LENGTH);
    // Sealed, not hashed: every delivery is signed with it, and HMAC needs the key itself. It is
    // never presented by the API and never logged.
    const plainSecret = input.secret || null;
    checkLength('secret', plainSecret, MAX_WEBHOOK_SECRET_LENGTH);
    const secret = plainSecret === null ? null : this.secretBox.seal(plainSecret);
    const status = input.status === undefined || input.status === null || input.status === '' ? 'ACTIVE' : parseStatus(input.status);
    const webhookId = randomUUID();
    await this.store.transaction(async (tx) => {
      await tx.createWebhook({
        projectId: this.projectId,
        webhookId,
        name: input.name,
        description,
        url: input.url,
        secret,
        status,
        events,
        now: this.now(),
      });
      await this.audit.record(tx, { action: 'webhook.create', entityType: 'webhook', entityId: webhookId, details: { name: input.name, status } });
    });
    return this.get(webhookId);
  }

  async get(webhookId: string): Promise<WebhookRecord> {
    const webhook = await this.store.getWebhook(this.projectId, webhookId);
    if (!webhook) throw notFound(webhookId);
    return webhook;
  }

  async list(query: { maxResults?: number | undefined; pageToken?: string | undefined }): Promise<Paged<WebhookRecord>> {
    const maxResults = query.maxResults || 100;
    if (maxResults < 1 || maxResults > 1000) throw MlflowError.invalidParameter('max_results must be between 1 and 1000.');
    const { offset } = decodePageToken(query.pageToken);
    const rows = await this.store.listWebhooks(this.projectId, offset, maxResults + 1);
    const items = rows.slice(0, maxResults);
    return rows.length > maxResults ? { items, nextPageToken: encodePageToken({ offset: offset + maxResults, snapshot: null }) } : { items };
  }

  /**
   * Changes the fields present in the request, as upstream's handler does: an empty name, url or
   * event list means "unchanged"; a present description or secret is set even when empty (an
   * empty secret removes signing).
   */
  async update(webhookId: string, input: UpdateWebhookInput): Promise<WebhookRecord> {
    const update: WebhookUpdate = { now: this.now() };
    if (input.name) {
      validateWebhookName(input.name);
      update.name = input.name;
    }
    if (input.url) {
      await checkWebhookUrl(input.url, this.urlPolicy, this.options.resolver ?? systemResolver);
      update.url = input.url;
    }
    if (input.events && input.events.length > 0) update.events = parseEvents(input.events);
    if (input.description !== undefined) {
      checkLength('description', input.description, MAX_WEBHOOK_DESCRIPTION_LENGTH);
      update.description = input.description === '' ? null : input.description;
    }
    if (input.secret !== undefined) {
      checkLength('secret', input.secret, MAX_WEBHOOK_SECRET_LENGTH);
      update.secret = input.secret === '' ? null : this.secretBox.seal(input.secret);
    }
    if (input.status !== undefined && input.status !== null) update.status = parseStatus(input.status);
    const found = await this.store.transaction(async (tx) => {
      const updated = await tx.updateWebhook(this.projectId, webhookId, update);
      if (updated) {
        // Which fields changed, never their values (the URL may carry credentials, the secret is one).
        const fields = Object.keys(update).filter((key) => key !== 'now');
        await this.audit.record(tx, { action: 'webhook.update', entityType: 'webhook', entityId: webhookId, details: { fields } });
      }
      return updated;
    });
    if (!found) throw notFound(webhookId);
    return this.get(webhookId);
  }

  async delete(webhookId: string): Promise<void> {
    const found = await this.store.transaction(async (tx) => {
      const deleted = await tx.deleteWebhook(this.projectId, webhookId, this.now());
      if (deleted) await this.audit.record(tx, { action: 'webhook.delete', entityType: 'webhook', entityId: webhookId });
      return deleted;
    });
    if (!found) throw notFound(webhookId);
  }

  /**
   * Sends one example event to the webhook now and reports what came back, as upstream's test
   * endpoint does (`event` defaults to the webhook's first event). Disabled webhooks are tested
   * too. The request is made once, without retries.
   */
  async test(webhookId: string, event: unknown): Promise<WebhookTestResult> {
    const webhook = await this.get(webhookId);
    const testEvent: WebhookEventType =
      event === undefined || event === null ? (webhook.events[0] as WebhookEventType) : parseEvent(event);
    let secret: string | null;
    try {
      // The URL is checked again: the policy may have changed since the webhook was saved.
      await checkWebhookUrl(webhook.url, this.urlPolicy, this.options.resolver ?? systemResolver);
      secret = webhook.secret === null ? null : this.secretBox.open(webhook.secret);
    } catch (error) {
      return { success: false, responseStatus: null, responseBody: null, errorMessage: `Failed to test webhook: ${(error as Error).message}` };
    }
    const result = await sendWebhook(
      {
        url: webhook.url,
        secret,
        entity: testEvent.entity,
        action: testEvent.action,
        eventTimestamp: this.now(),
        data: examplePayload(testEvent),
      },
      { timeoutMs: this.requestTimeoutMs, ...(this.options.fetch ? { fetch: this.options.fetch } : { transport: this.transport }), now: this.now },
    );
    if (result.status === null) {
      return { success: false, responseStatus: null, responseBody: null, errorMessage: `Failed to test webhook: ${result.error ?? 'no response'}` };
    }
    return {
      success: result.status >= 200 && result.status < 300,
      responseStatus: result.status,
      responseBody: result.body,
      errorMessage: null,
    };
  }

  /** Trove's delivery log of a webhook (also of a deleted one), newest first. */
  async listDeliveries(
    webhookId: string,
    query: { maxResults?: number | undefined; pageToken?: string | undefined; status?: string | undefined },
  ): Promise<Paged<DeliveryRecord>> {
    const webhook = await this.store.getWebhookIncludingDeleted(this.projectId, webhookId);
    if (!webhook) throw notFound(webhookId);
    const maxResults = query.maxResults || 100;
    if (maxResults < 1 || maxResults > 1000) throw MlflowError.invalidParameter('max_results must be between 1 and 1000.');
    let status: DeliveryStatus | undefined;
    if (query.status !== undefined && query.status !== '') {
      status = DELIVERY_STATUSES.find((s) => s === query.status!.toLowerCase());
      if (!status) {
        throw MlflowError.invalidParameter(
          `Invalid delivery status '${query.status}'. Valid statuses are: ${DELIVERY_STATUSES.map((s) => s.toUpperCase()).join(', ')}.`,
        );
      }
    }
    const { offset } = decodePageToken(query.pageToken);
    const rows = await this.store.listDeliveries({ webhookPk: webhook.pk, ...(status ? { status } : {}), offset, limit: maxResults + 1 });
    const items = rows.slice(0, maxResults);
    return rows.length > maxResults ? { items, nextPageToken: encodePageToken({ offset: offset + maxResults, snapshot: null }) } : { items };
  }
}

function parseEvents(events: unknown[]): WebhookEventType[] {
  const parsed = events.map(parseEvent);
  const unique = new Map(parsed.map((e) => [`${e.entity}.${e.action}`, e]));
  return [...unique.values()];
}

function checkLength(field: string, value: string | null, max: number): void {
  if (value !== null && value.length > max) {
    throw MlflowError.invalidParameter(`Webhook ${field} is longer than ${max} characters.`);
  }
}

function notFound(webhookId: string): MlflowError {
  return MlflowError.notFound(`Webhook with ID ${webhookId} not found.`);
}
