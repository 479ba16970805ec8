import fs from 'node:fs';
import path from 'node:path';
import { downloadFile, listFiles, proxyLocation, type RemoteFile } from './artifacts.ts';
import { ModelDirectory, MODEL_INFO_FILE, type ModelInfo } from './model-dir.ts';
import { modelNameOf, type ModelUri } from './model-uri.ts';
import { createProgress, type ProgressSink } from './progress.ts';
import { resolveModel, type ResolvedModel } from './resolve.ts';
import { readSse } from './sse.ts';
import { TrackingApiError, TrackingClient } from './tracking-client.ts';

export interface PullOptions {
  uri: ModelUri;
  dest: string;
  trackingUri: string;
  force?: boolean;
  /** How long a replaced version stays on disk for readers still using it (ms). */
  graceMs?: number;
  /** Files downloaded at once. */
  concurrency?: number;
  quiet?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Status lines (stderr). */
  log?: (line: string) => void;
  /** One line per installed version (stdout). */
  announce?: (line: string) => void;
  progress?: ProgressSink;
}

export interface SyncResult {
  changed: boolean;
  info: ModelInfo;
  /** The version folder DEST points at. */
  directory: string;
}

/**
 * Keeps DEST equal to what a `models:/` URI resolves to: resolves it through the server,
 * downloads the version's files into a staging folder (sizes checked against the listing), and
 * swaps DEST over atomically. See ModelDirectory for the layout.
 */
export class ModelPuller {
  readonly client: TrackingClient;
  readonly directory: ModelDirectory;
  private readonly log: (line: string) => void;
  private readonly announce: (line: string) => void;
  private readonly progress: ProgressSink;
  private opened = false;

  constructor(private readonly options: PullOptions) {
    this.client = new TrackingClient({ trackingUri: options.trackingUri, ...(options.env ? { env: options.env } : {}) });
    this.directory = new ModelDirectory(options.dest, {
      ...(options.force !== undefined ? { force: options.force } : {}),
      ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
    });
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.announce = options.announce ?? ((line) => process.stdout.write(`${line}\n`));
    this.progress = options.progress ?? createProgress({ quiet: options.quiet ?? false });
  }

  /** Checks DEST and takes its lock. */
  async open(): Promise<void> {
    await this.directory.prepare();
    await this.directory.lock();
    this.opened = true;
  }

  async close(): Promise<void> {
    if (!this.opened) return;
    this.opened = false;
    await this.directory.unlock();
  }

  /** Brings DEST to what the URI names now. */
  async sync(signal?: AbortSignal): Promise<SyncResult> {
    const resolved = await resolveModel(this.client, this.options.uri, signal);
    const current = await this.directory.current();
    if (current && sameVersion(current, resolved)) {
      const target = await this.directory.currentTarget();
      return { changed: false, info: current, directory: path.join(this.directory.versionsDir, target ?? '') };
    }
    const info = await this.download(resolved, signal);
    await this.directory.cleanup().catch((error: unknown) => this.log(`Cleaning up old versions failed: ${String(error)}`));
    const previous = current ? ` (was version ${current.version})` : '';
    this.announce(`${this.directory.dest} now holds ${info.name} version ${info.version}${previous}.`);
    const target = await this.directory.currentTarget();
    return { changed: true, info, directory: path.join(this.directory.versionsDir, target ?? '') };
  }

  /** Deletes replaced versions whose grace period is over. */
  async cleanup(): Promise<void> {
    await this.directory.cleanup();
  }

  private async download(resolved: ResolvedModel, signal?: AbortSignal): Promise<ModelInfo> {
    const location = proxyLocation(resolved.artifactUri, this.client.baseUrl);
    const files = await listFiles(this.client, location, signal);
    if (files.length === 0) throw new Error(`No files found for ${resolved.name} version ${resolved.version} at ${resolved.artifactUri}.`);
    if (files.some((f) => f.path === MODEL_INFO_FILE)) {
      this.log(`Note: the model has its own ${MODEL_INFO_FILE}; it is replaced by the one trove models pull writes.`);
    }
    const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
    const staging = await this.directory.createStaging(resolved.version);
    const local = new AbortController();
    const abort = (): void => local.abort();
    signal?.addEventListener('abort', abort, { once: true });
    this.progress.start(`${resolved.name} v${resolved.version}`, files.length, totalBytes);
    try {
      await runPool(files, this.options.concurrency ?? 4, local, async (file) => {
        await downloadFile(this.client, location, file, safeJoin(staging, file.path), (n) => this.progress.bytes(n), local.signal);
        this.progress.fileDone(file.path, file.size);
      });
      this.progress.finish();
      await fsyncTree(staging);
      const info: ModelInfo = {
        model_uri: this.options.uri.uri,
        name: resolved.name,
        version: resolved.version,
        run_id: resolved.runId,
        source: resolved.source,
        artifact_uri: resolved.artifactUri,
        tracking_uri: this.client.baseUrl,
        downloaded_at: new Date().toISOString(),
        files: files.length,
        bytes: totalBytes,
      };
      await this.directory.install(staging, info);
      return info;
    } catch (error) {
      this.progress.interrupt();
      await this.directory.discardStaging(staging).catch(() => undefined);
      throw error;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }
}

function sameVersion(current: ModelInfo, resolved: ResolvedModel): boolean {
  return current.name === resolved.name && current.version === resolved.version && current.artifact_uri === resolved.artifactUri;
}

/** `file` under `root`, refusing anything that would leave it. */
function safeJoin(root: string, file: string): string {
  const target = path.resolve(root, file);
  if (!target.startsWith(root + path.sep)) throw new Error(`Refusing to write outside the model folder: ${file}`);
  return target;
}

/** Runs `work` over the files, `size` at a time; the first failure aborts the rest. */
async function runPool(files: RemoteFile[], size: number, abort: AbortController, work: (file: RemoteFile) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (failure === undefined && !abort.signal.aborted && next < files.length) {
      const file = files[next++]!;
      try {
        await work(file);
      } catch (error) {
        if (failure === undefined) failure = error;
        abort.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(size, files.length)) }, worker));
  if (failure !== undefined) throw failure;
  if (abort.signal.aborted) throw abortError();
}

async function fsyncTree(dir: string): Promise<void> {
  for (const entry of await fs.promises.readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await fsyncTree(path.join(dir, entry.name));
  }
  const handle = await fs.promises.open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
}

function abortError(): Error {
  const error = new Error('Stopped.');
  error.name = 'AbortError';
  return error;
}

function isAbort(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (error as { name?: string })?.name === 'AbortError';
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export interface WatchOptions {
  /** Checks every this often while the event stream is unavailable (ms). */
  pollIntervalMs?: number;
  /** A stream silent for this long (no event, no heartbeat) is reconnected (ms). */
  idleTimeoutMs?: number;
  /** Reconnect delays grow from this… (ms) */
  reconnectMinMs?: number;
  /** …up to this (ms). */
  reconnectMaxMs?: number;
  /** Events arriving within this window cause one check (ms). */
  debounceMs?: number;
}

/**
 * `--watch`: follows `/api/2.0/trove/registry/events?name=<model>` and re-syncs DEST whenever the
 * model changes. Reconnects with backoff (resuming with Last-Event-ID), checks once on every
 * (re)connect, polls while the stream is down, and polls for good when the server has no event
 * stream (an upstream MLflow server). Failed syncs are retried with backoff. Ends when `signal`
 * aborts.
 */
export class ModelWatcher {
  private readonly pollIntervalMs: number;
  private readonly idleTimeoutMs: number;
  private readonly reconnectMinMs: number;
  private readonly reconnectMaxMs: number;
  private readonly debounceMs: number;
  private checking: Promise<void> | undefined;
  private again = false;
  private debounce: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastEventId: string | undefined;
  private streamUp = false;

  constructor(
    private readonly puller: ModelPuller,
    private readonly modelName: string,
    private readonly signal: AbortSignal,
    private readonly log: (line: string) => void,
    options: WatchOptions = {},
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 30_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
    this.reconnectMinMs = options.reconnectMinMs ?? 1000;
    this.reconnectMaxMs = options.reconnectMaxMs ?? 30_000;
    this.debounceMs = options.debounceMs ?? 200;
  }

  async run(): Promise<void> {
    await this.check();
    const poller = this.pollWhileDown();
    await this.follow();
    clearTimeout(this.debounce);
    clearTimeout(this.retryTimer);
    await poller;
    await this.checking;
  }

  /** Asks for a check soon; bursts of events collapse into one. */
  requestCheck(): void {
    if (this.signal.aborted) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.check(), this.debounceMs);
  }

  private check(): Promise<void> {
    if (this.signal.aborted) return Promise.resolve();
    if (this.checking) {
      this.again = true;
      return this.checking;
    }
    this.checking = (async () => {
      do {
        this.again = false;
        try {
          await this.puller.sync(this.signal);
          await this.puller.cleanup().catch(() => undefined);
          this.failures = 0;
        } catch (error) {
          if (isAbort(error, this.signal)) return;
          this.failures++;
          const delay = Math.min(this.reconnectMaxMs, this.reconnectMinMs * 2 ** Math.min(this.failures - 1, 10));
          this.log(`Sync failed: ${(error as Error).message} (retrying in ${Math.round(delay / 1000)} s)`);
          clearTimeout(this.retryTimer);
          this.retryTimer = setTimeout(() => void this.check(), delay);
        }
      } while (this.again && !this.signal.aborted);
    })().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  /** Follows the event stream until aborted; returns early if the server has none. */
  private async follow(): Promise<void> {
    let delay = this.reconnectMinMs;
    let reported = false;
    const url = this.puller.client.url(`/api/2.0/trove/registry/events?${new URLSearchParams({ name: this.modelName }).toString()}`);
    while (!this.signal.aborted) {
      const connection = new AbortController();
      const stop = (): void => connection.abort();
      this.signal.addEventListener('abort', stop, { once: true });
      let idle: NodeJS.Timeout | undefined;
      const resetIdle = (): void => {
        clearTimeout(idle);
        idle = setTimeout(() => connection.abort(), this.idleTimeoutMs);
      };
      try {
        const response = await this.puller.client.request(url, {
          headers: { Accept: 'text/event-stream', ...(this.lastEventId !== undefined ? { 'Last-Event-ID': this.lastEventId } : {}) },
          signal: connection.signal,
        });
        const type = response.headers.get('content-type') ?? '';
        if ([404, 405, 501].includes(response.status) || (response.ok && !type.startsWith('text/event-stream'))) {
          await response.body?.cancel().catch(() => undefined);
          this.log(`The server has no registry event stream; checking every ${Math.round(this.pollIntervalMs / 1000)} s instead.`);
          this.streamUp = false;
          return;
        }
        if (!response.ok || !response.body) {
          await response.body?.cancel().catch(() => undefined);
          throw new TrackingApiError(`event stream answered HTTP ${response.status}`, response.status, undefined);
        }
        this.streamUp = true;
        delay = this.reconnectMinMs;
        if (reported) this.log('Event stream reconnected.');
        else this.log(`Watching ${this.modelName} for changes (event stream).`);
        reported = false;
        // Whatever changed before the stream was up (or while it was down) is caught here.
        this.requestCheck();
        resetIdle();
        for await (const item of readSse(response.body, connection.signal)) {
          resetIdle();
          if (item.kind !== 'message') continue;
          if (item.message.id !== undefined) this.lastEventId = item.message.id;
          this.requestCheck();
        }
      } catch (error) {
        if (this.signal.aborted) break;
        if (!reported) {
          const why = connection.signal.aborted ? 'no data or heartbeat for a while' : (error as Error).message;
          this.log(`Event stream lost (${why}); reconnecting, and checking every ${Math.round(this.pollIntervalMs / 1000)} s meanwhile.`);
          reported = true;
        }
      } finally {
        clearTimeout(idle);
        this.signal.removeEventListener('abort', stop);
        connection.abort();
        this.streamUp = false;
      }
      if (this.signal.aborted) break;
      await sleep(delay + Math.round(Math.random() * delay * 0.2), this.signal);
      delay = Math.min(this.reconnectMaxMs, delay * 2);
    }
  }

  /**
   * Checks at the poll interval whenever the stream is not up (for good once the server is known
   * to have none); while it is up, only deletes replaced versions whose grace period is over.
   */
  private async pollWhileDown(): Promise<void> {
    while (!this.signal.aborted) {
      await sleep(this.pollIntervalMs, this.signal);
      if (this.signal.aborted) break;
      if (!this.streamUp) void this.check();
      else await this.puller.cleanup().catch(() => undefined);
    }
  }
}

/** `trove models pull` without --watch: one sync. */
export async function pullOnce(options: PullOptions, signal?: AbortSignal): Promise<SyncResult> {
  const puller = new ModelPuller(options);
  await puller.open();
  try {
    const result = await puller.sync(signal);
    if (!result.changed) {
      (options.log ?? ((line: string) => process.stderr.write(`${line}\n`)))(
        `${puller.directory.dest} already holds ${result.info.name} version ${result.info.version}; nothing to do.`,
      );
    }
    return result;
  } finally {
    await puller.close();
  }
}

/** `trove models pull --watch`: sync, then follow the model until `signal` aborts. */
export async function pullAndWatch(options: PullOptions & WatchOptions, signal: AbortSignal): Promise<void> {
  const name = modelNameOf(options.uri);
  if (name === undefined) throw new Error('--watch follows a registered model; a logged model id (models:/m-…) never changes.');
  const puller = new ModelPuller(options);
  await puller.open();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  try {
    await new ModelWatcher(puller, name, signal, log, options).run();
  } finally {
    await puller.close();
  }
}
