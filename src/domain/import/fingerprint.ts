import { createHash } from 'node:crypto';

/** A short stable digest of a JSON-able value: equal values give equal fingerprints. */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex').slice(0, 32);
}

/** JSON with object keys sorted, so the same data always serialises the same way. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
    return v;
  });
}

/** The point a metric's latest value identifies, to tell whether its history grew. */
export function latestPointKey(point: { step: number; timestamp: number; value: number }): string {
  return `${point.step}|${point.timestamp}|${String(point.value)}`;
}
