/**
 * Reads the `meta.yaml` files of an MLflow FileStore. They are flat maps written by PyYAML's
 * `safe_dump` (block style): `key: value` lines whose scalars are plain, 'single-' or
 * "double-quoted", with long values folded onto indented continuation lines; lists appear only
 * as `[]` or as `- item` lines. Nested maps (a few optional fields) are kept as raw text.
 * This is not a general YAML parser, only what that writer produces.
 */
export type MetaValue = string | number | boolean | null | MetaValue[] | { [key: string]: MetaValue };

export function parseMetaYaml(text: string): Record<string, MetaValue> {
  const result: Record<string, MetaValue> = {};
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const match = /^([A-Za-z_][A-Za-z0-9_]*):(?: (.*))?$/.exec(line);
    i++;
    if (!match) continue;
    const key = match[1]!;
    let raw = match[2] ?? '';
    const continuation: string[] = [];
    while (i < lines.length && (/^\s+\S/.test(lines[i]!) || (/^\s*$/.test(lines[i]!) && isOpenQuoted(raw, continuation)))) {
      continuation.push(lines[i]!);
      i++;
    }
    if (raw === '' && continuation.length > 0 && /^\s+[^\s'"-][^:]*: /.test(continuation[0]!)) {
      // A nested map (an input's tags): one level, indented.
      result[key] = parseMetaYaml(dedent(continuation).join('\n'));
      continue;
    }
    if (raw === '{}') {
      result[key] = {};
      continue;
    }
    if (raw === '' && continuation.length > 0 && continuation[0]!.trimStart().startsWith('- ')) {
      result[key] = continuation.map((l) => scalar(l.trimStart().slice(2)));
      continue;
    }
    if (continuation.length > 0) raw = fold(raw, continuation);
    result[key] = raw === '' ? null : raw === '[]' ? [] : scalar(raw);
  }
  return result;
}

function dedent(lines: string[]): string[] {
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^\s*/.exec(l)![0].length));
  return lines.map((l) => l.slice(indent));
}

function isOpenQuoted(first: string, rest: string[]): boolean {
  const quote = first[0];
  if (quote !== '"' && quote !== "'") return false;
  const joined = [first, ...rest].join('\n');
  return !closesQuote(joined, quote);
}

function closesQuote(text: string, quote: string): boolean {
  for (let i = 1; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') {
      i++;
      continue;
    }
    if (text[i] === quote) {
      if (quote === "'" && text[i + 1] === "'") {
        i++;
        continue;
      }
      return true;
    }
  }
  return false;
}

/** Joins folded lines: a line break becomes a space, an empty line a newline (YAML folding). */
function fold(first: string, rest: string[]): string {
  let out = first;
  let pendingNewlines = 0;
  for (const line of rest) {
    const trimmed = line.trim();
    if (trimmed === '') {
      pendingNewlines++;
      continue;
    }
    if (pendingNewlines > 0) out += '\n'.repeat(pendingNewlines);
    else if (out.endsWith('\\') && out.startsWith('"')) out = out.slice(0, -1);
    else out += ' ';
    out += trimmed;
    pendingNewlines = 0;
  }
  return out;
}

function scalar(raw: string): MetaValue {
  const text = raw.trim();
  if (text.startsWith("'")) return text.slice(1, text.endsWith("'") ? -1 : undefined).replaceAll("''", "'");
  if (text.startsWith('"')) return unescapeDouble(text.slice(1, text.endsWith('"') ? -1 : undefined));
  if (text === 'null' || text === '~' || text === '') return null;
  if (text === 'true' || text === 'True') return true;
  if (text === 'false' || text === 'False') return false;
  if (/^-?[0-9]+$/.test(text)) return Number(text);
  if (/^-?[0-9]*\.[0-9]+(e[-+]?[0-9]+)?$/i.test(text)) return Number(text);
  return text;
}

function unescapeDouble(text: string): string {
  return text.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)/g, (_m, code: string) => {
    switch (code[0]) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case '0':
        return '\0';
      case ' ':
        return ' ';
      case 'x':
      case 'u':
      case 'U':
        return String.fromCodePoint(parseInt(code.slice(1), 16));
      default:
        return code;
    }
  });
}

export function metaString(meta: Record<string, MetaValue>, key: string): string | null {
  const v = meta[key];
  if (v === null || v === undefined || typeof v === 'object') return null;
  return String(v);
}

export function metaNumber(meta: Record<string, MetaValue>, key: string): number | null {
  const v = meta[key];
  if (v === null || v === undefined || typeof v === 'object' || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}
