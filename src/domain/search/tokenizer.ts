/**
 * Lexer for MLflow's SQL-like search grammar. Upstream leans on `sqlparse`; we only need the
 * handful of token shapes the grammar actually uses, so a hand-written scanner keeps the rules
 * explicit (and keeps the positions we need to echo offending text back in error messages).
 */

/** One dot-separated piece of a name: `metrics`, `` `my param` `` or `"mlflow.user"`. */
export interface NamePart {
  /** The piece with its quotes removed (and doubled quote characters collapsed). */
  text: string;
  quote: '`' | '"' | null;
}

interface TokenBase {
  /** Offsets into the source string, so callers can quote the user's exact text in errors. */
  start: number;
  end: number;
}

/**
 * `name` covers identifiers, keywords (AND, IN, LIKE…), bare words and double-quoted text: whether
 * `"x"` is a key or a string value depends on where it appears, so the parser decides, exactly as
 * upstream accepts both `tags."mlflow.user"` and `name = "my-model"`.
 */
export type Token =
  | (TokenBase & { kind: 'name'; parts: NamePart[] })
  | (TokenBase & { kind: 'string'; value: string })
  | (TokenBase & { kind: 'number'; value: number })
  | (TokenBase & { kind: 'op'; text: string })
  | (TokenBase & { kind: 'punct'; text: string });

const WORD_START = /[\p{L}_]/u;
const WORD_CHAR = /[\p{L}\p{N}_]/u;
const OP_CHAR = /[<>=!~]/;
const NUMBER = /-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;

/**
 * Reads a quoted run starting at `pos` (which holds the quote character). A quote character is
 * escaped by doubling it or with a backslash; `\\` is a literal backslash; any other backslash is
 * kept verbatim so LIKE patterns and paths survive untouched. Returns null when unterminated.
 */
function readQuoted(src: string, pos: number): { text: string; end: number } | null {
  const quote = src[pos];
  let text = '';
  let i = pos + 1;
  while (i < src.length) {
    const ch = src[i];
    if (ch === '\\' && quote !== '`') {
      const next = src[i + 1];
      if (next === quote || next === '\\') {
        text += next;
        i += 2;
        continue;
      }
      text += ch;
      i += 1;
      continue;
    }
    if (ch === quote) {
      if (src[i + 1] === quote) {
        text += quote;
        i += 2;
        continue;
      }
      return { text, end: i + 1 };
    }
    text += ch;
    i += 1;
  }
  return null;
}

function readWord(src: string, pos: number): number {
  let i = pos;
  while (i < src.length && WORD_CHAR.test(src[i] ?? '')) i += 1;
  return i;
}

/** A name part may start here: a letter/underscore, a backtick or a double quote. */
function startsPart(ch: string | undefined, afterDot: boolean): boolean {
  if (ch === undefined) return false;
  if (ch === '`' || ch === '"') return true;
  // After a dot a piece may start with a digit (`metrics.1st_epoch`), as sqlparse allows.
  return afterDot ? WORD_CHAR.test(ch) : WORD_START.test(ch);
}

function readPart(src: string, pos: number): { part: NamePart; end: number } | null {
  const ch = src[pos];
  if (ch === '`' || ch === '"') {
    const quoted = readQuoted(src, pos);
    if (quoted === null) return null;
    return { part: { text: quoted.text, quote: ch }, end: quoted.end };
  }
  const end = readWord(src, pos);
  return { part: { text: src.slice(pos, end), quote: null }, end };
}

/** Tokenises `src`; returns null on a lexical error (an unterminated quote or backtick). */
export function tokenize(src: string): Token[] | null {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i] ?? '';
    if (/\s/.test(ch)) {
      i += 1;
      continue;
    }
    const start = i;

    if (ch === "'") {
      const quoted = readQuoted(src, i);
      if (quoted === null) return null;
      tokens.push({ kind: 'string', value: quoted.text, start, end: quoted.end });
      i = quoted.end;
      continue;
    }

    NUMBER.lastIndex = i;
    const num = NUMBER.exec(src);
    if (num !== null) {
      const end = i + num[0].length;
      if (end < src.length && WORD_CHAR.test(src[end] ?? '')) {
        // `1abc`, `0x1F`: not a number; surface it as a bare word so the parser reports it as an
        // unquoted value rather than silently reading a prefix of it.
        const wordEnd = readWord(src, end);
        tokens.push({ kind: 'name', parts: [{ text: src.slice(i, wordEnd), quote: null }], start, end: wordEnd });
        i = wordEnd;
      } else {
        tokens.push({ kind: 'number', value: Number(num[0]), start, end });
        i = end;
      }
      continue;
    }

    if (startsPart(ch, false)) {
      const parts: NamePart[] = [];
      let first = readPart(src, i);
      if (first === null) return null;
      parts.push(first.part);
      i = first.end;
      // Dots bind pieces into one name only when no whitespace intervenes, like SQL identifiers.
      while (src[i] === '.' && startsPart(src[i + 1], true)) {
        first = readPart(src, i + 1);
        if (first === null) return null;
        parts.push(first.part);
        i = first.end;
      }
      tokens.push({ kind: 'name', parts, start, end: i });
      continue;
    }

    if (OP_CHAR.test(ch)) {
      let end = i;
      while (end < src.length && OP_CHAR.test(src[end] ?? '')) end += 1;
      // Runs like `==` or `<>` are kept whole so they are rejected as one unknown comparator.
      tokens.push({ kind: 'op', text: src.slice(i, end), start, end });
      i = end;
      continue;
    }

    tokens.push({ kind: 'punct', text: ch, start, end: i + 1 });
    i += 1;
  }
  return tokens;
}

/** True when `token` is the bare (unquoted, undotted) word `word`, compared case-insensitively. */
export function isKeyword(token: Token | undefined, word: string): boolean {
  if (token === undefined || token.kind !== 'name' || token.parts.length !== 1) return false;
  const [part] = token.parts;
  return part !== undefined && part.quote === null && part.text.toUpperCase() === word;
}

export function isPunct(token: Token | undefined, text: string): boolean {
  return token !== undefined && token.kind === 'punct' && token.text === text;
}
