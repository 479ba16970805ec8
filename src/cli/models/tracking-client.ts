import { TROVE_VERSION } from '../../version.ts';

/**
 * How a request that got no answer failed: `not-sent` when the connection failed before the request
 * left (refused, unknown host, connect timeout) — repeating any request is safe — and `broken` when
 * it broke after the request may have reached the server (reset, broken pipe, the socket closed
 * while the answer was awaited or read): the server may have done the work, so only a request
 * that is safe to repeat may be sent again.
 */
export type ConnectionFailure = 'not-sent' | 'broken';

/** Error codes of connections that failed before anything was sent. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Error answers an MLflow server gives when its database was too busy to start the request: its
 * SQLAlchemy connection pool timed out waiting for a connection (the request's session never got
 * one, so nothing was read or written), or SQLite refused the write lock (the transaction was
 * rolled back). MLflow answers both with HTTP 400 although the client did nothing wrong; a target
 * whose database another writer holds (`trove export --target-db`, a busy team server) gives them
 * under load, and the same request succeeds moments later.
 */
const BUSY_DATABASE_ANSWERS = [/QueuePool limit of size \d+ overflow -?\d+ reached, connection timed out/, /\bdatabase is locked\b/];

/** Whether an error answer says the server's database was busy and the request was not applied. */
export function isBusyDatabaseAnswer(detail: string): boolean {
  return BUSY_DATABASE_ANSWERS.some((pattern) => pattern.test(detail));
}

/** An error answer of the tracking server, with MLflow's error code when it sent one. */
export class TrackingApiError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly errorCode: string | undefined,
    /** Without an answer (`status` null): whether the request may have reached the server. */
    readonly connection: ConnectionFailure | undefined = status === null ? 'broken' : undefined,
    /** An answer saying the server's database was too busy to apply the request (nothing was applied). */
    readonly busyDatabase = false,
  ) {
    super(message);
    this.name = 'TrackingApiError';
  }

  /** The server is unreachable or answered with a status worth trying again later. */
  get transient(): boolean {
    return this.status === null || this.status === 408 || this.status === 429 || this.status >= 500 || this.busyDatabase;
  }
}

export interface RetryOptions {
  /**
   * Whether the request may be sent twice (a read, or a write the server applies once however often
   * it comes): only then is a connection that broke after sending it retried. Default true.
   */
  repeatable?: boolean;
}

/**
 * Runs `work`, retrying transient failures (unreachable, 408, 429, 5xx, a busy-database answer) with exponential backoff
 * from 250 ms; a connection that broke after the request was sent (reset, broken pipe, closed while
 * the answer was read) only when the request is `repeatable`.
 */
export async function withTransientRetries<T>(work: () => Promise<T>, retries: number, options: RetryOptions = {}): Promise<T> {
  const repeatable = options.repeatable ?? true;
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof TrackingApiError) || !error.transient || attempt >= retries) throw error;
      if (!repeatable && error.connection === 'broken') throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
    }
  }
}

export interface TrackingClientOptions {
  trackingUri: string;
  /** Where MLFLOW_TRACKING_TOKEN / _USERNAME / _PASSWORD are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Timeout of one JSON call (ms). Downloads have no overall timeout. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * The calls `trove models pull` makes to a tracking server, with the MLflow client's
 * authentication: `MLFLOW_TRACKING_USERNAME` + `MLFLOW_TRACKING_PASSWORD` as Basic, else
 * `MLFLOW_TRACKING_TOKEN` as Bearer (Basic wins when both are set, as in the client).
 */
export class TrackingClient {
  readonly baseUrl: string;
  private readonly authorization: string | undefined;
  private readonly timeoutMs: number;
  private readonly doFetch: typeof fetch;

  constructor(options: TrackingClientOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.trackingUri);
    } catch {
      throw new Error(`Invalid tracking URI '${options.trackingUri}': expected http(s)://host:port.`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`Unsupported tracking URI '${options.trackingUri}': trove models pull talks to a tracking server over http(s).`);
    }
    this.baseUrl = options.trackingUri.replace(/\/+$/, '');
    const env = options.env ?? process.env;
    const user = env.MLFLOW_TRACKING_USERNAME;
    const password = env.MLFLOW_TRACKING_PASSWORD;
    if (user && password) this.authorization = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
    else if (env.MLFLOW_TRACKING_TOKEN) this.authorization = `Bearer ${env.MLFLOW_TRACKING_TOKEN}`;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.doFetch = options.fetch ?? fetch;
  }

  /** Headers every request carries. */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      'User-Agent': `trove-cli/${TROVE_VERSION}`,
      ...(this.authorization ? { Authorization: this.authorization } : {}),
      ...extra,
    };
  }

  url(path: string): string {
    return `${this.baseUrl}${path.startsWith('/') ? path : `/${path}`}`;
  }

  /** GET with query fields; the parsed JSON answer. */
  async get<T>(path: string, query: Record<string, string> = {}, signal?: AbortSignal): Promise<T> {
    const search = new URLSearchParams(query).toString();
    return this.json<T>('GET', `${this.url(path)}${search ? `?${search}` : ''}`, undefined, signal);
  }

  async post<T>(path: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
    return this.json<T>('POST', this.url(path), body, signal);
  }

  /** A raw request with the client's headers (downloads, the event stream). */
  async request(url: string, init: RequestInit & { signal?: AbortSignal } = {}): Promise<Response> {
    try {
      return await this.doFetch(url, { ...init, headers: this.headers((init.headers as Record<string, string> | undefined) ?? {}) });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw new TrackingApiError(`Cannot reach the tracking server at ${this.baseUrl}: ${describe(error)}`, null, undefined, connectionFailure(error));
    }
  }

  private async json<T>(method: string, url: string, body: Record<string, unknown> | undefined, signal?: AbortSignal): Promise<T> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const response = await this.request(url, {
      method,
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}),
      signal: combined,
    });
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      if (combined.aborted) throw error;
      // The answer had begun: the server got the request.
      throw new TrackingApiError(`${method} ${new URL(url).pathname}: the connection broke while the answer was read: ${describe(error)}`, null, undefined, 'broken');
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const error = parsed as { error_code?: string; message?: string } | undefined;
      const detail = error?.message ?? (text.slice(0, 200) || response.statusText);
      throw new TrackingApiError(
        `${method} ${new URL(url).pathname} failed with HTTP ${response.status}: ${detail}`,
        response.status,
        error?.error_code,
        undefined,
        response.status < 500 && isBusyDatabaseAnswer(detail),
      );
    }
    if (parsed === undefined || typeof parsed !== 'object' || parsed === null) {
      throw new TrackingApiError(`${method} ${new URL(url).pathname}: the answer was not a JSON object.`, response.status, undefined);
    }
    return parsed as T;
  }
}

/**
 * A raw answer's body as text; a connection that breaks while it is read is a
 * {@link TrackingApiError} without status (`broken`: the server got the request).
 */
export async function answerText(response: Response, what: string): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    throw new TrackingApiError(`${what}: the connection broke while the answer was read: ${describe(error)}`, null, undefined, 'broken');
  }
}

/** The error code of a failed fetch (undici puts the socket's error in `cause`, sometimes one level deeper). */
function errorCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: string; cause?: { code?: string } } })?.cause;
  return cause?.code ?? cause?.cause?.code;
}

/** Whether a fetch that failed without an answer may have reached the server. */
export function connectionFailure(error: unknown): ConnectionFailure {
  const code = errorCode(error);
  return code !== undefined && NOT_SENT_CODES.has(code) ? 'not-sent' : 'broken';
}

function describe(error: unknown): string {
  const err = error as { message?: string; cause?: { code?: string; message?: string } };
  if (err?.cause?.code) return `${err.cause.code}${err.cause.message ? ` (${err.cause.message})` : ''}`;
  return err?.message ?? String(error);
}
