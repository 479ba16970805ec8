import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { MlflowError } from '../domain/errors.ts';
import type { Services } from '../domain/services.ts';
import { handleError } from './error-handler.ts';
import { clientErrorHandler, frameworkErrorHandler } from './client-errors.ts';
import { installRequestMetrics, prometheusRoutes } from './prometheus.routes.ts';
import type { ServerMetrics } from './prometheus.ts';
import { installAccessLog } from './access-log.ts';
import { aliasAjaxApi, clientUrl } from './ajax-alias.ts';
import { experimentRoutes } from './experiments.routes.ts';
import { runRoutes } from './runs.routes.ts';
import { metricRoutes } from './metrics.routes.ts';
import { loggedModelRoutes } from './logged-models.routes.ts';
import { artifactRoutes } from './artifacts.routes.ts';
import { serverRoutes } from './server.routes.ts';
import { registryRoutes } from './registry.routes.ts';
import { troveRegistryRoutes } from './trove-registry.routes.ts';
import { troveUiRoutes } from './trove-ui.routes.ts';
import { webhookDeliveryRoutes, webhookRoutes } from './webhooks.routes.ts';
import { registryEventRoutes, type EventRoutesOptions } from './events.routes.ts';
import { webRoutes } from './web.routes.ts';
import { installAuthHooks, requestIdOf, rewriteProjectUrl } from './auth-hooks.ts';
import { authRoutes } from './auth.routes.ts';
import { importRoutes } from './import.routes.ts';
import { mlflowAuthRoutes, mlflowAuthRoutesV3 } from './mlflow-auth.routes.ts';
import { AuthService } from '../domain/auth/auth-service.ts';
import { parseJsonBody } from './json-body.ts';
import { graphqlRoutes } from './graphql/graphql.routes.ts';
import { uiArtifactRoutes } from './ui-artifacts.routes.ts';
import { traceRoutesV2, traceRoutesV3 } from './traces.routes.ts';
import { otlpRoutes } from './otlp.routes.ts';
import { evaluationDatasetRoutes } from './evaluation-datasets.routes.ts';

export interface AppOptions {
  services: Services;
  /** pino logger options, or false for silence (tests). */
  logger?: boolean | object;
  /** Folder of the built web UI; defaults to web/dist. */
  webDistDir?: string;
  /** Timings of the registry event stream (heartbeat, reconnect delay). */
  eventStream?: EventRoutesOptions;
  /**
   * Whom to believe about the client's address and protocol (X-Forwarded-For/-Proto): Fastify's
   * `trustProxy` (true, or addresses/CIDRs). Off by default. Behind a reverse proxy,
   * set it so rate limits and the audit log see the real address and session cookies get Secure.
   */
  trustProxy?: boolean | string;
  /** Prometheus metrics of this server (GET /metrics); none when absent. */
  metrics?: ServerMetrics;
  /** TROVE_METRICS_TOKEN: a bearer token /metrics requires. */
  metricsToken?: string;
  /** One info line per request (default true; TROVE_ACCESS_LOG=off turns it off). */
  accessLog?: boolean;
}

/** JSON request bodies above this are refused; log-batch has its own, smaller MLflow limit. */
const JSON_BODY_LIMIT = 16 * 1024 * 1024;

/**
 * Builds the HTTP application: MLflow's REST API under /api/2.0 and its UI mirror /ajax-api/2.0
 * (one set of routes: ajax-alias.ts),
 * the artifact proxy, and the server probes. One error handler renders every failure as MLflow
 * error JSON.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: withRedaction(options.logger ?? false),
    // `/projects/<name>/...` and GitLab's `/api/v4/projects/<id>/ml/mlflow/...` reach the same
    // routes as the bare URL; the project they name is kept for the auth hook. `/ajax-api/2.0`
    // and `/ajax-api/3.0` reach the routes registered once under `/api/` (ajax-alias.ts).
    rewriteUrl: (raw) => aliasAjaxApi(raw, rewriteProjectUrl(raw)),
    genReqId: (raw) => requestIdOf(raw),
    // Per-request info lines cost more than the requests themselves under ingest load.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: JSON_BODY_LIMIT,
    // Large artifact transfers can take a while; never cut a slow client off mid-stream.
    requestTimeout: 0,
    // Fastify's plugin timeout arms a 10 s timer for every plugin and for every route (each route
    // is an avvio `after` step): hundreds of timers set and cleared during a start. The plugins
    // here are async functions that do no I/O, so none can hang.
    pluginTimeout: 0,
    trustProxy: options.trustProxy ?? false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 4096 },
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  });

  app.setErrorHandler(handleError);
  // Before the auth hooks, so a request refused there is still measured and logged.
  if (options.metrics) installRequestMetrics(app, options.metrics);
  if (options.accessLog !== false) installAccessLog(app);
  // Before any route: every route must declare a permission, and every request is checked.
  const auth = options.services.auth ?? AuthService.openWithoutStore();
  installAuthHooks(app, auth);
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send(new MlflowError('ENDPOINT_NOT_FOUND', `No API endpoint ${request.method} ${clientUrl(request).split('?')[0]}.`).toJSON());
  });

  // MLflow treats an empty JSON body as {}; a body that is not JSON is a client mistake.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const parsed = parseJsonBody(typeof body === 'string' ? body : body.toString('utf8'));
    if ('error' in parsed) done(parsed.error, undefined);
    else done(null, parsed.value);
  });

  const { services } = options;
  await app.register(
    async (api) => {
      await experimentRoutes(api, services);
      await runRoutes(api, services);
      await metricRoutes(api, services);
      await loggedModelRoutes(api, services);
      await registryRoutes(api, services);
      await troveRegistryRoutes(api, services);
      if (services.webhooks) await webhookRoutes(api, services.webhooks);
      if (services.auth) await mlflowAuthRoutes(api, services.auth, services);
      if (services.tracing) await traceRoutesV2(api, services.tracing);
      await api.register(async (artifactScope) => artifactRoutes(artifactScope, services));
    },
    { prefix: '/api/2.0' },
  );
  await serverRoutes(app, services);
  if (options.metrics) await prometheusRoutes(app, options.metrics, { token: options.metricsToken });
  if (services.tracing) {
    await app.register(async (api) => traceRoutesV3(api, services.tracing!), { prefix: '/api/3.0' });
    await otlpRoutes(app, services.tracing);
  }
  if (services.auth) {
    await app.register(async (api) => mlflowAuthRoutesV3(api, services.auth!, services), { prefix: '/api/3.0' });
  }
  if (services.evaluationDatasets) {
    await app.register(async (api) => evaluationDatasetRoutes(api, services.evaluationDatasets!), { prefix: '/api/3.0' });
  }
  const trovePrefix = { prefix: '/api/2.0/trove' };
  await app.register(async (api) => troveUiRoutes(api, services), trovePrefix);
  await app.register(async (api) => authRoutes(api, auth, services.audit), trovePrefix);
  if (services.imports) await app.register(async (api) => importRoutes(api, services.imports!, services.audit), trovePrefix);
  if (services.webhooks) await app.register(async (api) => webhookDeliveryRoutes(api, services.webhooks!), trovePrefix);
  if (services.registryEvents) {
    await app.register(async (api) => registryEventRoutes(api, services.registryEvents!, options.eventStream), trovePrefix);
  }
  // MLflow's GraphQL endpoint and the MLflow UI's artifact download/upload routes.
  await graphqlRoutes(app, services);
  await app.register(async (scope) => uiArtifactRoutes(scope, services));
  // The web UI last: its catch-all GET serves the app for every path no API route claimed.
  await webRoutes(app, options.webDistDir === undefined ? {} : { distDir: options.webDistDir });
  return app;
}

/** Headers and fields that carry credentials never reach the log. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'body.password',
  'body.new_password',
  'body.current_password',
  'body.token',
];

function withRedaction(logger: boolean | object): boolean | object {
  if (logger === false) return false;
  const base = logger === true ? {} : logger;
  return { ...base, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
}
