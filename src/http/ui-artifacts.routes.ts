import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MlflowError, missingParameter } from '../domain/errors.ts';
import type { Services } from '../domain/services.ts';
import { OwnedArtifacts } from '../domain/artifacts/owned-artifacts.ts';
import { normalizeArtifactPath } from '../domain/artifacts/artifact-path.ts';
import { parsePromptlabRunRequest, PromptlabRuns } from '../domain/tracking/promptlab-run.ts';
import { presentRun } from './presenters.ts';
import { sendArtifactFile } from './artifact-download.ts';

/**
 * The routes MLflow's web UI uses to show, download and upload artifacts, at the URLs MLflow
 * serves them:
 *
 * - `GET /get-artifact?run_id=|run_uuid=&path=`: a run's file;
 * - `GET /model-versions/get-artifact?name=&version=&path=`: a registered version's file;
 * - `GET /ajax-api/2.0/mlflow/logged-models/<id>/artifacts/files?artifact_file_path=`;
 * - `GET /{api,ajax-api}/2.0/mlflow/logged-models/<id>/artifacts/directories?artifact_directory_path=`
 *   (a proto RPC, hence both prefixes);
 * - `POST /ajax-api/2.0/mlflow/upload-artifact?run_uuid=|run_id=&path=` with the file as the raw body
 *   (at most 10 MB, as upstream);
 * - `POST /ajax-api/2.0/mlflow/runs/create-promptlab-run`.
 *
 * Files are streamed from storage with MLflow's Content-Type choice and an attachment
 * Content-Disposition; paths go through the artifact service's rules (never outside the owner's
 * root or the request's project; see domain/artifacts/owned-artifacts.ts).
 */

/** Upstream's limit for the UI's upload (`upload_artifact_handler`). */
export const UI_UPLOAD_MAX_BYTES = 10 * 1024 * 1024;

export async function uiArtifactRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const owned = new OwnedArtifacts(services);
  const promptlab = new PromptlabRuns(services);

  app.get('/get-artifact', { config: { permission: 'read' } }, async (request, reply) => {
    const runId = queryValue(request, 'run_id') || queryValue(request, 'run_uuid');
    const path = requiredPath(request, 'path');
    if (!runId) throw missingParameter('run_id');
    return sendArtifactFile(reply, await owned.openRunFile(runId, path));
  });

  app.get('/model-versions/get-artifact', { config: { permission: 'read' } }, async (request, reply) => {
    const path = requiredPath(request, 'path');
    const name = queryValue(request, 'name');
    const version = queryValue(request, 'version');
    if (!name) throw missingParameter('name');
    if (!version) throw missingParameter('version');
    return sendArtifactFile(reply, await owned.openModelVersionFile(name, version, path));
  });

  app.get('/ajax-api/2.0/mlflow/logged-models/:model_id/artifacts/files', { config: { permission: 'read' } }, async (request, reply) => {
    const path = queryValue(request, 'artifact_file_path');
    if (!path) throw new MlflowError('BAD_REQUEST', 'Request must include the "artifact_file_path" query parameter.');
    normalizeArtifactPath(path);
    return sendArtifactFile(reply, await owned.openLoggedModelFile(modelIdOf(request), path));
  });

  app.get('/api/2.0/mlflow/logged-models/:model_id/artifacts/directories', { config: { permission: 'read' } }, async (request) => {
    const listing = await owned.listLoggedModel(modelIdOf(request), queryValue(request, 'artifact_directory_path'));
    return {
      root_uri: listing.rootUri,
      ...(listing.files.length > 0
        ? { files: listing.files.map((f) => (f.isDir ? { path: f.path, is_dir: true } : { path: f.path, is_dir: false, file_size: f.fileSize ?? 0 })) }
        : {}),
    };
  });

  app.post('/ajax-api/2.0/mlflow/runs/create-promptlab-run', { config: { permission: 'write' } }, async (request) => {
    const body = request.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw MlflowError.invalidParameter('CreatePromptlabRun request must be a JSON object.');
    }
    const run = await promptlab.create(parsePromptlabRunRequest(body as Record<string, unknown>, Date.now()));
    return { run: presentRun(run) };
  });

  // The upload's body is the file itself, of any Content-Type (or none): no parser may read it.
  await app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_request, _payload, done) => {
      done(null);
    });
    raw.post('/ajax-api/2.0/mlflow/upload-artifact', { config: { permission: 'write' } }, async (request) => {
      // MLflow 3.18 takes run_id too; the message is the one MLflow's own tests expect.
      const runId = queryValue(request, 'run_uuid') || queryValue(request, 'run_id');
      if (!runId) throw MlflowError.invalidParameter('Request must specify run_uuid.');
      const path = queryValue(request, 'path');
      if (!path) throw MlflowError.invalidParameter('Request must specify path.');
      normalizeArtifactPath(path);
      const declared = contentLength(request);
      if (declared !== undefined && declared > UI_UPLOAD_MAX_BYTES) throw tooLarge();
      const body = declared === 0 ? undefined : await nonEmptyBody(request.raw, UI_UPLOAD_MAX_BYTES);
      if (!body) throw MlflowError.invalidParameter('Request must specify data.');
      await owned.uploadRunFile(runId, path, body, declared);
      return {};
    });
  });
}

function tooLarge(): MlflowError {
  return MlflowError.invalidParameter(`Artifact size is too large. Max size is ${UI_UPLOAD_MAX_BYTES / (1024 * 1024)}MB.`);
}

/**
 * The body as a stream that fails past `limit` bytes (for uploads without a Content-Length), or
 * undefined when it is empty. Only the first chunk is read before deciding.
 */
async function nonEmptyBody(raw: NodeJS.ReadableStream & AsyncIterable<Buffer | string>, limit: number): Promise<Readable | undefined> {
  const chunks = raw[Symbol.asyncIterator]();
  const first = await chunks.next();
  if (first.done) return undefined;
  async function* limited(): AsyncGenerator<Buffer> {
    let total = 0;
    let next: IteratorResult<Buffer | string> = first;
    while (!next.done) {
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      total += chunk.length;
      if (total > limit) throw tooLarge();
      yield chunk;
      next = await chunks.next();
    }
  }
  return Readable.from(limited());
}

/** A query parameter's first value ('' when absent). */
function queryValue(request: FastifyRequest, name: string): string {
  const query = request.query as Record<string, unknown> | undefined;
  const value = query?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : '';
}

/** The relative file path parameter, validated before anything is looked up (as upstream). */
function requiredPath(request: FastifyRequest, name: string): string {
  const path = queryValue(request, name);
  if (!path) throw missingParameter(name);
  normalizeArtifactPath(path);
  return path;
}

function modelIdOf(request: FastifyRequest): string {
  return (request.params as { model_id: string }).model_id;
}

function contentLength(request: FastifyRequest): number | undefined {
  const header = request.headers['content-length'];
  if (header === undefined || !/^\d+$/.test(header)) return undefined;
  return Number(header);
}
