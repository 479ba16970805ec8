/**
 * The one HTTP client of the UI. Every failure becomes an ApiError carrying MLflow's
 * `{error_code, message}` (or a synthetic code for network and non-JSON failures), so every page
 * shows the server's own words.
 *
 * Every API path is sent under the page's project prefix (`/projects/<name>/ajax-api/...`, see
 * project-paths.ts); writes carry the session's CSRF token; a 401 sends the user to the login page.
 */

import { apiUrlFor, projectFromPath } from './project-paths.ts';

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status: number) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
  }

  /** "CODE: message", as MLflow's UI shows errors. */
  override toString(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** Parses an error response body into an ApiError; pure, for tests. */
export function parseApiError(status: number, bodyText: string): ApiError {
  try {
    const body = JSON.parse(bodyText) as unknown;
    if (body && typeof body === 'object') {
      const record = body as Record<string, unknown>;
      const code = typeof record.error_code === 'string' ? record.error_code : `HTTP_${status}`;
      const message = typeof record.message === 'string' ? record.message : bodyText.slice(0, 300);
      return new ApiError(code, message, status);
    }
  } catch {
    // not JSON: fall through
  }
  const text = bodyText.trim().slice(0, 300);
  return new ApiError(`HTTP_${status}`, text || `Request failed with status ${status}`, status);
}

export type QueryValue = string | number | boolean | undefined | null | Array<string | number>;

/** Builds a query string the way the MLflow client does: repeated keys for lists. */
export function toQueryString(query: Record<string, QueryValue>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const item of value) params.append(key, String(item));
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Per-request options for calls that are not ordinary project API calls. */
export interface RequestOptions {
  signal?: AbortSignal | undefined;
  /** Instance-level endpoints (sign-in, the project list) skip the project prefix. */
  project?: false;
  /** The login form handles its own 401 (wrong password) instead of going to the login page. */
  handleUnauthorized?: false;
}

/** The CSRF token of the web session (from sign-in or GET .../auth/session); sent on every write. */
let csrfToken: string | undefined;
/** The header the server checks it in (src/http/auth-hooks.ts, CSRF_HEADER). */
export const CSRF_HEADER = 'X-CSRF-Token';

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

let unauthorizedHandler: ((error: ApiError) => void) | undefined;

/** What to do when the API answers 401 (the session is gone): the app sends the user to the login page. */
export function onUnauthorized(handler: ((error: ApiError) => void) | undefined): void {
  unauthorizedHandler = handler;
}

/** Refreshes the CSRF token (a write answered "invalid CSRF token", e.g. after signing in again in another tab). */
let csrfRefresher: (() => Promise<string | undefined>) | undefined;
export function onCsrfRefresh(refresh: (() => Promise<string | undefined>) | undefined): void {
  csrfRefresher = refresh;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The project of the page being shown (`/projects/<name>/...`), undefined for the default one. */
function pageProject(): string | undefined {
  return typeof window === 'undefined' ? undefined : projectFromPath(window.location.pathname);
}

/** A URL as the browser should request it: API paths get the page's project prefix. */
export function projectUrl(url: string): string {
  return apiUrlFor(url, pageProject());
}

/** Whether an error is the server refusing a write for a missing or stale CSRF token. */
export function isCsrfError(error: ApiError): boolean {
  return error.status === 403 && /csrf/i.test(error.message);
}

async function send(method: string, url: string, body: unknown, signal: AbortSignal | undefined): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  if (!SAFE_METHODS.has(method) && csrfToken) headers[CSRF_HEADER] = csrfToken;
  if (signal) init.signal = signal;
  try {
    return await fetch(url, init);
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError('NETWORK_ERROR', `Could not reach the server (${(error as Error).message}).`, 0);
  }
}

function requestUrl(path: string, options: RequestOptions): string {
  return options.project === false ? path : projectUrl(path);
}

async function request<T>(method: string, path: string, body: unknown, options: RequestOptions = {}): Promise<T> {
  const url = requestUrl(path, options);
  const tokenSent = csrfToken;
  let response = await send(method, url, body, options.signal);
  let text = await response.text();
  if (!response.ok && !SAFE_METHODS.has(method) && csrfRefresher && isCsrfError(parseApiError(response.status, text))) {
    // The session's token changed (signed in again elsewhere): fetch it and try once more.
    const fresh = await csrfRefresher().catch(() => undefined);
    if (fresh && fresh !== tokenSent) {
      csrfToken = fresh;
      response = await send(method, url, body, options.signal);
      text = await response.text();
    }
  }
  if (!response.ok) {
    const error = parseApiError(response.status, text);
    if (response.status === 401 && options.handleUnauthorized !== false) unauthorizedHandler?.(error);
    throw error;
  }
  if (text.trim() === '') return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError('BAD_RESPONSE', `The server answered ${url} with something that is not JSON.`, response.status);
  }
}

/** MLflow tracking/registry RPCs under the UI's /ajax-api mirror (the page's project prefix is added per call). */
export const MLFLOW = '/ajax-api/2.0/mlflow';
/** Trove's own UI endpoints. */
export const TROVE = '/ajax-api/2.0/trove';
/** The artifact proxy. */
export const ARTIFACTS = '/ajax-api/2.0/mlflow-artifacts/artifacts';

/** GETs started before the page that needs them rendered (api.prefetch), by URL. */
const prefetched = new Map<string, Promise<unknown>>();
/** An unclaimed prefetch is forgotten after this long (the page never asked, or asks again later). */
const PREFETCH_TTL_MS = 30_000;

export const api = {
  /** A GET; one that api.prefetch started for the same URL is taken over instead of sent again. */
  get<T>(url: string, query: Record<string, QueryValue> = {}, signal?: AbortSignal, options: RequestOptions = {}): Promise<T> {
    const path = url + toQueryString(query);
    const key = requestUrl(path, options);
    const pending = options.handleUnauthorized === undefined ? prefetched.get(key) : undefined;
    if (pending) {
      prefetched.delete(key);
      // A failed prefetch is sent again as an ordinary request (which then handles a 401).
      return (pending as Promise<T>).catch(() => request<T>('GET', path, undefined, { ...options, signal }));
    }
    return request<T>('GET', path, undefined, { ...options, signal });
  },
  /**
   * Starts a GET before the page that needs it renders (the app knows from the URL what the page
   * will ask first); the page's own api.get of the same URL takes it over, once. Returns the answer
   * too, so a prefetch can start what depends on it.
   */
  prefetch<T>(url: string, query: Record<string, QueryValue> = {}, options: Pick<RequestOptions, 'project'> = {}): Promise<T> {
    const path = url + toQueryString(query);
    const key = requestUrl(path, options);
    const existing = prefetched.get(key);
    if (existing) return existing as Promise<T>;
    // A 401 is left to the page's own request to act on.
    const pending = request<T>('GET', path, undefined, { ...options, handleUnauthorized: false });
    pending.catch(() => undefined);
    prefetched.set(key, pending);
    setTimeout(() => {
      if (prefetched.get(key) === pending) prefetched.delete(key);
    }, PREFETCH_TTL_MS);
    return pending;
  },
  post<T>(url: string, body: unknown = {}, signal?: AbortSignal, options: RequestOptions = {}): Promise<T> {
    return request<T>('POST', url, body, { ...options, signal });
  },
  patch<T>(url: string, body: unknown = {}, options: RequestOptions = {}): Promise<T> {
    return request<T>('PATCH', url, body, options);
  },
  delete<T>(url: string, body: unknown = {}, options: RequestOptions = {}): Promise<T> {
    return request<T>('DELETE', url, body, options);
  },
  /** Raw text of a file (artifact previews). */
  async text(url: string, signal?: AbortSignal): Promise<string> {
    const response = await fetch(projectUrl(url), signal ? { signal, credentials: 'same-origin' } : { credentials: 'same-origin' });
    const text = await response.text();
    if (!response.ok) {
      const error = parseApiError(response.status, text);
      if (response.status === 401) unauthorizedHandler?.(error);
      throw error;
    }
    return text;
  },
};

/** Turns any thrown value into a readable message. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.toString();
  if (error instanceof Error) return error.message;
  return String(error);
}
