import { randomUUID } from 'node:crypto';
import { TROVE_VERSION } from '../../version.ts';
import { signWebhookPayload } from './signature.ts';

/** MLflow's delivery headers (mlflow/webhooks/constants.py). */
export const DELIVERY_ID_HEADER = 'X-MLflow-Delivery-Id';
export const TIMESTAMP_HEADER = 'X-MLflow-Timestamp';
export const SIGNATURE_HEADER = 'X-MLflow-Signature';

/** How much of a receiver's answer is read (the rest is discarded unread). */
const MAX_RESPONSE_BYTES = 64 * 1024;

export type FetchFunction = typeof fetch;

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
  fetch?: FetchFunction;
  /** Clock for the X-MLflow-Timestamp header; ms since the epoch. */
  now?: () => number;
}

export interface SendResult {
  /** The receiver's HTTP status; null when no answer arrived (refused, timed out, DNS, …). */
  status: number | null;
  /** The first 64 KiB of the answer's body, as text. */
  body: string | null;
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
  try {
    const response = await doFetch(message.url, { method: 'POST', headers, body, redirect: 'manual', signal });
    const text = await readLimited(response);
    return {
      status: response.status,
      body: text,
      error: null,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), now()),
      aborted: false,
    };
  } catch (error) {
    const aborted = options.signal?.aborted === true;
    const timedOut = !aborted && timeout.aborted;
    return {
      status: null,
      body: null,
      error: timedOut ? `Request timed out after ${options.timeoutMs} ms.` : describeNetworkError(error),
      retryAfterMs: null,
      aborted,
    };
  }
}

async function readLimited(response: Response): Promise<string | null> {
  if (!response.body) return null;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_RESPONSE_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString('utf8');
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
  const err = error as { message?: string; cause?: { code?: string; message?: string } };
  const cause = err?.cause;
  if (cause?.code) return `${cause.code}: ${cause.message ?? err.message ?? 'request failed'}`;
  return err?.message ?? String(error);
}
