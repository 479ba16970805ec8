import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { MlflowError } from '../domain/errors.ts';
import type { Services } from '../domain/services.ts';
import { handleError } from './error-handler.ts';
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

export interface AppOptions {
  services: Services;
  /** pino logger options, or false for silence (tests). */
  logger?: boolean | object;
  /** Folder of the built web UI; defaults to web/dist. */
  webDistDir?: string;
  /** Timings of the registry event stream (heartbeat, reconnect delay). */
  eventStream?: EventRoutesOptions;
}

/** JSON request bodies above this are refused; log-batch has its own, smaller MLflow limit. */
const JSON_BODY_LIMIT = 16 * 1024 * 1024;

/**
 * Builds the HTTP application: MLflow's REST API under /api/2.0 and its UI mirror /ajax-api/2.0,
 * the artifact proxy, and the server probes. One error handler renders every failure as MLflow
 * error JSON.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    // Per-request info lines cost more than the requests themselves under ingest load.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: JSON_BODY_LIMIT,
    // Large artifact transfers can take a while; never cut a slow client off mid-stream.
    requestTimeout: 0,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 4096 },
  });

  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send(new MlflowError('ENDPOINT_NOT_FOUND', `No API endpoint ${request.method} ${request.url.split('?')[0]}.`).toJSON());
  });

  // MLflow treats an empty JSON body as {}; a body that is not JSON is a client mistake.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const textBody = typeof body === 'string' ? body : body.toString('utf8');
    if (textBody.trim() === '') {
      done(null, {});
      return;
    }
    try {
      done(null, JSON.parse(textBody));
    } catch (error) {
      done(new MlflowError('MALFORMED_REQUEST', `Malformed JSON request body: ${(error as Error).message}`), undefined);
    }
  });

  const { services } = options;
  for (const prefix of ['/api/2.0', '/ajax-api/2.0']) {
    await app.register(
      async (api) => {
        await experimentRoutes(api, services);
        await runRoutes(api, services);
        await metricRoutes(api, services);
        await loggedModelRoutes(api, services);
        await registryRoutes(api, services);
        await troveRegistryRoutes(api, services);
        if (services.webhooks) await webhookRoutes(api, services.webhooks);
        await api.register(async (artifactScope) => artifactRoutes(artifactScope, services));
      },
      { prefix },
    );
  }
  await serverRoutes(app, services);
  for (const prefix of ['/api/2.0/trove', '/ajax-api/2.0/trove']) {
    await app.register(async (api) => troveUiRoutes(api, services), { prefix });
    if (services.webhooks) await app.register(async (api) => webhookDeliveryRoutes(api, services.webhooks!), { prefix });
    if (services.registryEvents) {
      await app.register(async (api) => registryEventRoutes(api, services.registryEvents!, options.eventStream), { prefix });
    }
  }
  // The web UI last: its catch-all GET serves the app for every path no API route claimed.
  await webRoutes(app, options.webDistDir === undefined ? {} : { distDir: options.webDistDir });
  return app;
}
