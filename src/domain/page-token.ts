import { MlflowError } from './errors.ts';

/**
 * Search page tokens. Opaque to the client; inside is the offset of the next page and the
 * snapshot id that keeps later pages stable while new rows are inserted.
 */
export interface PageTokenContent {
  offset: number;
  snapshot: number | null;
}

export function encodePageToken(content: PageTokenContent): string {
  return Buffer.from(JSON.stringify({ offset: content.offset, snapshot: content.snapshot }), 'utf8').toString('base64');
}

/** Decodes a client's page token; an absent or empty token means the first page. */
export function decodePageToken(token: string | undefined | null): PageTokenContent {
  if (token === undefined || token === null || token === '') return { offset: 0, snapshot: null };
  if (!/^[A-Za-z0-9+/=_-]+$/.test(token)) {
    throw MlflowError.invalidParameter('Invalid page token, could not base64-decode');
  }
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoded);
  } catch {
    throw MlflowError.invalidParameter(`Invalid page token, decoded value=${decoded}`);
  }
  const value = parsed as { offset?: unknown; snapshot?: unknown };
  const offsetOk = typeof value?.offset === 'number' && Number.isSafeInteger(value.offset) && value.offset >= 0;
  const snapshotOk =
    value?.snapshot === undefined || value.snapshot === null || (typeof value.snapshot === 'number' && Number.isSafeInteger(value.snapshot));
  if (!parsed || typeof parsed !== 'object' || !offsetOk || !snapshotOk) {
    throw MlflowError.invalidParameter(`Invalid page token, parsed value=${decoded}`);
  }
  return { offset: value.offset as number, snapshot: (value.snapshot as number | null | undefined) ?? null };
}
