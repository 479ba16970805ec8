import { MlflowError } from './errors.ts';
import type { SortValue } from '../store/tracking-store.ts';

/**
 * Search page tokens. Opaque to the client. Two forms are read:
 * - keyset (written since keyset paging): `{"snapshot": n, "after": [k1, …, id]}`, the sort key
 *   values of the last row of the previous page ending with its unique id. The next page starts
 *   right after that row, so a deep page costs what page one costs.
 * - offset (written before, still accepted): `{"offset": n, "snapshot": n}`.
 * `snapshot` is the highest id visible when page one was read; later pages ignore newer rows.
 * Numbers JSON cannot hold (±Infinity, NaN) travel as `{"f": "Infinity"}`.
 */
export interface PageTokenContent {
  offset: number;
  snapshot: number | null;
  after?: SortValue[];
}

type EncodedValue = string | number | null | { f: 'Infinity' | '-Infinity' | 'NaN' };

function encodeValue(value: SortValue): EncodedValue {
  if (typeof value === 'number' && !Number.isFinite(value)) return { f: Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity' };
  return value;
}

function decodeValue(value: unknown): SortValue | undefined {
  if (value === null || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (value && typeof value === 'object' && Object.keys(value).length === 1) {
    const f = (value as { f?: unknown }).f;
    if (f === 'Infinity') return Infinity;
    if (f === '-Infinity') return -Infinity;
    if (f === 'NaN') return NaN;
  }
  return undefined;
}

export function encodePageToken(content: PageTokenContent): string {
  const body = content.after
    ? { snapshot: content.snapshot, after: content.after.map(encodeValue) }
    : { offset: content.offset, snapshot: content.snapshot };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64');
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
  const invalid = () => MlflowError.invalidParameter(`Invalid page token, parsed value=${decoded}`);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid();
  const value = parsed as { offset?: unknown; snapshot?: unknown; after?: unknown };
  const snapshotOk =
    value.snapshot === undefined || value.snapshot === null || (typeof value.snapshot === 'number' && Number.isSafeInteger(value.snapshot));
  if (!snapshotOk) throw invalid();
  const snapshot = (value.snapshot as number | null | undefined) ?? null;
  if (value.after !== undefined) {
    if (!Array.isArray(value.after) || value.after.length === 0 || value.after.length > 64) throw invalid();
    const after: SortValue[] = [];
    for (const item of value.after) {
      const decodedItem = decodeValue(item);
      if (decodedItem === undefined) throw invalid();
      after.push(decodedItem);
    }
    return { offset: 0, snapshot, after };
  }
  const offsetOk = typeof value.offset === 'number' && Number.isSafeInteger(value.offset) && value.offset >= 0;
  if (!offsetOk) throw invalid();
  return { offset: value.offset as number, snapshot };
}
