import type { AttemptOutcome, ClaimedDelivery, EventsStore } from '../../store/events-store.ts';
import type { EventBus } from '../events/event-bus.ts';
import { classifyAnswer, DEFAULT_RETRY_POLICY, retryDelay, withinRetryWindow, type RetryPolicy } from './retry-policy.ts';
import { sendWebhook, type FetchFunction } from './webhook-sender.ts';
import { checkWebhookUrlSyntax, DEFAULT_WEBHOOK_URL_POLICY, type Resolver, type WebhookUrlPolicy } from './url-guard.ts';
import { guardedTransport, type WebhookTransport } from './webhook-transport.ts';
import { SecretBox } from './secret-box.ts';
import { processUniqueId } from '../process-unique-id.ts';

/** The few logger methods the dispatcher uses (pino's signature). */
export interface DispatcherLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface DispatcherOptions {
  /** How often the outbox and the delivery queue are checked when nothing wakes the dispatcher. */
  pollIntervalMs?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  /** Timeout of one request (MLflow: 30 s). */
  requestTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /**
   * How long a claimed delivery stays ours. Longer than a request can take, so a lease never runs
   * out under a live attempt; if this process dies, another one picks the delivery up after it.
   */
  leaseMs?: number;
  /** Events fanned out per query. */
  fanOutBatch?: number;
  /**
   * On stop, requests in flight get this long to finish before they are aborted (default 5 s).
   * An aborted request is sent again later, possibly a second time to a receiver that already
   * had it.
   */
  stopGraceMs?: number;
  /** Finished deliveries and delivered events older than this are deleted (default 30 days). */
  retentionMs?: number;
  pruneIntervalMs?: number;
  /** Where webhooks may point; checked again before every request and at connect time. */
  urlPolicy?: WebhookUrlPolicy;
  /** Opens the sealed secrets (must be the box the WebhookService sealed them with). */
  secretBox?: SecretBox;
  /** A fetch function instead of the guarded transport (tests); skips the connect-time check. */
  fetch?: FetchFunction;
  /** How host names are resolved (the system resolver; tests substitute answers). */
  resolver?: Resolver;
  now?: () => number;
  random?: () => number;
  logger?: DispatcherLogger;
}

const SILENT: DispatcherLogger = { debug() {}, info() {}, warn() {} };

/**
 * Sends webhook deliveries from the outbox. Started with the server, stopped when it closes.
 *
 * Each round it (1) fans new outbox events out into deliveries, one per ACTIVE webhook
 * subscribed to the event, and (2) claims due deliveries under a lease and POSTs them, up to
 * `concurrency` at a time. The lease is taken with a conditional UPDATE, so any number of
 * server processes can run a dispatcher over one database and a delivery is still sent by one
 * of them at a time; an attempt's outcome is recorded only while the lease is still held.
 *
 * Deliveries are at least once: a process that dies after the receiver answered but before the
 * outcome was written leaves a lease that expires, and the delivery is sent again. Receivers
 * drop such duplicates by X-MLflow-Delivery-Id, which stays the same across the retries of one
 * delivery.
 */
export class WebhookDispatcher {
  private readonly pollIntervalMs: number;
  private readonly concurrency: number;
  private readonly requestTimeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly leaseMs: number;
  private readonly fanOutBatch: number;
  private readonly retentionMs: number;
  private readonly pruneIntervalMs: number;
  private readonly stopGraceMs: number;
  private readonly urlPolicy: WebhookUrlPolicy;
  private readonly secretBox: SecretBox;
  private readonly transport: WebhookTransport;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly log: DispatcherLogger;
  /** One lease token per process run: every claim of this dispatcher carries it. */
  private readonly leaseToken = processUniqueId();
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  private loopDone: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private unsubscribe: (() => void) | undefined;
  private lastPrune = 0;

  constructor(
    private readonly store: EventsStore,
    private readonly bus: EventBus | undefined,
    private readonly options: DispatcherOptions = {},
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.concurrency = options.concurrency ?? 10;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.leaseMs = options.leaseMs ?? this.requestTimeoutMs + 60_000;
    this.fanOutBatch = options.fanOutBatch ?? 200;
    this.retentionMs = options.retentionMs ?? 30 * 24 * 60 * 60 * 1000;
    this.pruneIntervalMs = options.pruneIntervalMs ?? 60 * 60 * 1000;
    this.stopGraceMs = options.stopGraceMs ?? 5000;
    this.urlPolicy = options.urlPolicy ?? DEFAULT_WEBHOOK_URL_POLICY;
    this.secretBox = options.secretBox ?? SecretBox.ephemeral();
    this.transport = guardedTransport(this.urlPolicy, options.resolver);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.log = options.logger ?? SILENT;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastPrune = this.now();
    this.unsubscribe = this.bus?.subscribe(() => this.wake());
    this.loopDone = this.loop();
  }

  /**
   * Stops claiming, gives requests in flight `stopGraceMs` to finish, then aborts the rest and
   * hands their leases back, so another process (or the next start) sends them without waiting
   * for the lease to run out.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    this.wake();
    await this.loopDone;
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.stopGraceMs);
      });
      await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
      clearTimeout(timer);
    }
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Checks the outbox and the queue now. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /**
   * One round: fan out everything new, then send what is due, waiting for the sends.
   * @returns how many deliveries were attempted
   */
  async runOnce(): Promise<number> {
    await this.fanOut();
    const claims = await this.claim(this.concurrency);
    await Promise.all(claims.map((claim) => this.deliver(claim)));
    return claims.length;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      this.woken = false;
      let nextDue: number | undefined;
      let free = 0;
      try {
        await this.fanOut();
        free = this.concurrency - this.inFlight.size;
        if (free > 0) {
          const claims = await this.claim(free);
          for (const claim of claims) this.track(this.deliver(claim));
          // A full batch may mean more is due right away.
          if (claims.length === free && claims.length > 0) this.woken = true;
        }
        nextDue = await this.store.nextDueTime(this.now());
        await this.maybePrune();
      } catch (error) {
        // The database may be busy or briefly unreachable; try again next round.
        this.log.warn({ err: error }, 'webhook dispatcher round failed');
      }
      if (!this.running) break;
      // At full concurrency, a finishing request wakes the loop; otherwise sleep until the next
      // delivery is due or the next poll, whichever comes first.
      const untilDue = nextDue === undefined || free <= 0 ? this.pollIntervalMs : Math.max(0, nextDue - this.now());
      await this.sleep(this.woken ? 0 : Math.min(this.pollIntervalMs, untilDue));
    }
  }

  private track(work: Promise<void>): void {
    const tracked = work.finally(() => {
      this.inFlight.delete(tracked);
      this.wake();
    });
    this.inFlight.add(tracked);
  }

  /**
   * Waits `ms` or until woken. Always a real timer, even for 0: the SQLite driver answers
   * without I/O, so a loop that only awaited queries would never let sockets and timers run.
   */
  private sleep(ms: number): Promise<void> {
    if (this.woken) ms = 0;
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        done();
      };
    });
  }

  private async fanOut(): Promise<void> {
    for (;;) {
      const count = await this.store.fanOutEvents(this.fanOutBatch, this.now());
      if (count < this.fanOutBatch) return;
    }
  }

  private async claim(limit: number): Promise<ClaimedDelivery[]> {
    if (limit <= 0) return [];
    return this.store.claimDueDeliveries({ limit, now: this.now(), leaseMs: this.leaseMs, leaseToken: this.leaseToken });
  }

  private async deliver(claim: ClaimedDelivery): Promise<void> {
    const { webhook, event } = claim;
    const context = { webhookId: webhook.webhookId, deliveryId: claim.deliveryId, event: `${event.entity}.${event.action}` };
    try {
      if (webhook.deleted || webhook.status !== 'ACTIVE') {
        const error = webhook.deleted ? 'The webhook was deleted.' : 'The webhook is disabled.';
        await this.store.completeAttempt(claim.id, claim.leaseToken, { kind: 'cancelled', error, now: this.now() });
        return;
      }
      let secret: string | null;
      try {
        // The policy may be stricter than when the webhook was saved; the resolved address is
        // checked again when the transport connects.
        checkWebhookUrlSyntax(webhook.url, this.urlPolicy);
        secret = webhook.secret === null ? null : this.secretBox.open(webhook.secret);
      } catch (error) {
        await this.record(claim, { kind: 'failed', responseStatus: null, responseBody: null, error: (error as Error).message, now: this.now() });
        return;
      }
      const result = await sendWebhook(
        {
          url: webhook.url,
          secret,
          deliveryId: claim.deliveryId,
          entity: event.entity,
          action: event.action,
          eventTimestamp: event.timestamp,
          data: event.data,
        },
        {
          timeoutMs: this.requestTimeoutMs,
          signal: this.abort.signal,
          ...(this.options.fetch ? { fetch: this.options.fetch } : { transport: this.transport }),
          now: this.now,
        },
      );
      if (result.aborted) {
        await this.store.releaseLease(claim.id, claim.leaseToken);
        return;
      }
      const now = this.now();
      const attempts = claim.attempts + 1;
      const verdict = classifyAnswer(result.status);
      if (verdict === 'delivered') {
        await this.record(claim, { kind: 'delivered', responseStatus: result.status!, responseBody: result.summary, now });
        this.log.debug({ ...context, attempts, status: result.status }, 'webhook delivered');
        return;
      }
      const error = result.error ?? (result.status !== null ? `HTTP ${result.status}` : null);
      if (verdict === 'retry') {
        const nextAttemptAt = now + retryDelay(attempts, result.retryAfterMs, this.retry, this.random);
        if (withinRetryWindow(claim.createdAt, nextAttemptAt, this.retry) && attempts <= this.retry.maxRetries) {
          await this.record(claim, { kind: 'retry', responseStatus: result.status, responseBody: result.summary, error, nextAttemptAt, now });
          this.log.debug({ ...context, attempts, status: result.status, error, retryInMs: nextAttemptAt - now }, 'webhook delivery will be retried');
          return;
        }
        await this.record(claim, {
          kind: 'failed',
          responseStatus: result.status,
          responseBody: result.summary,
          error: `Gave up after ${attempts} attempts: ${error ?? 'no answer'}`,
          now,
        });
        this.log.warn({ ...context, attempts, status: result.status, error }, 'webhook delivery failed: retry window exhausted');
        return;
      }
      await this.record(claim, { kind: 'failed', responseStatus: result.status, responseBody: result.summary, error, now });
      this.log.warn({ ...context, attempts, status: result.status }, 'webhook delivery failed: the receiver refused it');
    } catch (error) {
      // The outcome could not be written (database trouble). The lease runs out and the delivery
      // is attempted again: at least once.
      this.log.warn({ ...context, err: error }, 'webhook delivery bookkeeping failed');
    }
  }

  private async record(claim: ClaimedDelivery, outcome: AttemptOutcome): Promise<void> {
    const kept = await this.store.completeAttempt(claim.id, claim.leaseToken, outcome);
    if (!kept) this.log.warn({ deliveryId: claim.deliveryId }, 'webhook delivery lease was lost before its outcome was recorded');
  }

  private async maybePrune(): Promise<void> {
    const now = this.now();
    if (now - this.lastPrune < this.pruneIntervalMs) return;
    this.lastPrune = now;
    const deleted = await this.store.prune(now - this.retentionMs);
    if (deleted > 0) this.log.info({ deleted }, 'pruned old registry events');
  }
}
