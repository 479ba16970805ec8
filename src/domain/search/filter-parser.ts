/**
 * Structural half of filter parsing: turns a filter string into a list of raw comparisons
 * (`<identifier> <comparator> <value>` joined by AND) without deciding what the identifier means.
 * Entity, key and value-type rules differ per search kind, so they live in `clause-validator.ts`
 * and the per-kind modules; this file only knows the grammar every kind shares.
 */
import { couldNotParseFilter, invalid } from './messages.ts';
import { isKeyword, isPunct, tokenize, type NamePart, type Token } from './tokenizer.ts';

/** A comparison's right-hand side, before any per-entity type check. */
export type ValueNode =
  | { kind: 'string'; value: string; raw: string }
  | { kind: 'number'; value: number; raw: string }
  /** An unquoted or backtick-quoted name where a value belongs: always an error, but which error
   *  depends on the entity (MLflow says "not quoted" for strings, "expected numeric" for metrics). */
  | { kind: 'word'; raw: string }
  /** `( ... )` after IN / NOT IN; `items` are the tokens between the parentheses. */
  | { kind: 'list'; items: Token[]; raw: string }
  /** No value: `IS NULL` / `IS NOT NULL` (only grammars that opt in, i.e. traces). */
  | { kind: 'null'; raw: string };

export interface ParseOptions {
  /** Accept `<identifier> IS NULL` and `<identifier> IS NOT NULL` (MLflow's trace grammar). */
  nullChecks?: boolean;
}

export interface RawComparison {
  identifier: NamePart[];
  /** Upper-cased comparator as written: `=`, `LIKE`, `NOT IN`, or an unknown one like `==`. */
  comparator: string;
  value: ValueNode;
}

/** Words that can never be an identifier or a bare value, so `a = 1 OR b = 2` cannot be misread. */
const RESERVED = ['AND', 'OR', 'NOT', 'IN', 'LIKE', 'ILIKE', 'IS', 'NULL'];

function isReserved(token: Token): boolean {
  return RESERVED.some((word) => isKeyword(token, word));
}

interface Match {
  comparison: RawComparison;
  /** Index of the first token after the comparison. */
  next: number;
}

/** Index of the `)` closing the `(` at `open`, or -1 when the parentheses are unbalanced. */
function matchingParen(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i += 1) {
    if (isPunct(tokens[i], '(')) depth += 1;
    else if (isPunct(tokens[i], ')')) {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function scalarValue(token: Token | undefined, src: string): ValueNode | null {
  if (token === undefined) return null;
  const raw = src.slice(token.start, token.end);
  switch (token.kind) {
    case 'string':
      return { kind: 'string', value: token.value, raw };
    case 'number':
      return { kind: 'number', value: token.value, raw };
    case 'name': {
      if (isReserved(token)) return null;
      const [only] = token.parts;
      // A lone double-quoted piece is a string value (`name = "my-model"`), as upstream accepts.
      if (token.parts.length === 1 && only !== undefined && only.quote === '"') {
        return { kind: 'string', value: only.text, raw };
      }
      return { kind: 'word', raw };
    }
    default:
      return null;
  }
}

function tryComparison(tokens: readonly Token[], i: number, src: string, options: ParseOptions = {}): Match | null {
  const ident = tokens[i];
  if (ident === undefined || ident.kind !== 'name' || isReserved(ident)) return null;
  const op = tokens[i + 1];
  if (op === undefined) return null;
  if (options.nullChecks && isKeyword(op, 'IS')) {
    const negated = isKeyword(tokens[i + 2], 'NOT');
    const nullAt = negated ? i + 3 : i + 2;
    const nullToken = tokens[nullAt];
    if (!isKeyword(nullToken, 'NULL') || nullToken === undefined) return null;
    return {
      comparison: { identifier: ident.parts, comparator: negated ? 'IS NOT NULL' : 'IS NULL', value: { kind: 'null', raw: src.slice(op.start, nullToken.end) } },
      next: nullAt + 1,
    };
  }

  let comparator: string;
  let valueAt: number;
  let wantsList = false;
  if (op.kind === 'op') {
    comparator = op.text;
    valueAt = i + 2;
  } else if (isKeyword(op, 'LIKE') || isKeyword(op, 'ILIKE')) {
    comparator = isKeyword(op, 'LIKE') ? 'LIKE' : 'ILIKE';
    valueAt = i + 2;
  } else if (isKeyword(op, 'IN')) {
    comparator = 'IN';
    valueAt = i + 2;
    wantsList = true;
  } else if (isKeyword(op, 'NOT') && isKeyword(tokens[i + 2], 'IN')) {
    comparator = 'NOT IN';
    valueAt = i + 3;
    wantsList = true;
  } else {
    return null;
  }

  if (wantsList) {
    // IN / NOT IN only make sense with a parenthesised list; anything else is not a comparison.
    if (!isPunct(tokens[valueAt], '(')) return null;
    const close = matchingParen(tokens, valueAt);
    if (close < 0) return null;
    const open = tokens[valueAt];
    const end = tokens[close];
    if (open === undefined || end === undefined) return null;
    return {
      comparison: {
        identifier: ident.parts,
        comparator,
        value: { kind: 'list', items: tokens.slice(valueAt + 1, close), raw: src.slice(open.start, end.end) },
      },
      next: close + 1,
    };
  }

  const value = scalarValue(tokens[valueAt], src);
  if (value === null) return null;
  return { comparison: { identifier: ident.parts, comparator, value }, next: valueAt + 1 };
}

/**
 * Parses `filter` into raw comparisons. Anything that is not a comparison or an AND — OR, NOT,
 * grouping parentheses, stray tokens, two comparisons without AND between them — is collected and
 * reported in one "Invalid clause(s) in filter string" error, as upstream reports the sqlparse
 * tokens it could not use. `quoteClauses` mirrors upstream's two formats: the runs (and logged
 * models) parser quotes each offending piece, the experiment and registry parsers do not.
 */
export function parseComparisons(filter: string | undefined, quoteClauses: boolean, options: ParseOptions = {}): RawComparison[] {
  // Absent (undefined, or null from loosely-typed JSON) and blank filters both mean "match all".
  if (filter === undefined || filter === null) return [];
  if (typeof filter !== 'string') throw couldNotParseFilter(String(filter));
  if (filter.trim() === '') return [];
  const tokens = tokenize(filter);
  if (tokens === null) throw couldNotParseFilter(filter);

  const semicolon = tokens.findIndex((t) => isPunct(t, ';'));
  if (semicolon >= 0 && semicolon < tokens.length - 1) {
    throw invalid(
      `Search filter contained multiple expression '${filter}'. Provide AND-ed expression list.`,
    );
  }

  const comparisons: RawComparison[] = [];
  const invalidPieces: string[] = [];
  let needsAnd = false;
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i];
    if (token === undefined) break;
    if (isKeyword(token, 'AND')) {
      needsAnd = false;
      i += 1;
      continue;
    }
    const match = tryComparison(tokens, i, filter, options);
    if (match !== null) {
      if (needsAnd) {
        const last = tokens[match.next - 1];
        invalidPieces.push(filter.slice(token.start, last === undefined ? token.end : last.end));
      } else {
        comparisons.push(match.comparison);
      }
      needsAnd = true;
      i = match.next;
      continue;
    }
    needsAnd = false;
    if (isPunct(token, '(')) {
      // A parenthesised group is one invalid piece (grouping is not supported), not many.
      const close = matchingParen(tokens, i);
      const last = close < 0 ? tokens[tokens.length - 1] : tokens[close];
      invalidPieces.push(filter.slice(token.start, last === undefined ? token.end : last.end));
      i = close < 0 ? tokens.length : close + 1;
      continue;
    }
    invalidPieces.push(filter.slice(token.start, token.end));
    i += 1;
  }

  if (invalidPieces.length > 0) {
    const listed = invalidPieces.map((p) => (quoteClauses ? `'${p}'` : p)).join(', ');
    throw invalid(`Invalid clause(s) in filter string: ${listed}`);
  }
  return comparisons;
}

/**
 * Splits an identifier on its first dot: `metrics.a.b` → prefix `metrics`, key `a.b`; a single
 * piece has no prefix (an attribute). A backtick-quoted prefix is unquoted as upstream does;
 * a double-quoted one keeps its quotes so it is reported (and rejected) as written.
 */
export function splitIdentifier(parts: readonly NamePart[]): { prefix: string | null; key: string } {
  const [first, ...rest] = parts;
  if (first === undefined) return { prefix: null, key: '' };
  if (rest.length === 0) return { prefix: null, key: first.text };
  const prefix = first.quote === '"' ? `"${first.text}"` : first.text;
  return { prefix, key: rest.map((p) => p.text).join('.') };
}

const LIST_PREFIX = 'While parsing a list in the query,';

/**
 * Reads the strings of an IN / NOT IN list. Only quoted strings are allowed (single or double
 * quotes); the list must be non-empty and comma-separated (one trailing comma is tolerated, as in
 * a Python tuple, which is how upstream evaluates the list).
 */
export function readStringList(node: Extract<ValueNode, { kind: 'list' }>): string[] {
  const { items } = node;
  if (items.length === 0) {
    throw invalid(`${LIST_PREFIX} expected a non-empty list of string values, but got empty list`);
  }
  // A list element is a single-quoted string or a lone double-quoted piece; null otherwise.
  const stringOf = (t: Token): string | null => {
    if (t.kind === 'string') return t.value;
    const [only] = t.kind === 'name' && t.parts.length === 1 ? t.parts : [];
    return only !== undefined && only.quote === '"' ? only.text : null;
  };
  if (items.some((t) => !isPunct(t, ',') && stringOf(t) === null)) {
    throw invalid(
      `${LIST_PREFIX} expected string value, punctuation, or whitespace, but got different type in list: ${node.raw}`,
    );
  }
  const values: string[] = [];
  for (let i = 0; i < items.length; i += 2) {
    const item = items[i];
    const sep = items[i + 1];
    const value = item === undefined ? null : stringOf(item);
    if (value === null || (sep !== undefined && !isPunct(sep, ','))) {
      throw invalid(`${LIST_PREFIX} expected a non-empty list of string values, but got ill-formed list.`);
    }
    values.push(value);
  }
  return values;
}
