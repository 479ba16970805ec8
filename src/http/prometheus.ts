import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from './prometheus-text.ts';

/** Latency buckets in seconds: sub-millisecond ingest calls up to slow artifact transfers. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** prom-client's content type for the text format. */
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Sources read when /metrics is scraped (webhook outbox, database pool). */
export interface MetricSources {
  /** Deliveries waiting to be sent, and deliveries that failed for good. */
  webhookDeliveries?: () => Promise<{ pending: number; failed: number }>;
  databasePool?: () => { total: number; idle: number; waiting: number } | undefined;
}

/**
 * The server's Prometheus metrics, per server (several servers in one test process must not share
 * counters). Request metrics are filled by generic Fastify hooks keyed by the route pattern, so
 * routes added later are measured without any code of their own. They are kept in plain maps
 * (./prometheus-text.ts); prom-client is loaded with the first scrape, for the process metrics
 * (CPU, memory, heap spaces, event loop lag, GC), which count from then on — except the CPU
 * and memory figures, which are the process's own totals.
 */
export class ServerMetrics {
  readonly contentType = CONTENT_TYPE;
  readonly requests = new Counter('trove_http_requests_total', 'HTTP requests by method, route pattern and status.', { labelled: true });
  readonly latency = new Histogram('trove_http_request_duration_seconds', 'HTTP request latency by method, route pattern and status.', LATENCY_BUCKETS);
  readonly inFlight = new Gauge('trove_http_requests_in_flight', 'Requests being served, by route pattern (open event streams count here).', { labelled: true });
  readonly ingestPoints = new Counter('trove_ingest_metric_points_total', 'Metric points accepted (log-metric, log-batch); rate() gives points per second.', { labelled: false });
  readonly artifactBytes = new Counter('trove_artifact_bytes_total', 'Artifact bytes received (in) and sent (out) by the artifact proxy.', { labelled: true });
  readonly queryLatency = new Histogram('trove_db_query_duration_seconds', 'Database statement latency.', LATENCY_BUCKETS);
  readonly sseClients = new Gauge('trove_sse_clients', 'Open server-sent event streams.', { labelled: false });
  private readonly webhookPending = new Gauge('trove_webhook_deliveries_pending', 'Webhook deliveries in the outbox waiting to be sent (or retried).', { labelled: false });
  private readonly webhookFailed = new Gauge('trove_webhook_deliveries_failed', 'Webhook deliveries that failed for good (still in the delivery log).', { labelled: false });
  private readonly poolConnections = new Gauge('trove_db_pool_connections', 'PostgreSQL pool connections by state (absent for SQLite).', { labelled: true });
  private sources: MetricSources = {};
  private readonly defaultMetrics: boolean;
  private processRegistry: Registry | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    this.defaultMetrics = options.defaultMetrics !== false;
  }

  /** Connects the scrape-time sources once the services exist. */
  setSources(sources: MetricSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** For the database's query log. */
  observeQuery(durationMs: number, failed: boolean): void {
    this.queryLatency.observe({ outcome: failed ? 'error' : 'ok' }, durationMs / 1000);
  }

  /** Every metric in the text format: the scrape. */
  async render(): Promise<string> {
    const counts = await this.sources.webhookDeliveries?.().catch(() => undefined);
    if (counts) {
      this.webhookPending.set({}, counts.pending);
      this.webhookFailed.set({}, counts.failed);
    }
    const pool = this.sources.databasePool?.();
    if (pool) {
      this.poolConnections.set({ state: 'total' }, pool.total);
      this.poolConnections.set({ state: 'idle' }, pool.idle);
      this.poolConnections.set({ state: 'waiting' }, pool.waiting);
    }
    const own = [
      this.requests,
      this.latency,
      this.inFlight,
      this.ingestPoints,
      this.artifactBytes,
      this.queryLatency,
      this.sseClients,
      this.webhookPending,
      this.webhookFailed,
      this.poolConnections,
    ].map((metric) => metric.render());
    const processMetrics = this.defaultMetrics ? await this.processMetrics().metrics() : '';
    return [...own, ...(processMetrics ? [processMetrics] : [])].join('\n');
  }

  /** prom-client's process metrics, in a registry of this server's, from the first scrape on. */
  private processMetrics(): Registry {
    if (this.processRegistry === undefined) {
      const promClient = createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
      this.processRegistry = new promClient.Registry();
      promClient.collectDefaultMetrics({ register: this.processRegistry, prefix: 'trove_' });
    }
    return this.processRegistry;
  }
}
