import http from 'node:http';
import https from 'node:https';
import { guardedLookup, checkWebhookUrlSyntax, systemResolver, type Resolver, type WebhookUrlPolicy } from './url-guard.ts';

/** One POST to a receiver: what goes out. */
export interface TransportRequest {
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
}

/** What came back: the status, a few headers and the first `maxBodyBytes` of the body. */
export interface TransportResponse {
  status: number;
  retryAfter: string | null;
  contentType: string | null;
  /** The start of the body (at most the transport's limit). */
  body: Buffer;
  /** How many body bytes were read before the limit (or the whole body, when shorter). */
  bodyBytes: number;
}

/** Sends one request; rejects on network trouble (refused, DNS, blocked address, abort). */
export type WebhookTransport = (url: string, request: TransportRequest) => Promise<TransportResponse>;

export type FetchFunction = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; redirect: 'manual'; signal: AbortSignal },
) => Promise<Response>;

/** How much of a receiver's answer is read (the rest is discarded unread). */
export const MAX_RESPONSE_BYTES = 16 * 1024;

/**
 * The production transport: node:http(s) with the URL policy checked before the request and the
 * resolved address checked at connect time (`guardedLookup`). Redirects are never followed.
 */
export function guardedTransport(policy: WebhookUrlPolicy, resolve: Resolver = systemResolver): WebhookTransport {
  const lookup = guardedLookup(policy, resolve);
  return (rawUrl, request) =>
    new Promise<TransportResponse>((resolve, reject) => {
      let url: URL;
      try {
        url = checkWebhookUrlSyntax(rawUrl, policy);
      } catch (error) {
        reject(error);
        return;
      }
      const client = url.protocol === 'https:' ? https : http;
      const body = Buffer.from(request.body, 'utf8');
      const outgoing = client.request(
        url,
        {
          method: 'POST',
          headers: { ...request.headers, 'Content-Length': String(body.byteLength) },
          lookup,
          signal: request.signal,
          // A fresh connection per delivery: a pooled socket would skip the connect-time check.
          agent: false,
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const finish = (): void => {
            incoming.destroy();
            resolve({
              status: incoming.statusCode ?? 0,
              retryAfter: headerValue(incoming.headers['retry-after']),
              contentType: headerValue(incoming.headers['content-type']),
              body: Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES),
              bodyBytes: Math.min(size, MAX_RESPONSE_BYTES),
            });
          };
          incoming.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            size += chunk.byteLength;
            if (size >= MAX_RESPONSE_BYTES) finish();
          });
          incoming.on('end', finish);
          incoming.on('error', (error) => (size > 0 ? finish() : reject(error)));
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}

/**
 * A transport over a fetch function (tests count or fail requests this way). It has no
 * connect-time address check, so it is never the production default.
 */
export function fetchTransport(doFetch: FetchFunction): WebhookTransport {
  return async (url, request) => {
    const response = await doFetch(url, { method: 'POST', headers: request.headers, body: request.body, redirect: 'manual', signal: request.signal });
    const body = await readLimited(response);
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      contentType: response.headers.get('content-type'),
      body,
      bodyBytes: body.byteLength,
    };
  };
}

async function readLimited(response: Response): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0);
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
  return Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES);
}
