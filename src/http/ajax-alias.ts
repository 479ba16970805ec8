import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';

/**
 * `/ajax-api/2.0/...` and `/ajax-api/3.0/...` (the URLs MLflow's web UI calls) serve the same
 * routes as `/api/2.0/...` and `/api/3.0/...`. Rather than registering every route twice (twice
 * the router nodes, closures and compiled schemas, ~6 MiB of heap), the router sees the `/api/`
 * form: `aliasAjaxApi` rewrites the URL before routing (Fastify's rewriteUrl) and remembers on the
 * raw request that the client used `/ajax-api/`, so what reports the URL back (404 messages, the
 * access log, metric labels, the 401 challenge) still says what the client sent.
 *
 * A few UI routes exist only under `/ajax-api/` (src/http/ui-artifacts.routes.ts, GraphQL's
 * `/ajax-api/graphql`); their URLs are left as they are, so `/api/` never reaches them.
 */
const AJAX_PREFIX = /^\/ajax-api\/(?=[23]\.0\/)/;
const AJAX_ONLY = /^\/ajax-api\/2\.0\/mlflow\/(?:logged-models\/[^/?#]+\/artifacts\/files|runs\/create-promptlab-run|upload-artifact)\/?(?:[?#]|$)/;

const VIA_AJAX = Symbol('trove.viaAjaxApi');
type RawWithAlias = IncomingMessage & { [VIA_AJAX]?: true };

/** `url` (already without any project prefix) as the router should see it. */
export function aliasAjaxApi(raw: IncomingMessage, url: string): string {
  if (!AJAX_PREFIX.test(url) || AJAX_ONLY.test(url)) return url;
  (raw as RawWithAlias)[VIA_AJAX] = true;
  return url.replace(AJAX_PREFIX, '/api/');
}

/** The `/ajax-api/` URL that also reaches a route registered at `url`, if any. */
export function ajaxAliasOf(url: string): string | undefined {
  return /^\/api\/[23]\.0\//.test(url) ? `/ajax-api/${url.slice('/api/'.length)}` : undefined;
}

/** Whether the client called an `/ajax-api/` URL (the web UI). */
export function viaAjaxApi(request: FastifyRequest): boolean {
  return (request.raw as RawWithAlias)[VIA_AJAX] === true || request.url.startsWith('/ajax-api/');
}

/** `/api/...` back to `/ajax-api/...` when the client sent the latter (a URL or route pattern). */
export function asClientSent(request: FastifyRequest, url: string): string {
  return (request.raw as RawWithAlias)[VIA_AJAX] === true && url.startsWith('/api/') ? `/ajax-api/${url.slice('/api/'.length)}` : url;
}

/** The request's URL (query string included) as the client sent it, minus any project prefix. */
export function clientUrl(request: FastifyRequest): string {
  return asClientSent(request, request.url);
}
