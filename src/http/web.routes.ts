import fs from 'node:fs';
import path from 'node:path';
import { projectSelectionOf } from './auth-hooks.ts';
import { packageRoot } from '../package-root.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { mimeTypes } from '../domain/artifacts/mime-types.ts';

/** Where `npm run build:web` writes the single-page app. */
export const DEFAULT_WEB_DIST = path.join(packageRoot(), 'web', 'dist');

/** Paths that belong to the APIs: never answered with the app's index.html. */
const API_PREFIXES = ['/api/', '/ajax-api/', '/graphql', '/get-artifact', '/model-versions/get-artifact', '/static-files/'];

/** Vite puts content-hashed bundles here: safe to cache for a year. */
const HASHED_ASSETS = '/assets/';

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Trove</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;color:#222}code{background:#f2f2f2;padding:.1rem .3rem;border-radius:3px}</style>
</head><body>
<h1>Trove is running</h1>
<p>The MLflow REST API answers under <code>/api/2.0/mlflow/</code>, but the web UI has not been built yet.</p>
<p>Build it once from the repository root and reload this page:</p>
<pre><code>npm ci
npm run build:web</code></pre>
<p><code>npm start</code> builds it automatically when <code>web/dist</code> is missing.</p>
<p>Point the MLflow client here with <code>export MLFLOW_TRACKING_URI=&lt;this server's URL&gt;</code>.</p>
</body></html>
`;

export interface WebRoutesOptions {
  /** Folder holding the built app (index.html + assets/); defaults to web/dist of this checkout. */
  distDir?: string;
}

function isApiPath(urlPath: string): boolean {
  // Any spelling a client could mean as an API call (`//api/…`, `/API/…`) gets JSON, never the page.
  const normal = urlPath.replace(/^\/{2,}/, '/').toLowerCase();
  return API_PREFIXES.some((prefix) => normal === prefix.replace(/\/$/, '') || normal.startsWith(prefix));
}

/** Resolves a URL path to a file inside `root`, or undefined when it would leave it or is not a file. */
function resolveFile(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const candidate = path.resolve(root, `.${path.posix.normalize(decoded)}`);
  if (candidate !== root && !candidate.startsWith(root + path.sep)) return undefined;
  try {
    return fs.statSync(candidate).isFile() ? candidate : undefined;
  } catch {
    return undefined;
  }
}

function sendFile(reply: FastifyReply, file: string, cacheControl: string): FastifyReply {
  const stat = fs.statSync(file);
  const etag = `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
  const request = reply.request;
  void reply
    .header('Content-Type', mimeTypes().contentType(path.extname(file)) || 'application/octet-stream')
    .header('Cache-Control', cacheControl)
    .header('ETag', etag)
    .header('X-Content-Type-Options', 'nosniff');
  if (request.headers['if-none-match'] === etag) return reply.status(304).send();
  void reply.header('Content-Length', String(stat.size));
  return reply.send(fs.createReadStream(file));
}

/**
 * Serves the web UI from the same process as the API: files of web/dist as they are, and
 * index.html for every other non-API GET so deep links (/experiments/1/runs/abc) load the app.
 * Register after the API routes; their static paths take precedence over this wildcard.
 */
export async function webRoutes(app: FastifyInstance, options: WebRoutesOptions = {}): Promise<void> {
  const root = path.resolve(options.distDir ?? DEFAULT_WEB_DIST);

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const urlPath = request.url.split('?')[0] ?? '/';
    // GitLab's URL form (/api/v4/projects/<id>/ml/mlflow/...) is an API prefix: nothing under it is a page.
    if (isApiPath(urlPath) || viaGitlab(request)) return reply.callNotFound();
    const index = path.join(root, 'index.html');
    if (!fs.existsSync(index)) {
      return reply.status(urlPath === '/' ? 200 : 404).type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(NOT_BUILT_PAGE);
    }
    if (urlPath !== '/') {
      const file = resolveFile(root, urlPath);
      if (file) {
        const immutable = urlPath.startsWith(HASHED_ASSETS);
        return sendFile(reply, file, immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      }
      // A missing bundle is a real 404, not the app: a stale tab asking for an old hash must fail
      // loudly. Other paths may hold dots (model names), so they get the app.
      if (urlPath.startsWith(HASHED_ASSETS)) {
        return reply.status(404).type('text/plain; charset=utf-8').send('Not found');
      }
    }
    // index.html names the current hashed bundles, so it must always be revalidated.
    return sendFile(reply, index, 'no-cache');
  };

  app.get('/', { config: { permission: 'public' } }, handler);
  app.get('/*', { config: { permission: 'public' } }, handler);
}

function viaGitlab(request: FastifyRequest): boolean {
  try {
    return projectSelectionOf(request)?.via === 'gitlab';
  } catch {
    // A contradictory workspace header: not GitLab's form (that one is checked by id later).
    return false;
  }
}
