/**
 * The one HTTP client of the UI. Every failure becomes an ApiError carrying MLflow's
 * `{error_code, message}` (or a synthetic code for network and non-JSON failures), so every page
 * shows the server's own words.
 */

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

async function request<T>(method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    const init: RequestInit = { method, headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { Accept: 'application/json', 'Content-Type': 'application/json' };
    }
    if (signal) init.signal = signal;
    response = await fetch(url, init);
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError('NETWORK_ERROR', `Could not reach the server (${(error as Error).message}).`, 0);
  }
  const text = await response.text();
  if (!response.ok) throw parseApiError(response.status, text);
  if (text.trim() === '') return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError('BAD_RESPONSE', `The server answered ${url} with something that is not JSON.`, response.status);
  }
}

/** MLflow tracking/registry RPCs under the UI's /ajax-api mirror. */
export const MLFLOW = '/ajax-api/2.0/mlflow';
/** Trove's own UI endpoints. */
export const TROVE = '/ajax-api/2.0/trove';
/** The artifact proxy. */
export const ARTIFACTS = '/ajax-api/2.0/mlflow-artifacts/artifacts';

export const api = {
  get<T>(url: string, query: Record<string, QueryValue> = {}, signal?: AbortSignal): Promise<T> {
    return request<T>('GET', url + toQueryString(query), undefined, signal);
  },
  post<T>(url: string, body: unknown = {}, signal?: AbortSignal): Promise<T> {
    return request<T>('POST', url, body, signal);
  },
  patch<T>(url: string, body: unknown = {}): Promise<T> {
    return request<T>('PATCH', url, body);
  },
  delete<T>(url: string, body: unknown = {}): Promise<T> {
    return request<T>('DELETE', url, body);
  },
  /** Raw text of a file (artifact previews). */
  async text(url: string, signal?: AbortSignal): Promise<string> {
    const response = await fetch(url, signal ? { signal } : {});
    const text = await response.text();
    if (!response.ok) throw parseApiError(response.status, text);
    return text;
  },
};

/** Turns any thrown value into a readable message. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.toString();
  if (error instanceof Error) return error.message;
  return String(error);
}
