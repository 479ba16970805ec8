/**
 * Help for the runs filter box (MLflow search syntax): what can come next at the caret — a key
 * (`metrics.` / `params.` / `tags.` / `attributes.`), an operator for that kind of key, a value
 * seen in the experiment, or `and`. Pure functions.
 */

export interface FilterVocabulary {
  metrics: string[];
  params: string[];
  tags: string[];
  /** Values seen per `params.<key>` / `tags.<key>`. */
  values: Record<string, string[]>;
}

export interface Suggestion {
  /** What is inserted in place of the partial word at the caret. */
  insert: string;
  /** What the list shows. */
  label: string;
  kind: 'prefix' | 'key' | 'operator' | 'value' | 'keyword';
  /** A short note beside the label ("metric", "number"). */
  detail?: string;
}

export interface SuggestResult {
  /** Where the partial word at the caret starts (it is replaced by a suggestion). */
  from: number;
  suggestions: Suggestion[];
}

/** Attribute keys MLflow's run search accepts, with their kind. */
export const ATTRIBUTES: Array<{ key: string; numeric: boolean }> = [
  { key: 'run_name', numeric: false },
  { key: 'status', numeric: false },
  { key: 'user_id', numeric: false },
  { key: 'run_id', numeric: false },
  { key: 'artifact_uri', numeric: false },
  { key: 'start_time', numeric: true },
  { key: 'end_time', numeric: true },
  { key: 'created', numeric: true },
];

const STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'];
const NUMBER_OPS = ['>', '>=', '<', '<=', '=', '!='];
const TEXT_OPS = ['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'];
const PREFIXES = ['metrics.', 'params.', 'tags.', 'attributes.'];
const LIMIT = 12;

/** A key as the filter needs it: backticks around anything but a plain identifier. */
export function quoteKey(group: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${group}.${key}` : `${group}.\`${key.replaceAll('`', '')}\``;
}

/** A string value in single quotes (quotes inside escaped the way MLflow's parser reads them). */
export function quoteValue(value: string): string {
  return `'${value.replaceAll("'", "\\'")}'`;
}

type Expect = 'key' | 'op' | 'value' | 'conj';

interface Token {
  text: string;
  start: number;
}

/** Splits filter text into tokens: quoted strings, backticked names, operators, words, parens. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === "'" || c === '"') {
      i++;
      while (i < text.length && text[i] !== c) i += text[i] === '\\' ? 2 : 1;
      i = Math.min(text.length, i + 1);
    } else if ('<>=!'.includes(c)) {
      while (i < text.length && '<>=!'.includes(text[i] as string)) i++;
    } else if ('(),'.includes(c)) {
      i++;
    } else {
      // A word, which may hold backticked parts (metrics.`val loss`).
      while (i < text.length && !/\s/.test(text[i] as string) && !'<>=!(),\'"'.includes(text[i] as string)) {
        if (text[i] === '`') {
          i++;
          while (i < text.length && text[i] !== '`') i++;
        }
        i++;
      }
    }
    tokens.push({ text: text.slice(start, Math.min(i, text.length)), start });
  }
  return tokens;
}

/** `metrics.acc` → { group: 'metrics', key: 'acc' }; backticks and quotes removed. */
export function parseKey(token: string): { group: string; key: string } | undefined {
  const dot = token.indexOf('.');
  if (dot < 0) {
    const attr = ATTRIBUTES.find((a) => a.key === token.toLowerCase());
    return attr ? { group: 'attributes', key: attr.key } : undefined;
  }
  const rawGroup = token.slice(0, dot).toLowerCase();
  const group = { metric: 'metrics', param: 'params', tag: 'tags', attribute: 'attributes', attr: 'attributes', run: 'attributes' }[rawGroup] ?? rawGroup;
  if (!['metrics', 'params', 'tags', 'attributes'].includes(group)) return undefined;
  return { group, key: token.slice(dot + 1).replace(/^[`"]|[`"]$/g, '') };
}

function isNumericKey(key: { group: string; key: string }): boolean {
  if (key.group === 'metrics') return true;
  if (key.group === 'attributes') return ATTRIBUTES.find((a) => a.key === key.key)?.numeric ?? false;
  return false;
}

/** What the grammar expects after the given complete tokens (and the key in play). */
function stateAfter(tokens: Token[]): { expect: Expect; key: { group: string; key: string } | undefined } {
  let expect: Expect = 'key';
  let key: { group: string; key: string } | undefined;
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = (tokens[i] as Token).text;
    if (depth > 0) {
      if (t === '(') depth++;
      if (t === ')') depth--;
      if (depth === 0) expect = 'conj';
      continue;
    }
    switch (expect) {
      case 'key':
        key = parseKey(t);
        expect = 'op';
        break;
      case 'op':
        if (t.toUpperCase() === 'NOT') break; // NOT IN / NOT LIKE
        expect = 'value';
        break;
      case 'value':
        if (t === '(') depth = 1;
        else expect = 'conj';
        break;
      case 'conj':
        expect = 'key';
        key = undefined;
        break;
    }
  }
  return { expect, key };
}

function rank(candidates: Suggestion[], partial: string): Suggestion[] {
  const p = partial.toLowerCase();
  const starts = candidates.filter((c) => c.insert.toLowerCase().startsWith(p) || c.label.toLowerCase().startsWith(p));
  const contains = p ? candidates.filter((c) => !starts.includes(c) && c.label.toLowerCase().includes(p.replace(/^[a-z]+\./, ''))) : [];
  return [...starts, ...contains].filter((c) => c.insert !== partial).slice(0, LIMIT);
}

/** Suggestions for the caret position `caret` in `text`. */
export function suggest(text: string, caret: number, vocab: FilterVocabulary): SuggestResult {
  const before = text.slice(0, caret);
  const tokens = tokenize(before);
  const last = tokens[tokens.length - 1];
  // The word being typed is the last token when nothing (no space) follows it.
  const typing = last !== undefined && last.start + last.text.length === before.length && !/\s$/.test(before);
  const complete = typing ? tokens.slice(0, -1) : tokens;
  const partial = typing ? (last as Token).text : '';
  const from = typing ? (last as Token).start : caret;
  const { expect, key } = stateAfter(complete);

  if (expect === 'key') {
    const dot = partial.indexOf('.');
    const keyCandidates: Suggestion[] = [];
    const group = dot >= 0 ? parseKey(partial)?.group : undefined;
    const add = (g: string, keys: string[], detail: string) => {
      if (group === undefined || group === g) for (const k of keys) keyCandidates.push({ insert: `${quoteKey(g, k)} `, label: `${g}.${k}`, kind: 'key', detail });
    };
    add('metrics', vocab.metrics, 'metric');
    add('params', vocab.params, 'param');
    add('tags', vocab.tags, 'tag');
    add(
      'attributes',
      ATTRIBUTES.map((a) => a.key),
      'attribute',
    );
    const prefixes: Suggestion[] = dot >= 0 ? [] : PREFIXES.map((p) => ({ insert: p, label: p, kind: 'prefix' as const }));
    if (partial === '') return { from, suggestions: prefixes };
    return { from, suggestions: rank([...prefixes, ...keyCandidates], partial) };
  }
  if (expect === 'op') {
    const ops = key && isNumericKey(key) ? NUMBER_OPS : TEXT_OPS;
    return { from, suggestions: rank(ops.map((o) => ({ insert: `${o} `, label: o, kind: 'operator' as const })), partial) };
  }
  if (expect === 'value') {
    if (!key) return { from, suggestions: [] };
    let values: string[] = [];
    if (key.group === 'attributes' && key.key === 'status') values = STATUSES;
    else if (key.group === 'params' || key.group === 'tags') values = vocab.values[`${key.group}.${key.key}`] ?? [];
    const needle = partial.replace(/^['"]/, '').replace(/['"]$/, '');
    const candidates = values.map((v) => ({ insert: `${quoteValue(v)} `, label: v, kind: 'value' as const }));
    const p = needle.toLowerCase();
    return { from, suggestions: candidates.filter((c) => c.label.toLowerCase().includes(p)).slice(0, LIMIT) };
  }
  // After a complete condition: the only connective MLflow accepts.
  return { from, suggestions: rank([{ insert: 'and ', label: 'and', kind: 'keyword' }], partial) };
}

/** Applies a suggestion: the text and the caret after it. */
export function applySuggestion(text: string, caret: number, result: SuggestResult, suggestion: Suggestion): { text: string; caret: number } {
  const next = text.slice(0, result.from) + suggestion.insert + text.slice(caret).replace(/^\S*/, '');
  return { text: next, caret: result.from + suggestion.insert.length };
}

/** Recent searches: the newest first, no repeats, at most `max`. */
export function rememberSearch(recent: string[], filter: string, max = 10): string[] {
  const f = filter.trim();
  if (!f) return recent;
  return [f, ...recent.filter((r) => r !== f)].slice(0, max);
}
