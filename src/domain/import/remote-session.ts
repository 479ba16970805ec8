import { createHash, randomBytes } from 'node:crypto';
import { finished } from 'node:stream/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { MlflowError } from '../errors.ts';
import type { MetricRecord } from '../../store/tracking-store.ts';
import { ImportConflictError } from './import-plan.ts';
import type { ImportOptions, ImportPreview, ImportProgress, ImportService } from './import-service.ts';
import { reportToJson, type ReportJson } from './report.ts';
import type {
  ArtifactOwner,
  MigrationSource,
  OpenedArtifact,
  SourceArtifact,
  SourceExperiment,
  SourceLoggedModel,
  SourceModelVersion,
  SourceRegisteredModel,
  SourceRun,
  SourceTrace,
  SourceTracePage,
} from './source.ts';

/**
 * `trove import ... --to <Trove URL>`: the import runs inside the Trove server, with the same
 * {@link ImportService} (same state table, same resume and mirror behaviour) as an import
 * straight into a store, while the source stays where the command runs (an mlruns/ folder on a
 * laptop, an MLflow server only it can reach). The server cannot call the command, so the
 * command calls the server: it opens a session, then asks again and again which source reads
 * the import needs next (long polling) and answers each one, streaming artifact files as
 * request bodies. Everything the session asks is a {@link MigrationSource} method; the service
 * sees an ordinary source.
 */

/** One read the import needs from the source, as it travels to the command. */
export type SourceCall =
  | { method: 'experiments' }
  | { method: 'runs'; experiment_id: string }
  | { method: 'metric_history'; run_id: string; key: string }
  | { method: 'logged_models'; experiment_ids: string[] }
  | { method: 'registered_models' }
  | { method: 'model_versions'; name: string }
  | { method: 'trace_ids'; experiment_id: string; page_token?: string }
  | { method: 'trace'; trace_id: string }
  | { method: 'list_artifacts'; root: string; owner: ArtifactOwner }
  | { method: 'open_artifact'; root: string; owner: ArtifactOwner; path: string };

/** What the command is told about progress, in order (ticks are summed while it is away). */
export type ProgressEvent =
  | { type: 'phase'; name: string; items: number }
  | { type: 'tick'; items: number; points: number; bytes: number }
  | { type: 'end_phase' }
  | { type: 'note'; message: string };

export type PreviewJson = Omit<ImportPreview, 'runIdMap'> & { runIdMap: Array<[string, string]> };

export type SessionOutcome =
  | { status: 'done'; report: ReportJson }
  | { status: 'preview'; preview: PreviewJson }
  /** Refused before writing anything (a name or id conflict): the CLI exits with 2. */
  | { status: 'refused'; message: string }
  | { status: 'failed'; message: string };

export interface PollAnswer {
  calls: Array<{ call_id: number } & SourceCall>;
  events: ProgressEvent[];
  outcome?: SessionOutcome;
}

/** What the command says about the source when it opens a session. */
export interface RemoteSourceInfo {
  key: string;
  description: string;
  warnings: string[];
  /** Whether the source serves traces (the import then asks for them). */
  traces: boolean;
}

export interface SessionRequest {
  /** Who opened it (only they may drive it): the principal's name and kind. */
  owner: string;
  source: RemoteSourceInfo;
  options: ImportOptions;
  dryRun: boolean;
}

interface PendingCall {
  call: SourceCall;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  /** For open_artifact once its body arrives: the digest the command computed of what it sent. */
  digest?: { promise: Promise<string>; resolve: (sha256: string) => void };
  streaming?: boolean;
  digestGiven?: boolean;
}

/** The digest slot of a file call, made by whichever of its body and its digest arrives first. */
function digestSlot(entry: PendingCall): NonNullable<PendingCall['digest']> {
  if (!entry.digest) {
    let resolve!: (sha256: string) => void;
    const promise = new Promise<string>((r) => (resolve = r));
    entry.digest = { promise, resolve };
  }
  return entry.digest;
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SHA256 = /^[0-9a-f]{64}$/;
/** How long the server waits for the digest that follows a streamed file. */
const DIGEST_WAIT_MS = 60_000;

/** One import driven by one command. */
export class ImportSession implements ImportProgress {
  readonly id = randomBytes(16).toString('hex');
  lastSeen: number;
  private nextCallId = 1;
  private readonly pending = new Map<number, PendingCall>();
  private readonly queue: number[] = [];
  private events: ProgressEvent[] = [];
  private outcome: SessionOutcome | undefined;
  private wake: (() => void) | undefined;
  private aborted: Error | undefined;
  readonly source: MigrationSource;

  constructor(
    readonly request: SessionRequest,
    private readonly now: () => number,
  ) {
    this.lastSeen = now();
    this.source = new RemoteSource(this, request.source);
    this.done = new Promise<void>((resolve) => (this.settle = resolve));
  }

  get owner(): string {
    return this.request.owner;
  }

  get projectId(): number {
    return this.request.options.projectId;
  }

  get finished(): boolean {
    return this.outcome !== undefined;
  }

  /** Settles once the session's import has ended (whatever its outcome). */
  readonly done: Promise<void>;
  private settle!: () => void;

  /** Runs the import (or the preview) to its end; the outcome is handed to the next poll. */
  start(service: ImportService): Promise<void> {
    const work = this.request.dryRun
      ? service.preview(this.source, this.request.options).then((preview): SessionOutcome => ({ status: 'preview', preview: { ...preview, runIdMap: [...preview.runIdMap] } }))
      : service.run(this.source, this.request.options).then((report): SessionOutcome => ({ status: 'done', report: reportToJson(report) }));
    return work
      .catch((error: unknown): SessionOutcome => {
        const message = error instanceof Error ? error.message : String(error);
        return error instanceof ImportConflictError ? { status: 'refused', message } : { status: 'failed', message };
      })
      .then((outcome) => {
        this.outcome = outcome;
        this.notify();
        this.settle();
      });
  }

  /** Asks the command for one source read. */
  ask(call: SourceCall): Promise<unknown> {
    if (this.aborted) return Promise.reject(this.aborted);
    const id = this.nextCallId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { call, resolve, reject });
      this.queue.push(id);
      this.notify();
    });
  }

  /**
   * The command's poll: the reads asked since the last one, the progress, and the outcome once
   * the import has ended. Waits up to `waitMs` for something to say.
   */
  async poll(waitMs: number): Promise<PollAnswer> {
    this.lastSeen = this.now();
    if (this.queue.length === 0 && this.events.length === 0 && !this.outcome && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.wake = undefined;
          resolve();
        }, waitMs);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
      });
    }
    this.lastSeen = this.now();
    const calls = this.queue.splice(0).flatMap((id) => {
      const entry = this.pending.get(id);
      return entry ? [{ call_id: id, ...entry.call }] : [];
    });
    const events = this.events;
    this.events = [];
    // The outcome goes out only once every question has been answered and every event sent.
    return { calls, events, ...(this.outcome && calls.length === 0 ? { outcome: this.outcome } : {}) };
  }

  /** The command's answer to a read: its result, or why the source could not serve it. */
  answer(callId: number, answer: { result?: unknown; error?: string; sha256?: string }): void {
    this.lastSeen = this.now();
    const entry = this.pending.get(callId);
    if (!entry) throw MlflowError.notFound(`Import session ${this.id} has no open call ${callId}.`);
    if (typeof answer.error === 'string') {
      this.pending.delete(callId);
      entry.reject(new Error(answer.error));
      entry.digest?.resolve('');
      return;
    }
    if (entry.call.method === 'open_artifact') {
      if (typeof answer.sha256 !== 'string' || !SHA256.test(answer.sha256)) throw MlflowError.invalidParameter("'sha256' must be 64 lowercase hex digits.");
      if (entry.digestGiven) throw MlflowError.invalidParameter(`The file of call ${callId} already has its sha256.`);
      // The command sends the digest right after the last byte, on another connection, so it can
      // overtake the body's request (still in its auth hooks): keep it until the body arrives.
      entry.digestGiven = true;
      digestSlot(entry).resolve(answer.sha256);
      if (entry.streaming) this.pending.delete(callId);
      return;
    }
    if (!('result' in answer)) throw MlflowError.invalidParameter("An answer needs 'result' or 'error'.");
    let value: unknown;
    try {
      value = validateResult(entry.call, answer.result);
    } catch (error) {
      // A malformed answer fails that read in the import too, so it is reported, not retried forever.
      this.pending.delete(callId);
      entry.reject(error as Error);
      throw error;
    }
    this.pending.delete(callId);
    entry.resolve(value);
  }

  /**
   * The bytes of a file the import asked for, as a request body: handed to the import as the
   * source's stream, hashed on the way. The import only takes it once the command's own digest
   * of what it sent matches. Resolves when the import has consumed (and stored) the file.
   */
  async content(callId: number, body: Readable, size: number | null): Promise<{ bytes: number; sha256: string }> {
    this.lastSeen = this.now();
    const entry = this.pending.get(callId);
    if (!entry) throw MlflowError.notFound(`Import session ${this.id} has no open call ${callId}.`);
    if (entry.call.method !== 'open_artifact') throw MlflowError.invalidParameter(`Call ${callId} is a ${entry.call.method} call, not a file.`);
    if (entry.streaming) throw MlflowError.invalidParameter(`The file of call ${callId} is already being received.`);
    const digest = digestSlot(entry).promise;
    entry.streaming = true;
    const verifier = new VerifiedStream(digest, () => this.aborted);
    body.on('error', (error) => verifier.destroy(error));
    body.pipe(verifier);
    entry.resolve({ stream: verifier, size } satisfies OpenedArtifact);
    try {
      await finished(verifier);
    } catch (error) {
      body.unpipe(verifier);
      body.resume();
      this.pending.delete(callId);
      throw MlflowError.badRequest(`The file of call ${callId} was not stored: ${(error as Error).message}`);
    }
    this.pending.delete(callId);
    return { bytes: verifier.bytes, sha256: verifier.sha256 ?? '' };
  }

  /** Ends the session when its command went away: every open read fails, the import winds down. */
  abort(reason: string): void {
    if (this.aborted) return;
    this.aborted = new Error(reason);
    for (const [id, entry] of this.pending) {
      entry.reject(this.aborted);
      entry.digest?.resolve('');
      this.pending.delete(id);
    }
    this.queue.length = 0;
  }

  private notify(): void {
    this.wake?.();
  }

  // ImportProgress: kept for the next poll.
  phase(name: string, total: { items: number }): void {
    this.events.push({ type: 'phase', name, items: total.items });
    this.notify();
  }
  item(): void {
    this.tick({ items: 1 });
  }
  points(n: number): void {
    this.tick({ points: n });
  }
  bytes(n: number): void {
    this.tick({ bytes: n });
  }
  endPhase(): void {
    this.events.push({ type: 'end_phase' });
  }
  note(message: string): void {
    this.events.push({ type: 'note', message });
  }
  private tick(add: Partial<{ items: number; points: number; bytes: number }>): void {
    let last = this.events[this.events.length - 1];
    if (last?.type !== 'tick') {
      last = { type: 'tick', items: 0, points: 0, bytes: 0 };
      this.events.push(last);
    }
    last.items += add.items ?? 0;
    last.points += add.points ?? 0;
    last.bytes += add.bytes ?? 0;
  }
}

/** Hashes what passes and lets it end only when the sender's digest says the same. */
class VerifiedStream extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  sha256: string | undefined;

  constructor(
    private readonly expected: Promise<string>,
    private readonly aborted: () => Error | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.sha256 = this.hash.digest('hex');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('the sender never confirmed the file with its sha256')), DIGEST_WAIT_MS);
    });
    Promise.race([this.expected, timeout])
      .then((expected) => {
        const aborted = this.aborted();
        if (aborted) callback(aborted);
        else if (expected !== this.sha256) callback(new Error(`checksum mismatch: the sender hashed sha256 ${expected}, Trove received ${this.sha256}`));
        else callback();
      }, callback)
      .finally(() => clearTimeout(timer));
  }
}

/** The source the service sees: every read is a question to the command. */
class RemoteSource implements MigrationSource {
  readonly key: string;
  readonly description: string;
  readonly warnings: string[];
  readonly traceIds?: (experimentId: string, pageToken: string | undefined) => Promise<SourceTracePage>;
  readonly trace?: (traceId: string) => Promise<SourceTrace>;

  constructor(
    private readonly session: ImportSession,
    info: RemoteSourceInfo,
  ) {
    this.key = info.key;
    this.description = info.description;
    this.warnings = [...info.warnings];
    if (info.traces) {
      this.traceIds = async (experimentId, pageToken) =>
        (await this.session.ask({ method: 'trace_ids', experiment_id: experimentId, ...(pageToken !== undefined ? { page_token: pageToken } : {}) })) as SourceTracePage;
      this.trace = async (traceId) => (await this.session.ask({ method: 'trace', trace_id: traceId })) as SourceTrace;
    }
  }

  async *experiments(): AsyncIterable<SourceExperiment> {
    yield* (await this.session.ask({ method: 'experiments' })) as SourceExperiment[];
  }
  async *runs(experimentId: string): AsyncIterable<SourceRun> {
    yield* (await this.session.ask({ method: 'runs', experiment_id: experimentId })) as SourceRun[];
  }
  async metricHistory(runId: string, key: string): Promise<MetricRecord[]> {
    return (await this.session.ask({ method: 'metric_history', run_id: runId, key })) as MetricRecord[];
  }
  async *loggedModels(experimentIds: string[]): AsyncIterable<SourceLoggedModel> {
    yield* (await this.session.ask({ method: 'logged_models', experiment_ids: experimentIds })) as SourceLoggedModel[];
  }
  async *registeredModels(): AsyncIterable<SourceRegisteredModel> {
    yield* (await this.session.ask({ method: 'registered_models' })) as SourceRegisteredModel[];
  }
  async modelVersions(modelName: string): Promise<SourceModelVersion[]> {
    return (await this.session.ask({ method: 'model_versions', name: modelName })) as SourceModelVersion[];
  }
  async *listArtifacts(root: string, owner: ArtifactOwner): AsyncIterable<SourceArtifact> {
    yield* (await this.session.ask({ method: 'list_artifacts', root, owner })) as SourceArtifact[];
  }
  async openArtifact(root: string, owner: ArtifactOwner, path: string): Promise<OpenedArtifact> {
    return (await this.session.ask({ method: 'open_artifact', root, owner, path })) as OpenedArtifact;
  }
  async close(): Promise<void> {}
}

// ------------------------------------------------------------------ answer checks

function bad(call: SourceCall, what: string): MlflowError {
  return MlflowError.invalidParameter(`Malformed answer to ${call.method}: ${what}.`);
}

function list(call: SourceCall, value: unknown): Array<Record<string, unknown>> {
  if (!Array.isArray(value)) throw bad(call, "'result' must be a list");
  for (const item of value) if (!item || typeof item !== 'object' || Array.isArray(item)) throw bad(call, 'every item must be an object');
  return value as Array<Record<string, unknown>>;
}

function str(call: SourceCall, value: unknown, name: string, pattern?: RegExp): void {
  if (typeof value !== 'string' || (pattern && !pattern.test(value))) throw bad(call, `'${name}' ${pattern ? 'is not a valid id' : 'must be a string'}`);
}

function num(call: SourceCall, value: unknown, name: string): void {
  if (typeof value !== 'number') throw bad(call, `'${name}' must be a number`);
}

function keyValues(call: SourceCall, value: unknown, name: string): void {
  if (!Array.isArray(value) || value.some((t) => !t || typeof (t as { key?: unknown }).key !== 'string' || typeof (t as { value?: unknown }).value !== 'string')) {
    throw bad(call, `'${name}' must be a list of {key, value} strings`);
  }
}

/** A relative `/`-separated path that stays below its root. */
export function safeRelativePath(path: unknown): path is string {
  if (typeof path !== 'string' || path === '' || path.length > 4096 || path.startsWith('/') || path.includes('\\') || path.includes('\0')) return false;
  return path.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

/**
 * Checks an answer's shape where the import relies on it: ids become paths and keys, so they
 * must be plain; artifact paths must stay below their root; values must have their types.
 */
function validateResult(call: SourceCall, value: unknown): unknown {
  switch (call.method) {
    case 'experiments':
      for (const e of list(call, value)) {
        str(call, e.experimentId, 'experimentId', SAFE_ID);
        str(call, e.name, 'name');
        num(call, e.creationTime, 'creationTime');
        keyValues(call, e.tags, 'tags');
      }
      return value;
    case 'runs':
      for (const r of list(call, value)) {
        const info = r.info as Record<string, unknown> | undefined;
        if (!info || typeof info !== 'object') throw bad(call, "every run needs 'info'");
        str(call, info.runId, 'info.runId', SAFE_ID);
        str(call, info.artifactUri, 'info.artifactUri');
        num(call, info.startTime, 'info.startTime');
        keyValues(call, r.params, 'params');
        keyValues(call, r.tags, 'tags');
        for (const m of list(call, r.latestMetrics)) str(call, m.key, 'latestMetrics.key');
        list(call, r.datasetInputs);
        if (!Array.isArray(r.modelInputs) || !Array.isArray(r.modelOutputs)) throw bad(call, "'modelInputs' and 'modelOutputs' must be lists");
      }
      return value;
    case 'metric_history':
      for (const m of list(call, value)) {
        num(call, m.value, 'value');
        num(call, m.timestamp, 'timestamp');
        num(call, m.step, 'step');
      }
      return value;
    case 'logged_models':
      for (const m of list(call, value)) {
        str(call, m.modelId, 'modelId', SAFE_ID);
        str(call, m.experimentId, 'experimentId', SAFE_ID);
        str(call, m.name, 'name');
        str(call, m.artifactUri, 'artifactUri');
        keyValues(call, m.tags, 'tags');
        keyValues(call, m.params, 'params');
        list(call, m.metrics);
      }
      return value;
    case 'registered_models':
      for (const m of list(call, value)) {
        str(call, m.name, 'name');
        keyValues(call, m.tags, 'tags');
        if (!Array.isArray(m.aliases)) throw bad(call, "'aliases' must be a list");
      }
      return value;
    case 'model_versions':
      for (const v of list(call, value)) {
        if (!Number.isSafeInteger(v.version) || (v.version as number) < 1) throw bad(call, "'version' must be a positive whole number");
        str(call, v.source, 'source');
        keyValues(call, v.tags, 'tags');
      }
      return value;
    case 'list_artifacts':
      for (const f of list(call, value)) {
        if (!safeRelativePath(f.path)) throw bad(call, `'${String(f.path)}' is not a relative path below the artifact root`);
        if (f.size !== null && f.size !== undefined && (!Number.isSafeInteger(f.size) || (f.size as number) < 0)) throw bad(call, "'size' must be a byte count or null");
        if (f.sha256 !== undefined && (typeof f.sha256 !== 'string' || !SHA256.test(f.sha256))) throw bad(call, "'sha256' must be 64 lowercase hex digits");
      }
      return value;
    case 'trace_ids': {
      const page = object(call, value, 'result');
      if (!Array.isArray(page.traceIds)) throw bad(call, "'traceIds' must be a list");
      for (const id of page.traceIds) str(call, id, 'traceIds', SAFE_ID);
      if (page.nextPageToken !== undefined && page.nextPageToken !== null) str(call, page.nextPageToken, 'nextPageToken');
      return { traceIds: page.traceIds, ...(typeof page.nextPageToken === 'string' && page.nextPageToken !== '' ? { nextPageToken: page.nextPageToken } : {}) };
    }
    case 'trace':
      validateTrace(call, value, call.trace_id);
      return value;
    case 'open_artifact':
      throw bad(call, 'a file is sent as the body of .../content, not as a result');
  }
}

function object(call: SourceCall, value: unknown, name: string): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw bad(call, `'${name}' must be an object`);
  return value as Record<string, unknown>;
}

function stringRecord(call: SourceCall, value: unknown, name: string): void {
  const record = object(call, value, name);
  for (const v of Object.values(record)) if (typeof v !== 'string') throw bad(call, `every value of '${name}' must be a string`);
}

function optionalStr(call: SourceCall, value: unknown, name: string): void {
  if (value !== null && value !== undefined) str(call, value, name);
}

const TRACE_STATES = new Set(['OK', 'ERROR', 'IN_PROGRESS', 'STATE_UNSPECIFIED']);
/** An OTLP span id as MLflow keeps it in a span: 8 bytes in base64. */
const SPAN_ID = /^[A-Za-z0-9+/]{11}=$/;
const NANOS = /^\d{1,25}$/;

/**
 * A trace as the import writes it: the id it was asked for, its info's plain fields, and spans
 * whose ids, names and times the store and the trace views rely on.
 */
function validateTrace(call: SourceCall, value: unknown, traceId: string): void {
  const trace = object(call, value, 'result');
  const info = object(call, trace.info, 'info');
  if (info.traceId !== traceId) throw bad(call, `'info.traceId' must be the trace asked for (${traceId})`);
  num(call, info.requestTime, 'info.requestTime');
  if (info.executionDuration !== null) num(call, info.executionDuration, 'info.executionDuration');
  if (typeof info.state !== 'string' || !TRACE_STATES.has(info.state)) throw bad(call, "'info.state' is not a trace state");
  for (const name of ['clientRequestId', 'requestPreview', 'responsePreview'] as const) optionalStr(call, info[name], `info.${name}`);
  stringRecord(call, info.metadata, 'info.metadata');
  stringRecord(call, info.tags, 'info.tags');
  for (const a of list(call, info.assessments)) {
    object(call, a.body, 'assessments.body');
    if (a.assessmentId !== undefined) str(call, a.assessmentId, 'assessments.assessmentId', SAFE_ID);
    for (const name of ['createTime', 'lastUpdateTime'] as const) if (a[name] !== undefined) num(call, a[name], `assessments.${name}`);
  }
  for (const span of list(call, trace.spans)) {
    str(call, span.trace_id, 'spans.trace_id');
    str(call, span.span_id, 'spans.span_id', SPAN_ID);
    if (span.parent_span_id !== null) str(call, span.parent_span_id, 'spans.parent_span_id', SPAN_ID);
    str(call, span.name, 'spans.name');
    str(call, span.kind, 'spans.kind');
    str(call, span.start_time_unix_nano, 'spans.start_time_unix_nano', NANOS);
    if (span.end_time_unix_nano !== null) str(call, span.end_time_unix_nano, 'spans.end_time_unix_nano', NANOS);
    stringRecord(call, span.attributes, 'spans.attributes');
    const status = object(call, span.status, 'spans.status');
    str(call, status.code, 'spans.status.code');
    if (!Array.isArray(span.events) || !Array.isArray(span.links)) throw bad(call, "'spans.events' and 'spans.links' must be lists");
  }
}

/**
 * The open sessions of this server process. A session belongs to whoever opened it, in the
 * project it was opened in; one whose command has not polled for `idleMs` is ended (its reads
 * fail, what was complete stays imported, and running the command again resumes).
 */
export class ImportSessions {
  private readonly sessions = new Map<string, ImportSession>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly newService: (progress: ImportProgress) => ImportService,
    readonly defaultArtifactRoot: string,
    private readonly idleMs = 120_000,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(idleMs, 10_000)).unref();
  }

  /**
   * Opens a session and starts its import. Another user's running import of the same source into
   * the same project is a conflict; the same user's (a command killed and run again) is ended, and
   * the new import starts once it has wound down, so a resumed import never waits for the idle timeout.
   */
  open(request: SessionRequest): ImportSession {
    let previous: ImportSession | undefined;
    for (const s of this.sessions.values()) {
      if (!s.finished && s.request.source.key === request.source.key && s.projectId === request.options.projectId) {
        if (s.owner !== request.owner) {
          throw new MlflowError('RESOURCE_CONFLICT', `An import from ${request.source.description} into this project is already running (session ${s.id}).`);
        }
        previous = s;
      }
    }
    const session = new ImportSession(request, this.now);
    this.sessions.set(session.id, session);
    if (previous) {
      previous.abort(`replaced by a new import of the same source (session ${session.id})`);
      const replaced = previous;
      // The replaced session stays readable (its outcome says why it ended) until swept.
      void replaced.done.then(() => session.start(this.newService(session)));
    } else {
      void session.start(this.newService(session));
    }
    return session;
  }

  /** The session `id` if `owner` opened it in `projectId`; others answer as missing. */
  get(id: string, owner: string, projectId: number): ImportSession {
    const session = this.sessions.get(id);
    if (!session || session.owner !== owner || session.projectId !== projectId) throw MlflowError.notFound(`Import session '${id}' does not exist.`);
    return session;
  }

  /** Forgets a session whose outcome the command has read. */
  close(id: string): void {
    this.sessions.delete(id);
  }

  sweep(): void {
    const now = this.now();
    for (const [id, session] of this.sessions) {
      if (now - session.lastSeen <= this.idleMs) continue;
      if (session.finished) this.sessions.delete(id);
      else session.abort(`the importing command stopped polling for ${Math.round(this.idleMs / 1000)} s`);
    }
  }

  stop(): void {
    clearInterval(this.sweeper);
    for (const session of this.sessions.values()) session.abort('the server is shutting down');
  }
}
