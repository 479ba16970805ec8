/**
 * Span attribute values as plain JavaScript values. Pure functions.
 *
 * traces/get sends OTLP's typed values (`{"string_value": "42"}`, `{"kvlist_value": ...}`); a
 * `traces.json` artifact (and some exporters) send every value as a JSON-encoded string
 * (`"\"42\""`). Both end up as the value the traced code produced.
 */
import type { WireAnyValue, WireAttributes } from '../api/types.ts';

/** One OTLP AnyValue (either JSON spelling) as a JS value; int64s beyond 2^53 stay strings. */
export function decodeAnyValue(value: WireAnyValue | undefined | null): unknown {
  if (value === undefined || value === null) return null;
  const v = value;
  if (v.string_value !== undefined || v.stringValue !== undefined) return v.string_value ?? v.stringValue;
  if (v.bool_value !== undefined || v.boolValue !== undefined) return v.bool_value ?? v.boolValue;
  const int = v.int_value ?? v.intValue;
  if (int !== undefined) {
    const n = Number(int);
    return Number.isSafeInteger(n) ? n : String(int);
  }
  const dbl = v.double_value ?? v.doubleValue;
  if (dbl !== undefined) return typeof dbl === 'number' ? dbl : Number(dbl);
  const arr = v.array_value ?? v.arrayValue;
  if (arr !== undefined) return (arr.values ?? []).map(decodeAnyValue);
  const kv = v.kvlist_value ?? v.kvlistValue;
  if (kv !== undefined) {
    const out: Record<string, unknown> = {};
    for (const entry of kv.values ?? []) out[entry.key] = decodeAnyValue(entry.value);
    return out;
  }
  const bytes = v.bytes_value ?? v.bytesValue;
  if (bytes !== undefined) return bytes;
  return null;
}

/**
 * A string that holds JSON (an artifact's attribute, or an exporter that serialised an object)
 * becomes the value; anything else stays as it is. Only strings that look like JSON documents are
 * parsed, so a plain answer "42" stays the string "42".
 */
export function parseJsonString(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (!/^[[{"]/.test(text)) return value;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return value;
  }
}

/** Every attribute as a plain value, keyed by name, in their order. */
export function decodeAttributes(attributes: WireAttributes | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!attributes) return out;
  if (Array.isArray(attributes)) {
    for (const entry of attributes) out[entry.key] = parseJsonString(decodeAnyValue(entry.value));
  } else {
    for (const [key, value] of Object.entries(attributes)) out[key] = parseJsonString(value);
  }
  return out;
}
