/**
 * JSON for the remote import protocol, which carries metric values: NaN and ±Infinity are legal
 * metric values but not JSON, so they travel as `{"$number": "NaN"}` and are turned back into
 * numbers on the other side.
 */

const NUMBER_KEY = '$number';

/** Replaces non-finite numbers by their tagged form (for JSON.stringify). */
export function encodeWire(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : { [NUMBER_KEY]: String(value) };
  if (Array.isArray(value)) return value.map(encodeWire);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined) out[k] = encodeWire(v);
    return out;
  }
  return value;
}

/** Turns tagged non-finite numbers back into numbers. */
export function decodeWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeWire);
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1 && entries[0]![0] === NUMBER_KEY) {
      const text = entries[0]![1];
      if (text === 'NaN') return Number.NaN;
      if (text === 'Infinity') return Number.POSITIVE_INFINITY;
      if (text === '-Infinity') return Number.NEGATIVE_INFINITY;
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) out[k] = decodeWire(v);
    return out;
  }
  return value;
}
