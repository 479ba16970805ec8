import type { MlflowError } from '../domain/errors.ts';
import type { MetricColumns } from '../store/metric-columns.ts';
import type { KeyValue } from '../store/tracking-store.ts';
import { parseJsonBody } from './json-body.ts';

/**
 * The log-batch body read straight from its bytes into metric columns (issue 14 ingest).
 *
 * `JSON.parse` of a 1,000-point batch (~70 KB) builds a 70 KB string, then an object per point
 * and a string per key, all alive until the group commit's fdatasync answers the request; the
 * young generation's scavenges copy them and promote them to old space. This reader walks the
 * body once and writes the points into typed arrays (metric-columns.ts): per batch a few small
 * objects on the V8 heap, whatever its size.
 *
 * It reads exactly the shape the MLflow client sends — an object with `run_id`/`run_uuid`
 * (strings), `metrics` (objects with `key` string, `value` number or "NaN"/"Infinity"/"-Infinity",
 * `timestamp` and optional `step` safe integers), `params` and `tags` (objects with `key` and
 * `value` strings) — in any key order and with any JSON whitespace. For anything else (another
 * field, a field twice, null, a number as text, a model or dataset on a point, malformed JSON,
 * ...) it answers `undefined` and the caller parses the text with `JSON.parse` as for every other
 * route, so errors and everything unusual keep the one existing path. Strings with escapes are
 * decoded by `JSON.parse` of that string alone; other strings by UTF-8 decoding of their bytes
 * (what decoding the whole body and `JSON.parse` give for them).
 */
export interface LogBatchBody {
  run_id?: string;
  run_uuid?: string;
  metrics: MetricColumns;
  params: KeyValue[];
  tags: KeyValue[];
}

/** Bodies this reader built (a JSON body can never be one of them, whatever fields it has). */
const readFromBytes = new WeakSet<object>();

/**
 * The log-batch route's body parser (runs.routes.ts): the columns when the reader takes the body,
 * otherwise exactly what every other route's JSON parser gives (json-body.ts).
 */
export function parseLogBatchRequestBody(bytes: Buffer): { value: unknown } | { error: MlflowError } {
  const body = readLogBatchBody(bytes);
  if (body === undefined) return parseJsonBody(bytes.toString('utf8'));
  readFromBytes.add(body);
  return { value: body };
}

/** The request's body when the reader built it from the bytes, else undefined (a parsed JSON body). */
export function logBatchBodyOf(body: unknown): LogBatchBody | undefined {
  return typeof body === 'object' && body !== null && readFromBytes.has(body) ? (body as LogBatchBody) : undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

/** The shortest metric the reader accepts, `{"key":"","value":0,"timestamp":0}`, is 34 bytes: no batch has more points than bytes / 34. */
const MIN_METRIC_BYTES = 34;

/** 10^0 … 10^22, every one an exact double. */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

const TIMESTAMP = Buffer.from('timestamp', 'latin1');

function sameBytes(b: Buffer, at: number, expected: Buffer): boolean {
  for (let k = 0; k < expected.length; k++) if (b[at + k] !== expected[k]) return false;
  return true;
}

/** Thrown inside the reader for anything it does not take; never leaves this file. */
class NotPlain {}
const NOT_PLAIN = new NotPlain();

export function readLogBatchBody(bytes: Buffer): LogBatchBody | undefined {
  try {
    return new BodyReader(bytes).read();
  } catch (error) {
    if (error === NOT_PLAIN) return undefined;
    throw error;
  }
}

class BodyReader {
  private p = 0;
  private readonly end: number;
  // The metric columns, sized for the most points the body can hold.
  private n = 0;
  private readonly capacity: number;
  private readonly keyIndex: Uint32Array;
  private readonly value: Float64Array;
  private readonly timestamp: Float64Array;
  private readonly step: Float64Array;
  private readonly keys: string[] = [];
  private readonly keyIds = new Map<string, number>();
  // The previous point's key as bytes (start and end of its text, no escapes), so a series of one
  // key repeated is compared byte for byte instead of decoded per point.
  private lastKeyStart = -1;
  private lastKeyEnd = -1;
  private lastKeyIndex = 0;

  constructor(private readonly b: Buffer) {
    this.end = b.length;
    this.capacity = Math.floor(b.length / MIN_METRIC_BYTES) + 1;
    this.keyIndex = new Uint32Array(this.capacity);
    this.value = new Float64Array(this.capacity);
    this.timestamp = new Float64Array(this.capacity);
    this.step = new Float64Array(this.capacity);
  }

  read(): LogBatchBody {
    let runId: string | undefined;
    let runUuid: string | undefined;
    let sawMetrics = false;
    let params: KeyValue[] | undefined;
    let tags: KeyValue[] | undefined;
    this.ws();
    this.expect(OPEN_BRACE);
    this.ws();
    if (this.peek() === CLOSE_BRACE) this.p++;
    else {
      for (;;) {
        const field = this.string();
        this.ws();
        this.expect(COLON);
        this.ws();
        switch (field) {
          case 'run_id':
            if (runId !== undefined) throw NOT_PLAIN;
            runId = this.string();
            break;
          case 'run_uuid':
            if (runUuid !== undefined) throw NOT_PLAIN;
            runUuid = this.string();
            break;
          case 'metrics':
            if (sawMetrics) throw NOT_PLAIN;
            sawMetrics = true;
            this.metrics();
            break;
          case 'params':
            if (params !== undefined) throw NOT_PLAIN;
            params = this.keyValues();
            break;
          case 'tags':
            if (tags !== undefined) throw NOT_PLAIN;
            tags = this.keyValues();
            break;
          default:
            throw NOT_PLAIN;
        }
        this.ws();
        const next = this.next();
        if (next === CLOSE_BRACE) break;
        if (next !== COMMA) throw NOT_PLAIN;
        this.ws();
      }
    }
    this.ws();
    if (this.p !== this.end) throw NOT_PLAIN;
    const n = this.n;
    const body: LogBatchBody = {
      metrics: {
        kind: 'metric-columns',
        length: n,
        keys: this.keys,
        keyIndex: this.keyIndex.subarray(0, n),
        value: this.value.subarray(0, n),
        timestamp: this.timestamp.subarray(0, n),
        step: this.step.subarray(0, n),
      },
      params: params ?? [],
      tags: tags ?? [],
    };
    if (runId !== undefined) body.run_id = runId;
    if (runUuid !== undefined) body.run_uuid = runUuid;
    return body;
  }

  private metrics(): void {
    this.expect(OPEN_BRACKET);
    this.ws();
    if (this.peek() === CLOSE_BRACKET) {
      this.p++;
      return;
    }
    for (;;) {
      this.metric();
      this.ws();
      const next = this.next();
      if (next === CLOSE_BRACKET) return;
      if (next !== COMMA) throw NOT_PLAIN;
      this.ws();
    }
  }

  /** One point; `key`, `value` and `timestamp` present, `step` optional (0), nothing else, nothing twice. */
  private metric(): void {
    const i = this.n;
    if (i >= this.capacity) throw NOT_PLAIN;
    let seen = 0;
    let step = 0;
    this.expect(OPEN_BRACE);
    this.ws();
    for (;;) {
      const field = this.fieldName();
      this.ws();
      this.expect(COLON);
      this.ws();
      let bit: number;
      switch (field) {
        case 'key':
          bit = 1;
          this.keyIndex[i] = this.metricKey();
          break;
        case 'value':
          bit = 2;
          this.value[i] = this.peek() === QUOTE ? this.specialDouble() : this.number();
          break;
        case 'timestamp':
          bit = 4;
          this.timestamp[i] = this.safeInteger();
          break;
        case 'step':
          bit = 8;
          step = this.safeInteger();
          break;
        default:
          throw NOT_PLAIN;
      }
      if (seen & bit) throw NOT_PLAIN;
      seen |= bit;
      this.ws();
      const next = this.next();
      if (next === CLOSE_BRACE) break;
      if (next !== COMMA) throw NOT_PLAIN;
      this.ws();
    }
    if ((seen & 7) !== 7) throw NOT_PLAIN;
    this.step[i] = step;
    this.n = i + 1;
  }

  /** A field name of a point: the four names are plain ASCII, so anything with an escape is not one of them. */
  private fieldName(): string {
    const b = this.b;
    if (b[this.p] !== QUOTE) throw NOT_PLAIN;
    const start = this.p + 1;
    const c = b[start];
    // The common names by their first byte and length, without building a string.
    if (c === 0x6b && b[start + 3] === QUOTE && b[start + 1] === 0x65 && b[start + 2] === 0x79) {
      this.p = start + 4;
      return 'key';
    }
    if (c === 0x76 && b[start + 5] === QUOTE && b[start + 1] === 0x61 && b[start + 2] === 0x6c && b[start + 3] === 0x75 && b[start + 4] === 0x65) {
      this.p = start + 6;
      return 'value';
    }
    if (c === 0x73 && b[start + 4] === QUOTE && b[start + 1] === 0x74 && b[start + 2] === 0x65 && b[start + 3] === 0x70) {
      this.p = start + 5;
      return 'step';
    }
    if (c === 0x74 && b[start + 9] === QUOTE && sameBytes(b, start, TIMESTAMP)) {
      this.p = start + 10;
      return 'timestamp';
    }
    return this.string();
  }

  /** The key of a point, as an index into `keys`. */
  private metricKey(): number {
    const b = this.b;
    if (b[this.p] !== QUOTE) throw NOT_PLAIN;
    const start = this.p + 1;
    // Same bytes as the previous point's key (no escapes in either): same key.
    const lastStart = this.lastKeyStart;
    if (lastStart >= 0) {
      const length = this.lastKeyEnd - lastStart;
      if (start + length < this.end && b[start + length] === QUOTE) {
        let same = true;
        for (let k = 0; k < length; k++) {
          if (b[start + k] !== b[lastStart + k]) {
            same = false;
            break;
          }
        }
        // The previous key had no backslash, so neither has this one: that quote is its end.
        if (same) {
          this.p = start + length + 1;
          return this.lastKeyIndex;
        }
      }
    }
    const { text, escaped } = this.stringWithKind();
    let index = this.keyIds.get(text);
    if (index === undefined) {
      index = this.keys.length;
      this.keys.push(text);
      this.keyIds.set(text, index);
    }
    if (escaped) this.lastKeyStart = -1;
    else {
      this.lastKeyStart = start;
      this.lastKeyEnd = this.p - 1;
      this.lastKeyIndex = index;
    }
    return index;
  }

  /** "NaN", "Infinity" or "-Infinity" as the client spells them (protobuf's JSON for those doubles). */
  private specialDouble(): number {
    const text = this.string();
    if (text === 'NaN') return Number.NaN;
    if (text === 'Infinity') return Number.POSITIVE_INFINITY;
    if (text === '-Infinity') return Number.NEGATIVE_INFINITY;
    throw NOT_PLAIN;
  }

  private safeInteger(): number {
    const value = this.number();
    if (!Number.isSafeInteger(value)) throw NOT_PLAIN;
    return value;
  }

  /**
   * A JSON number, as `JSON.parse` reads it. Its digits as an integer m and a power of ten e: when
   * m is below 2^53 and |e| ≤ 22 both are exact doubles and one multiplication or division gives
   * the correctly rounded value (Clinger's fast path), as `JSON.parse` does; anything else (17
   * significant digits, large exponents) through `Number` of its text.
   */
  private number(): number {
    const b = this.b;
    const end = this.end;
    const start = this.p;
    let p = start;
    const negative = b[p] === MINUS;
    if (negative) p++;
    let m = 0;
    let exact = true;
    let c = b[p];
    if (c === ZERO) {
      p++;
    } else if (c !== undefined && c > ZERO && c <= NINE) {
      while (p < end && (c = b[p]!) >= ZERO && c <= NINE) {
        m = m * 10 + (c - ZERO);
        p++;
      }
      if (m > Number.MAX_SAFE_INTEGER) exact = false;
    } else {
      throw NOT_PLAIN;
    }
    let e = 0;
    if (b[p] === DOT) {
      p++;
      const fracStart = p;
      while (p < end && (c = b[p]!) >= ZERO && c <= NINE) {
        m = m * 10 + (c - ZERO);
        p++;
      }
      if (p === fracStart) throw NOT_PLAIN;
      e = fracStart - p;
      if (m > Number.MAX_SAFE_INTEGER) exact = false;
    }
    c = b[p];
    if (c === LOWER_E || c === UPPER_E) {
      p++;
      c = b[p];
      const expNegative = c === MINUS;
      if (c === PLUS || c === MINUS) p++;
      const expStart = p;
      let x = 0;
      while (p < end && (c = b[p]!) >= ZERO && c <= NINE) {
        x = x * 10 + (c - ZERO);
        p++;
      }
      if (p === expStart) throw NOT_PLAIN;
      if (p - expStart > 4) exact = false;
      e += expNegative ? -x : x;
    }
    this.p = p;
    if (exact && e >= -22 && e <= 22) {
      const v = e === 0 ? m : e > 0 ? m * POWERS_OF_TEN[e]! : m / POWERS_OF_TEN[-e]!;
      return negative ? -v : v;
    }
    return Number(b.toString('latin1', start, p));
  }

  private keyValues(): KeyValue[] {
    const out: KeyValue[] = [];
    this.expect(OPEN_BRACKET);
    this.ws();
    if (this.peek() === CLOSE_BRACKET) {
      this.p++;
      return out;
    }
    for (;;) {
      let key: string | undefined;
      let value: string | undefined;
      this.expect(OPEN_BRACE);
      this.ws();
      for (;;) {
        const field = this.string();
        this.ws();
        this.expect(COLON);
        this.ws();
        if (field === 'key' && key === undefined) key = this.string();
        else if (field === 'value' && value === undefined) value = this.string();
        else throw NOT_PLAIN;
        this.ws();
        const next = this.next();
        if (next === CLOSE_BRACE) break;
        if (next !== COMMA) throw NOT_PLAIN;
        this.ws();
      }
      if (key === undefined || value === undefined) throw NOT_PLAIN;
      out.push({ key, value });
      this.ws();
      const next = this.next();
      if (next === CLOSE_BRACKET) return out;
      if (next !== COMMA) throw NOT_PLAIN;
      this.ws();
    }
  }

  private string(): string {
    return this.stringWithKind().text;
  }

  /**
   * A JSON string at the cursor. Without escapes: its bytes, as Latin-1 when they are ASCII,
   * otherwise as UTF-8 (a quote byte never occurs inside a UTF-8 sequence, so the string's bytes
   * decode as they would within the whole body). With escapes: `JSON.parse` of the string alone.
   * A raw control character is not JSON: the caller's `JSON.parse` words that error.
   */
  private stringWithKind(): { text: string; escaped: boolean } {
    const b = this.b;
    if (b[this.p] !== QUOTE) throw NOT_PLAIN;
    const start = this.p + 1;
    let p = start;
    let ascii = true;
    let escaped = false;
    for (;;) {
      if (p >= this.end) throw NOT_PLAIN;
      const c = b[p]!;
      if (c === QUOTE) break;
      if (c < 0x20) throw NOT_PLAIN;
      if (c === BACKSLASH) {
        escaped = true;
        p += 2;
        continue;
      }
      if (c >= 0x80) ascii = false;
      p++;
    }
    this.p = p + 1;
    if (escaped) {
      let text: unknown;
      try {
        text = JSON.parse(b.toString('utf8', start - 1, p + 1));
      } catch {
        throw NOT_PLAIN;
      }
      if (typeof text !== 'string') throw NOT_PLAIN;
      return { text, escaped };
    }
    return { text: b.toString(ascii ? 'latin1' : 'utf8', start, p), escaped };
  }

  private ws(): void {
    const b = this.b;
    let p = this.p;
    while (p < this.end) {
      const c = b[p];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    this.p = p;
  }

  private peek(): number | undefined {
    return this.b[this.p];
  }

  private next(): number | undefined {
    return this.b[this.p++];
  }

  private expect(c: number): void {
    if (this.b[this.p] !== c) throw NOT_PLAIN;
    this.p++;
  }
}
