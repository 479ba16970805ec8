import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Latency buckets in seconds: sub-millisecond ingest calls up to slow artifact transfers. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Sources read when /metrics is scraped (webhook outbox, database pool). */
export interface MetricSources {
  /** Deliveries waiting to be sent, and deliveries that failed for good. */
  webhookDeliveries?: () => Promise<{ pending: number; failed: number }>;
  databasePool?: () => { total: number; idle: number; waiting: number } | undefined;
}

/**
 * The server's Prometheus metrics, in a registry of its own (several servers in one test
 * process must not share counters). Request metrics are filled by generic Fastify hooks keyed by
 * the route pattern, so routes added later are measured without any code of their own.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly latency: Histogram<'method' | 'route' | 'status'>;
  readonly inFlight: Gauge<'route'>;
  readonly ingestPoints: Counter;
  readonly artifactBytes: Counter<'direction'>;
  readonly queryLatency: Histogram<'outcome'>;
  readonly sseClients: Gauge;
  private sources: MetricSources = {};

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'trove_http_requests_total', help: 'HTTP requests by method, route pattern and status.', labelNames: ['method', 'route', 'status'], registers });
    this.latency = new Histogram({
      name: 'trove_http_request_duration_seconds',
      help: 'HTTP request latency by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.inFlight = new Gauge({ name: 'trove_http_requests_in_flight', help: 'Requests being served, by route pattern (open event streams count here).', labelNames: ['route'], registers });
    this.ingestPoints = new Counter({ name: 'trove_ingest_metric_points_total', help: 'Metric points accepted (log-metric, log-batch); rate() gives points per second.', registers });
    this.artifactBytes = new Counter({ name: 'trove_artifact_bytes_total', help: 'Artifact bytes received (in) and sent (out) by the artifact proxy.', labelNames: ['direction'], registers });
    this.queryLatency = new Histogram({ name: 'trove_db_query_duration_seconds', help: 'Database statement latency.', labelNames: ['outcome'], buckets: LATENCY_BUCKETS, registers });
    this.sseClients = new Gauge({ name: 'trove_sse_clients', help: 'Open server-sent event streams.', registers });
    const sources = (): MetricSources => this.sources;
    new Gauge({
      name: 'trove_webhook_deliveries_pending',
      help: 'Webhook deliveries in the outbox waiting to be sent (or retried).',
      registers,
      async collect() {
        const counts = await sources().webhookDeliveries?.().catch(() => undefined);
        if (counts) this.set(counts.pending);
      },
    });
    new Gauge({
      name: 'trove_webhook_deliveries_failed',
      help: 'Webhook deliveries that failed for good (still in the delivery log).',
      registers,
      async collect() {
        const counts = await sources().webhookDeliveries?.().catch(() => undefined);
        if (counts) this.set(counts.failed);
      },
    });
    new Gauge({
      name: 'trove_db_pool_connections',
      help: 'PostgreSQL pool connections by state (absent for SQLite).',
      labelNames: ['state'],
      registers,
      collect() {
        const pool = sources().databasePool?.();
        if (!pool) return;
        this.set({ state: 'total' }, pool.total);
        this.set({ state: 'idle' }, pool.idle);
        this.set({ state: 'waiting' }, pool.waiting);
      },
    });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'trove_' });
  }

  /** Connects the scrape-time sources once the services exist. */
  setSources(sources: MetricSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** For the database's query log. */
  observeQuery(durationMs: number, failed: boolean): void {
    this.queryLatency.observe({ outcome: failed ? 'error' : 'ok' }, durationMs / 1000);
  }
}
