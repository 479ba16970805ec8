import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { missingParameter } from '../domain/errors.ts';
import type { FileInfo } from '../domain/artifacts/artifact-service.ts';
import { clientFileBaseName, joinArtifactPath, normalizeArtifactPath, proxyPathFromArtifactUri } from '../domain/artifacts/artifact-path.ts';
import { checkProxyPath, PROJECTS_ROOT } from '../domain/artifacts/artifact-scope.ts';
import { DEFAULT_PROJECT, currentContext } from '../domain/request-context.ts';
import type { Services } from '../domain/services.ts';
import { int64, parseFields, requestFields, text } from './request-schema.ts';
import { sendArtifactFile } from './artifact-download.ts';

/**
 * The artifact proxy (MLflow's mlflow_artifacts.proto, "mlflow-artifacts") and the run artifact
 * listing `GET /mlflow/artifacts/list`. app.ts mounts this in its own encapsulated scope under
 * `/api/2.0` and `/ajax-api/2.0`.
 */

const ARTIFACTS = '/mlflow-artifacts/artifacts';
const MPU = '/mlflow-artifacts/mpu';
const UPLOAD_PART = `${MPU}/upload-part`;

const listSchema = z.object({ path: text.optional() });
const createMultipartSchema = z.object({ path: text, num_parts: int64.optional() });
const completeMultipartSchema = z.object({
  path: text,
  upload_id: text,
  parts: z.array(z.object({ part_number: int64, etag: text.optional(), url: text.optional() })),
});
const abortMultipartSchema = z.object({ path: text, upload_id: text });
const uploadPartSchema = z.object({ upload_id: text, part_number: int64 });
const runArtifactsSchema = z.object({
  run_id: text.optional(),
  run_uuid: text.optional(),
  path: text.optional(),
  page_token: text.optional(),
});

export async function artifactRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { artifacts } = services;
  // Files are not database rows: their audit entries follow the store's confirmation.
  const audited = async (action: string, path: string): Promise<void> => {
    await services.audit?.recordStandalone({ action, entityType: 'artifact', entityId: path });
  };

  // Bodies of these routes are raw bytes of any type (the client sends its guessed Content-Type,
  // e.g. application/json for a .json artifact) and may be gigabytes: no parser may read them,
  // and no body limit applies. Handlers stream `request.raw` straight to storage. A nested scope
  // keeps the JSON parser for the multipart POSTs below.
  await app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_request, _payload, done) => {
      done(null);
    });

    raw.put(`${ARTIFACTS}/*`, { config: { permission: 'write' } }, async (request) => {
      const path = projectPath(wildcard(request), 'write');
      await artifacts.upload(path, request.raw, contentLength(request));
      await audited('artifact.upload', path);
      return {};
    });

    raw.put(`${UPLOAD_PART}/*`, { config: { permission: 'write' } }, async (request, reply) => {
      const query = parseFields(uploadPartSchema, requestFields('GET', request.query, undefined));
      const etag = await artifacts.uploadPart(
        projectPath(wildcard(request), 'write'),
        query.upload_id,
        query.part_number,
        request.raw,
        contentLength(request),
      );
      // The MLflow client reads the part's etag from this header (S3 presigned-URL semantics).
      void reply.header('ETag', `"${etag}"`);
      return {};
    });

    // DELETE carries no meaningful body; living here, it accepts any Content-Type a client sends.
    raw.delete(`${ARTIFACTS}/*`, { config: { permission: 'delete' } }, async (request) => {
      const path = projectPath(wildcard(request), 'write', { directory: true });
      await artifacts.delete(path);
      await audited('artifact.delete', path);
      return {};
    });
  });

  app.get(`${ARTIFACTS}/*`, { config: { permission: 'read' } }, async (request, reply) => {
    return sendArtifactFile(reply, await artifacts.download(projectPath(wildcard(request), 'read')));
  });

  app.get(ARTIFACTS, { config: { permission: 'read' } }, async (request) => {
    const fields = parseFields(listSchema, requestFields(request.method, request.query, request.body));
    const path = normalizeArtifactPath(fields.path ?? '', { directory: true, allowRoot: true });
    // Another project's folder lists as an empty one, as a missing folder does.
    if (!checkProxyPath(path, 'list')) return {};
    let files = await artifacts.list(path);
    // The default project's root also holds the other projects' folders: not its to show.
    if (path === '' && currentContext().project.id === DEFAULT_PROJECT.id) files = files.filter((f) => f.path !== PROJECTS_ROOT);
    // Upstream omits empty repeated fields: an empty listing is `{}`.
    return files.length > 0 ? { files: files.map(presentFileInfo) } : {};
  });

  // The client posts to `<mpu>/create/<dir>`, or to `<mpu>/create/` when the run's artifact
  // root is the proxy root; register the bare form too so both reach the handler.
  for (const suffix of ['', '/*']) {
    app.post(`${MPU}/create${suffix}`, { config: { permission: 'write' } }, async (request) => {
      const fields = parseFields(createMultipartSchema, requestFields(request.method, request.query, request.body));
      const dir = projectPath(wildcard(request), 'write', { directory: true, allowRoot: true }, fields.path);
      const started = await artifacts.createMultipartUpload(dir, fields.path, fields.num_parts ?? 1);
      const base = `${serverOrigin(request)}${routePrefix(request, `${MPU}/create`)}${UPLOAD_PART}/${encodePath(started.path)}`;
      return {
        upload_id: started.uploadId,
        credentials: started.partNumbers.map((partNumber) => ({
          url: `${base}?upload_id=${encodeURIComponent(started.uploadId)}&part_number=${partNumber}`,
          part_number: partNumber,
          headers: {},
        })),
      };
    });

    app.post(`${MPU}/complete${suffix}`, { config: { permission: 'write' } }, async (request) => {
      const fields = parseFields(completeMultipartSchema, requestFields(request.method, request.query, request.body));
      const parts = fields.parts.map((part) => ({
        partNumber: part.part_number,
        // The client sends "" when the ETag header was missing: treat that as "not given".
        ...(part.etag ? { etag: part.etag } : {}),
      }));
      const dir = projectPath(wildcard(request), 'write', { directory: true, allowRoot: true }, fields.path);
      await artifacts.completeMultipartUpload(dir, fields.path, fields.upload_id, parts);
      await audited('artifact.upload', joinArtifactPath(dir, clientFileBaseName(fields.path)));
      return {};
    });

    app.post(`${MPU}/abort${suffix}`, { config: { permission: 'write' } }, async (request) => {
      const fields = parseFields(abortMultipartSchema, requestFields(request.method, request.query, request.body));
      const dir = projectPath(wildcard(request), 'write', { directory: true, allowRoot: true }, fields.path);
      await artifacts.abortMultipartUpload(dir, fields.path, fields.upload_id);
      return {};
    });
  }

  app.get('/mlflow/artifacts/list', { config: { permission: 'read' } }, async (request) => {
    const fields = parseFields(runArtifactsSchema, requestFields(request.method, request.query, request.body));
    const runId = fields.run_id ?? fields.run_uuid;
    if (runId === undefined || runId === '') throw missingParameter('run_id');
    // Upstream validates the path before looking the run up: a bad path is a 400 even for an
    // unknown run.
    if (fields.path !== undefined) normalizeArtifactPath(fields.path, { directory: true, allowRoot: true });
    const artifactUri = await services.tracking.getRunArtifactUri(runId);
    const runRoot = proxyPathFromArtifactUri(artifactUri);
    if (runRoot !== undefined && !checkProxyPath(runRoot, 'list')) return { root_uri: artifactUri };
    const listing = await artifacts.listRunArtifacts(artifactUri, fields.path);
    return {
      root_uri: listing.rootUri,
      ...(listing.files.length > 0 ? { files: listing.files.map(presentFileInfo) } : {}),
    };
  });
}

/**
 * A proxy path from the URL, normalised and checked against the request's project (see
 * domain/artifacts/artifact-scope.ts). For multipart calls the URL names the folder and the
 * target is the folder plus the basename of the client's file (`localFile`); both are checked.
 */
function projectPath(
  raw: string,
  access: 'read' | 'write',
  options: { directory?: boolean; allowRoot?: boolean } = {},
  localFile?: string,
): string {
  const path = normalizeArtifactPath(raw, options);
  checkProxyPath(localFile === undefined ? path : joinArtifactPath(path, clientFileBaseName(localFile)), access);
  return path;
}

/** MLflow's FileInfo wire shape: `file_size` only for files. */
function presentFileInfo(file: FileInfo): { path: string; is_dir: boolean; file_size?: number } {
  return file.isDir ? { path: file.path, is_dir: true } : { path: file.path, is_dir: false, file_size: file.fileSize ?? 0 };
}

/** The `*` of a wildcard route (already percent-decoded once by the router); '' when absent. */
function wildcard(request: FastifyRequest): string {
  const params = request.params;
  if (params !== null && typeof params === 'object' && '*' in params) {
    const value = (params as Record<string, unknown>)['*'];
    if (typeof value === 'string') return value;
  }
  return '';
}

function contentLength(request: FastifyRequest): number | undefined {
  const header = request.headers['content-length'];
  if (header === undefined || !/^\d+$/.test(header)) return undefined;
  return Number(header);
}

/** Host headers we are willing to echo into a URL: a name or IP literal and an optional port. */
const HOST_PATTERN = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * Where the client reached us, for URLs we hand back (multipart part uploads go to this server,
 * not to a presigned object-store URL). Built from the request's own Host header, so it is right
 * behind port mappings; an odd Host falls back to the socket's local address.
 */
function serverOrigin(request: FastifyRequest): string {
  const host = request.host;
  if (host && HOST_PATTERN.test(host)) return `${request.protocol}://${host}`;
  const address = request.socket.localAddress ?? '127.0.0.1';
  const hostPart = address.includes(':') ? `[${address}]` : address;
  return `${request.protocol}://${hostPart}:${request.socket.localPort ?? 80}`;
}

/** The URL path before `marker` (`/api/2.0`, `/ajax-api/2.0`, plus any prefix a proxy kept). */
function routePrefix(request: FastifyRequest, marker: string): string {
  // The URL as the client sent it, with any /projects/<name> or GitLab prefix the router stripped.
  const pathOnly = request.originalUrl.split('?')[0] ?? '';
  const index = pathOnly.indexOf(marker);
  return index > 0 ? pathOnly.slice(0, index) : '';
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
