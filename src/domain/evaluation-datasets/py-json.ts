/**
 * JSON as the MLflow server (Python) reads and writes it. Record fields of evaluation datasets
 * travel as JSON text inside JSON strings and come back to a Python client that `json.loads`
 * them, so two things must survive the round trip through Trove unchanged:
 *
 * - numbers: `1.0` is a float in Python and `1` an int (datasets' schema tells them apart, and
 *   pandas columns get their dtype from them); JavaScript's JSON.parse would make both `1`.
 *   Numbers are therefore kept as their source text (`PyNumber`), NaN and ±Infinity included,
 *   which Python's json accepts and writes.
 * - key order: JavaScript objects put integer-like keys first; a Map keeps the order written.
 *
 * `dumpsPy` writes what Python's `json.dumps` writes by default: `", "` and `": "` separators
 * and non-ASCII characters as `\uXXXX` escapes; `sortKeys` is `sort_keys=True`.
 */

export class PyNumber {
  constructor(readonly raw: string) {}

  /** Whether Python reads this number as an int (no fraction, no exponent). */
  get isInteger(): boolean {
    return /^-?\d+$/.test(this.raw);
  }
}

export type PyObject = Map<string, PyValue>;
export type PyValue = null | boolean | string | PyNumber | PyValue[] | PyObject;

export class PyJsonError extends Error {}

export function isPyObject(value: PyValue | undefined): value is PyObject {
  return value instanceof Map;
}

/** Parses JSON text (plus Python's NaN / Infinity / -Infinity) without losing number text or key order. */
export function parsePyJson(text: string): PyValue {
  const parser = new Parser(text);
  parser.skipSpace();
  const value = parser.value(0);
  parser.skipSpace();
  if (!parser.atEnd()) parser.fail('Extra data');
  return value;
}

const MAX_DEPTH = 200;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/y;

class Parser {
  private pos = 0;

  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  fail(message: string): never {
    throw new PyJsonError(`${message} at char ${this.pos}`);
  }

  skipSpace(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos]!)) this.pos += 1;
  }

  value(depth: number): PyValue {
    if (depth > MAX_DEPTH) this.fail('Nesting too deep');
    const c = this.text[this.pos];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    for (const word of ['NaN', 'Infinity', '-Infinity']) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return new PyNumber(word);
      }
    }
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (match) {
      this.pos += match[0].length;
      return new PyNumber(match[0]);
    }
    return this.fail('Expecting value');
  }

  private object(depth: number): PyObject {
    const result: PyObject = new Map();
    this.pos += 1;
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos += 1;
      return result;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] !== '"') this.fail('Expecting property name enclosed in double quotes');
      const key = this.string();
      this.skipSpace();
      if (this.text[this.pos] !== ':') this.fail("Expecting ':' delimiter");
      this.pos += 1;
      this.skipSpace();
      // A repeated key keeps its first position and its last value, as a Python dict does.
      result.set(key, this.value(depth + 1));
      this.skipSpace();
      const next = this.text[this.pos];
      this.pos += 1;
      if (next === '}') return result;
      if (next !== ',') this.fail("Expecting ',' delimiter");
    }
  }

  private array(depth: number): PyValue[] {
    const result: PyValue[] = [];
    this.pos += 1;
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos += 1;
      return result;
    }
    for (;;) {
      this.skipSpace();
      result.push(this.value(depth + 1));
      this.skipSpace();
      const next = this.text[this.pos];
      this.pos += 1;
      if (next === ']') return result;
      if (next !== ',') this.fail("Expecting ',' delimiter");
    }
  }

  private string(): string {
    const start = this.pos;
    this.pos += 1;
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) this.fail('Unterminated string');
      if (c === '"') break;
      if (c === '\\') this.pos += 2;
      else if (c < ' ') this.fail('Invalid control character');
      else this.pos += 1;
    }
    this.pos += 1;
    try {
      return JSON.parse(this.text.slice(start, this.pos)) as string;
    } catch {
      return this.fail('Invalid string');
    }
  }
}

/** Python's `json.dumps(value)` (default separators, ensure_ascii), optionally `sort_keys=True`. */
export function dumpsPy(value: PyValue, options: { sortKeys?: boolean } = {}): string {
  const out: string[] = [];
  write(value, out, options.sortKeys === true);
  return out.join('');
}

function write(value: PyValue, out: string[], sortKeys: boolean): void {
  if (value === null) out.push('null');
  else if (value === true) out.push('true');
  else if (value === false) out.push('false');
  else if (typeof value === 'string') out.push(quote(value));
  else if (value instanceof PyNumber) out.push(value.raw);
  else if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item, i) => {
      if (i > 0) out.push(', ');
      write(item, out, sortKeys);
    });
    out.push(']');
  } else {
    const keys = [...value.keys()];
    if (sortKeys) keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    out.push('{');
    keys.forEach((key, i) => {
      if (i > 0) out.push(', ');
      out.push(quote(key), ': ');
      write(value.get(key) as PyValue, out, sortKeys);
    });
    out.push('}');
  }
}

const SHORT_ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

/** A JSON string literal with Python's ensure_ascii escaping (UTF-16 units, so astral characters become surrogate pairs). */
function quote(text: string): string {
  let result = '"';
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    const short = SHORT_ESCAPES[c];
    if (short !== undefined) result += short;
    else {
      const code = text.charCodeAt(i);
      result += code < 0x20 || code > 0x7e ? `\\u${code.toString(16).padStart(4, '0')}` : c;
    }
  }
  return `${result}"`;
}

/** Python's `str(value)` for a tag value that was not a string (`True`, `1.5`, `None`…). */
export function pyStr(value: PyValue): string {
  if (typeof value === 'string') return value;
  return pyRepr(value);
}

function pyRepr(value: PyValue): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (value instanceof PyNumber) return value.raw === 'NaN' ? 'nan' : value.raw === 'Infinity' ? 'inf' : value.raw === '-Infinity' ? '-inf' : value.raw;
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  return `{${[...value].map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(', ')}}`;
}

/** A PyObject from plain entries (strings, numbers as text, nested PyValues). */
export function pyObject(entries: Iterable<readonly [string, PyValue]>): PyObject {
  return new Map(entries);
}
