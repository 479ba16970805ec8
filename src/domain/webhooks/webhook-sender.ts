import { randomUUID } from 'node:crypto';
import { TROVE_VERSION } from '../../version.ts';
import { signWebhookPayload } from './signature.ts';
import { DEFAULT_WEBHOOK_URL_POLICY } from './url-guard.ts';
import { fetchTransport, guardedTransport, type FetchFunction, type TransportResponse, type WebhookTransport } from './webhook-transport.ts';

/** MLflow's delivery headers (mlflow/webhooks/constants.py). */
export const DELIVERY_ID_HEADER = 'X-MLflow-Delivery-Id';
export const TIMESTAMP_HEADER = 'X-MLflow-Timestamp';
export const SIGNATURE_HEADER = 'X-MLflow-Signature';

/** How much of a receiver's answer the test endpoint shows (MLflow's `response_body`). */
const MAX_TEST_BODY_CHARS = 1024;

export type { FetchFunction } from './webhook-transport.ts';

export interface WebhookMessage {
  url: string;
  /** HMAC key; the request is signed when set. */
  secret: string | null;
  /** Stays the same across the retries of one delivery, so receivers can drop duplicates. */
  deliveryId?: string;
  entity: string;
  action: string;
  /** When the change happened, ms since the epoch (the payload's `timestamp`). */
  eventTimestamp: number;
  data: Record<string, unknown>;
}

export interface SendOptions {
  timeoutMs: number;
  /** Aborts the request early (server shutdown). */
  signal?: AbortSignal;
  /** How the request is sent: the guarded node:http transport in production. */
  transport?: WebhookTransport;
  /** A fetch function instead of a transport (tests); has no connect-time address check. */
  fetch?: FetchFunction;
  /** Clock for the X-MLflow-Timestamp header; ms since the epoch. */
  now?: () => number;
}

export interface SendResult {
  /** The receiver's HTTP status; null when no answer arrived (refused, timed out, DNS, …). */
  status: number | null;
  /** The start of the answer's body as text (at most 1 KiB), for the test endpoint only. */
  body: string | null;
  /**
   * What the answer looked like without its content ("HTTP 200, 8 bytes, text/plain"): the only
   * part of an answer the delivery log keeps, so the log never echoes what a receiver said.
   */
  summary: string | null;
  /** What went wrong when no answer arrived. */
  error: string | null;
  /** The receiver's Retry-After, in ms, when it sent a usable one. */
  retryAfterMs: number | null;
  /** True when the request was cut short by `signal` (not the receiver's fault). */
  aborted: boolean;
}

/**
 * ISO-8601 UTC as Python's `datetime.now(timezone.utc).isoformat()` writes it (what upstream
 * puts in the payload): microseconds and a `+00:00` offset, which `datetime.fromisoformat` reads
 * on every Python version (a trailing `Z` only from 3.11).
 */
export function pythonIsoTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

/** The exact body MLflow delivers: `{entity, action, timestamp, data}`. */
export function webhookBody(message: Pick<WebhookMessage, 'entity' | 'action' | 'eventTimestamp' | 'data'>): string {
  return JSON.stringify({
    entity: message.entity,
    action: message.action,
    timestamp: pythonIsoTimestamp(message.eventTimestamp),
    data: message.data,
  });
}

/**
 * Sends one webhook request, once (retries are the caller's business): POST with the JSON body,
 * the delivery id, the unix-seconds timestamp and, with a secret, the HMAC signature. Redirects
 * are not followed (a 3xx is reported as the answer). Never throws for network trouble; the
 * outcome is in the result.
 */
export async function sendWebhook(message: WebhookMessage, options: SendOptions): Promise<SendResult> {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const body = webhookBody(message);
  const deliveryId = message.deliveryId ?? randomUUID();
  const timestamp = String(Math.floor(now() / 1000));
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': `Trove-Webhooks/${TROVE_VERSION}`,
    [DELIVERY_ID_HEADER]: deliveryId,
    [TIMESTAMP_HEADER]: timestamp,
  };
  if (message.secret) headers[SIGNATURE_HEADER] = signWebhookPayload(message.secret, deliveryId, timestamp, body);

  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const transport = options.transport ?? (options.fetch ? fetchTransport(options.fetch) : guardedTransport(DEFAULT_WEBHOOK_URL_POLICY));
  try {
    const response = await transport(message.url, { headers, body, signal });
    return {
      status: response.status,
      body: response.body.byteLength > 0 ? response.body.toString('utf8').slice(0, MAX_TEST_BODY_CHARS) : null,
      summary: summarizeResponse(response),
      error: null,
      retryAfterMs: parseRetryAfter(response.retryAfter, now()),
      aborted: false,
    };
  } catch (error) {
    const aborted = options.signal?.aborted === true;
    const timedOut = !aborted && timeout.aborted;
    return {
      status: null,
      body: null,
      summary: null,
      error: timedOut ? `Request timed out after ${options.timeoutMs} ms.` : describeNetworkError(error),
      retryAfterMs: null,
      aborted,
    };
  }
}

/** "HTTP 200, 8 bytes, text/plain": the shape of an answer, never its content. */
export function summarizeResponse(response: Pick<TransportResponse, 'status' | 'bodyBytes' | 'contentType'>): string {
  const type = response.contentType?.split(';')[0]?.trim().replace(/[^\w.+/-]/g, '').slice(0, 60);
  const size = response.bodyBytes === 0 ? 'empty body' : `${response.bodyBytes} bytes`;
  return `HTTP ${response.status}, ${size}${type ? `, ${type}` : ''}`;
}

/** Retry-After as seconds or as an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: number): number | null {
  if (header === null) return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

function describeNetworkError(error: unknown): string {
  const err = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const cause = err?.cause;
  if (cause?.code) return `${cause.code}: ${cause.message ?? err.message ?? 'request failed'}`;
  if (err?.code && err.message && !err.message.startsWith(err.code)) return `${err.code}: ${err.message}`;
  return err?.message ?? String(error);
}
