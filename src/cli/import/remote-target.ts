import { createHash } from 'node:crypto';
import type { ImportPreview, ImportProgress } from '../../domain/import/import-service.ts';
import { ImportConflictError } from '../../domain/import/import-plan.ts';
import type { PollAnswer, PreviewJson, SourceCall } from '../../domain/import/remote-session.ts';
import { reportFromJson, type ImportReport } from '../../domain/import/report.ts';
import type { MigrationSource } from '../../domain/import/source.ts';
import { decodeWire, encodeWire } from '../../http/import-wire-json.ts';
import { TrackingApiError, TrackingClient } from '../models/tracking-client.ts';

export interface RemoteImportOptions {
  /** The Trove server, e.g. https://trove.example.com */
  to: string;
  project?: string;
  onConflict: string;
  remapIds: boolean;
  concurrency: number;
  skipArtifacts: boolean;
  skipRegistry: boolean;
  deleteMissing: boolean;
  experiments?: string[];
  dryRun: boolean;
}

/**
 * The credentials for the target Trove: TROVE_TOKEN when set (so a source needing
 * MLFLOW_TRACKING_TOKEN and a target needing another token can be used together), else the
 * MLflow client's variables as for any tracking server.
 */
export function targetEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (!env.TROVE_TOKEN) return env;
  const { MLFLOW_TRACKING_USERNAME: _u, MLFLOW_TRACKING_PASSWORD: _p, ...rest } = env;
  return { ...rest, MLFLOW_TRACKING_TOKEN: env.TROVE_TOKEN };
}

const POLL_WAIT_MS = 20_000;

/**
 * Drives an import session on a running Trove (`--to`): opens it, then polls for the source
 * reads the server-side import needs and answers them (files streamed as request bodies, with
 * their SHA-256 sent after the last byte), up to `concurrency` at a time, until the outcome.
 */
export async function importIntoServer(
  source: MigrationSource,
  options: RemoteImportOptions,
  progress: ImportProgress,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ report?: ImportReport; preview?: ImportPreview }> {
  const base = options.to.replace(/\/+$/, '') + (options.project ? `/projects/${encodeURIComponent(options.project)}` : '');
  const client = new TrackingClient({ trackingUri: base, env: targetEnv(env), timeoutMs: 120_000 });
  const api = '/api/2.0/trove/import/sessions';
  const opened = await client.post<{ session_id: string }>(api, {
    source: { key: source.key, description: source.description, warnings: source.warnings, traces: source.traceIds !== undefined && source.trace !== undefined },
    options: {
      on_conflict: options.onConflict,
      remap_ids: options.remapIds,
      concurrency: options.concurrency,
      skip_artifacts: options.skipArtifacts,
      skip_registry: options.skipRegistry,
      ...(options.deleteMissing ? { delete_missing: true } : {}),
      ...(options.experiments ? { experiments: options.experiments } : {}),
      dry_run: options.dryRun,
    },
  });
  const session = `${api}/${opened.session_id}`;
  const inFlight = new Set<Promise<void>>();
  /** A read the source refused (a --source-db of another server): the server's import fails on it, and this is the reason. */
  let refused: ImportConflictError | undefined;
  const waiting: Array<{ call_id: number } & SourceCall> = [];
  // Reads are answered up to `concurrency` at a time, plus one so the import never waits on a slot.
  const limit = options.concurrency + 1;
  const pump = () => {
    while (inFlight.size < limit && waiting.length > 0) {
      const call = waiting.shift()!;
      const work = answer(client, session, source, call, (error) => (refused ??= error)).finally(() => {
        inFlight.delete(work);
        pump();
      });
      inFlight.add(work);
    }
  };
  for (;;) {
    const polled = decodeWire(await client.post<PollAnswer>(`${session}/poll`, { wait_ms: waiting.length > 0 || inFlight.size >= limit ? 1000 : POLL_WAIT_MS })) as PollAnswer;
    for (const event of polled.events) replay(progress, event);
    waiting.push(...polled.calls);
    pump();
    const outcome = polled.outcome;
    if (!outcome) continue;
    await Promise.all(inFlight);
    switch (outcome.status) {
      case 'done':
        return { report: reportFromJson(outcome.report) };
      case 'preview':
        return { preview: previewFromJson(outcome.preview) };
      case 'refused':
        throw new ImportConflictError(outcome.message);
      case 'failed':
        if (refused) throw refused;
        throw new Error(`the import on ${options.to} failed: ${outcome.message}`);
    }
  }
}

function previewFromJson(json: PreviewJson): ImportPreview {
  return { ...json, runIdMap: new Map(json.runIdMap) };
}

function replay(progress: ImportProgress, event: PollAnswer['events'][number]): void {
  switch (event.type) {
    case 'phase':
      progress.phase(event.name, { items: event.items });
      break;
    case 'tick':
      for (let i = 0; i < event.items; i++) progress.item();
      if (event.points > 0) progress.points(event.points);
      if (event.bytes > 0) progress.bytes(event.bytes);
      break;
    case 'end_phase':
      progress.endPhase();
      break;
    case 'note':
      progress.note(event.message);
      break;
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function read(source: MigrationSource, call: SourceCall): Promise<unknown> {
  switch (call.method) {
    case 'experiments':
      return collect(source.experiments());
    case 'runs':
      return collect(source.runs(call.experiment_id));
    case 'metric_history':
      return source.metricHistory(call.run_id, call.key);
    case 'logged_models':
      return collect(source.loggedModels(call.experiment_ids));
    case 'registered_models':
      return collect(source.registeredModels());
    case 'model_versions':
      return source.modelVersions(call.name);
    case 'trace_ids':
      if (!source.traceIds) throw new Error('this source does not serve traces');
      {
        // The session takes ids only (it reads a held trace again to refresh it).
        const page = await source.traceIds(call.experiment_id, call.page_token);
        return { traceIds: page.traceIds, ...(page.nextPageToken !== undefined ? { nextPageToken: page.nextPageToken } : {}) };
      }
    case 'trace':
      if (!source.trace) throw new Error('this source does not serve traces');
      return source.trace(call.trace_id);
    case 'list_artifacts':
      return collect(source.listArtifacts(call.root, call.owner));
    case 'open_artifact':
      throw new Error('files are streamed, not answered');
  }
}

/** Answers one read; a source failure is sent as the answer's error, so the server reports it. */
async function answer(client: TrackingClient, session: string, source: MigrationSource, call: { call_id: number } & SourceCall, onRefusal: (error: ImportConflictError) => void): Promise<void> {
  const url = `${session}/calls/${call.call_id}`;
  try {
    if (call.method === 'open_artifact') {
      await sendFile(client, url, source, call);
      return;
    }
    const result = await read(source, call);
    await client.post(url, { result: encodeWire(result) });
  } catch (error) {
    if (error instanceof ImportConflictError) onRefusal(error);
    if (error instanceof TrackingApiError && error.status === 413) {
      // Too large for one request (a huge trace, say): the server never saw it, so it is told.
      await client.post(url, { error: 'the answer is too large for one request to the target server (HTTP 413)' }).catch(() => undefined);
      return;
    }
    if (error instanceof TrackingApiError && error.status !== null && error.status < 500) {
      // The server refused the answer (it says why); the import records that read as failed.
      return;
    }
    await client.post(url, { error: (error as Error).message }).catch(() => undefined);
  }
}

/** Streams one file as the body of `.../content`, then confirms it with the SHA-256 of what was sent. */
async function sendFile(client: TrackingClient, url: string, source: MigrationSource, call: Extract<SourceCall, { method: 'open_artifact' }>): Promise<void> {
  const opened = await source.openArtifact(call.root, call.owner, call.path);
  const hash = createHash('sha256');
  async function* body(): AsyncGenerator<Uint8Array> {
    for await (const chunk of opened.stream) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      hash.update(bytes);
      yield bytes;
    }
    // Before the body ends: the server lets the file in only once this digest matches its own.
    await client.post(url, { sha256: hash.digest('hex') });
  }
  const response = await client.request(client.url(`${url}/content`), {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: body() as unknown as BodyInit,
    duplex: 'half',
  } as RequestInit & { signal?: AbortSignal });
  const text = await response.text();
  if (!response.ok) {
    let message = text.slice(0, 300);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // not JSON: the raw text is the message
    }
    throw new TrackingApiError(`sending ${call.path} failed with HTTP ${response.status}: ${message}`, response.status, undefined);
  }
}
