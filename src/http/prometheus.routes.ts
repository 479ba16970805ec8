import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MlflowError } from '../domain/errors.ts';
import { safeEqual } from '../domain/auth/secrets.ts';
import type { ServerMetrics } from './prometheus.ts';
import { asClientSent } from './ajax-alias.ts';
import { logBatchBodyOf } from './log-batch-body.ts';

export interface PrometheusOptions {
  /** When set (TROVE_METRICS_TOKEN), a scrape must send `Authorization: Bearer <token>`. */
  token?: string | undefined;
}

const UNMATCHED = '<unmatched>';

/** The route pattern (`/api/2.0/mlflow/runs/get`), never the raw URL: ids would explode the label set. */
function routeOf(request: FastifyRequest): string {
  const url = request.routeOptions.url;
  return url === undefined ? UNMATCHED : asClientSent(request, url);
}

function isEventStream(route: string): boolean {
  return route.endsWith('/registry/events') || route.endsWith('/events/stream');
}

/**
 * GET /metrics in Prometheus' text format, and the hooks that measure every request by route
 * pattern and status (generic: routes registered later by other features are measured too).
 */
export function installRequestMetrics(app: FastifyInstance, metrics: ServerMetrics): void {
  app.addHook('onRequest', async (request) => {
    const route = routeOf(request);
    metrics.inFlight.inc({ route });
    if (isEventStream(route)) metrics.sseClients.inc();
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = routeOf(request);
    const status = String(reply.statusCode);
    metrics.inFlight.dec({ route });
    if (isEventStream(route)) metrics.sseClients.dec();
    metrics.requests.inc({ method: request.method, route, status });
    metrics.latency.observe({ method: request.method, route, status }, reply.elapsedTime / 1000);
    if (reply.statusCode < 300 && route.includes('mlflow-artifacts')) {
      if (request.method === 'PUT') metrics.artifactBytes.inc({ direction: 'in' }, Number(request.headers['content-length']) || 0);
      if (request.method === 'GET') metrics.artifactBytes.inc({ direction: 'out' }, Number(reply.getHeader('content-length')) || 0);
    }
    if (reply.statusCode === 200 && request.method === 'POST') {
      if (route.endsWith('/mlflow/runs/log-metric')) metrics.ingestPoints.inc();
      else if (route.endsWith('/mlflow/runs/log-batch')) {
        const batch = request.body as { metrics?: unknown } | undefined;
        const points = logBatchBodyOf(batch)?.metrics.length ?? (Array.isArray(batch?.metrics) ? batch.metrics.length : 0);
        if (points > 0) metrics.ingestPoints.inc(points);
      }
    }
  });
}

/** GET /metrics (register after the auth hooks: it declares its permission like every route). */
export async function prometheusRoutes(app: FastifyInstance, metrics: ServerMetrics, options: PrometheusOptions = {}): Promise<void> {
  app.get('/metrics', { config: { permission: 'public' } }, async (request, reply) => {
    if (options.token) {
      const header = request.headers.authorization ?? '';
      const sent = header.toLowerCase().startsWith('bearer ') ? header.slice(7).trim() : '';
      if (!sent || !safeEqual(sent, options.token)) {
        throw new MlflowError('UNAUTHENTICATED', 'The metrics endpoint needs `Authorization: Bearer <TROVE_METRICS_TOKEN>`.', {
          headers: { 'WWW-Authenticate': 'Bearer realm="trove-metrics"' },
        });
      }
    }
    const body = await metrics.render();
    return reply.header('Content-Type', metrics.contentType).header('Cache-Control', 'no-store').send(body);
  });
}
