import { describe, expect, it } from 'vitest';
import { applySuggestion, quoteKey, rememberSearch, suggest, tokenize, type FilterVocabulary } from './filter-suggest.ts';

const vocab: FilterVocabulary = {
  metrics: ['accuracy', 'loss', 'val loss'],
  params: ['penalty', 'C'],
  tags: ['team'],
  values: { 'params.penalty': ['l1', 'l2'], 'tags.team': ['vision', "o'brien"] },
};

const labels = (text: string, caret = text.length) => suggest(text, caret, vocab).suggestions.map((s) => s.label);

describe('filter suggestions', () => {
  it('offers the four key prefixes in an empty box', () => {
    expect(labels('')).toEqual(['metrics.', 'params.', 'tags.', 'attributes.']);
  });

  it('offers the experiment’s keys of a group once its prefix is typed', () => {
    expect(labels('metrics.')).toEqual(['metrics.accuracy', 'metrics.loss', 'metrics.val loss']);
    expect(labels('params.pen')).toEqual(['params.penalty']);
    expect(labels('attributes.st')).toEqual(['attributes.status', 'attributes.start_time']);
  });

  it('finds a key by part of its name without a prefix', () => {
    expect(labels('acc')).toContain('metrics.accuracy');
  });

  it('offers comparison operators after a metric and text operators after a param', () => {
    expect(labels('metrics.loss ')).toEqual(['>', '>=', '<', '<=', '=', '!=']);
    expect(labels('params.penalty ')).toEqual(['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN']);
  });

  it('offers the values seen for a param or tag, quoted, and the run statuses', () => {
    const result = suggest('params.penalty = ', 17, vocab);
    expect(result.suggestions.map((s) => s.insert)).toEqual(["'l1' ", "'l2' "]);
    expect(labels("tags.team = 'vi")).toEqual(['vision']);
    expect(labels('attributes.status = ')).toContain('FINISHED');
    expect(suggest("tags.team = ", 12, vocab).suggestions[1]?.insert).toBe("'o\\'brien' ");
  });

  it('offers `and` after a complete condition, then keys again', () => {
    expect(labels("params.penalty = 'l2' ")).toEqual(['and']);
    expect(labels("params.penalty = 'l2' and metrics.a")).toContain('metrics.accuracy');
    expect(labels("params.penalty IN ('l1', 'l2') ")).toEqual(['and']);
  });

  it('backticks keys that are not plain identifiers', () => {
    expect(quoteKey('metrics', 'val loss')).toBe('metrics.`val loss`');
    expect(quoteKey('params', 'C')).toBe('params.C');
    expect(suggest('metrics.val', 11, vocab).suggestions[0]?.insert).toBe('metrics.`val loss` ');
  });

  it('replaces the partial word at the caret with the chosen suggestion', () => {
    const text = 'metrics.acc';
    const result = suggest(text, text.length, vocab);
    const first = result.suggestions[0];
    expect(first).toBeDefined();
    expect(applySuggestion(text, text.length, result, first!)).toEqual({ text: 'metrics.accuracy ', caret: 17 });
  });

  it('tokenizes quoted strings with spaces and backticked keys as one token', () => {
    expect(tokenize("tags.`my tag` = 'a b' and x").map((t) => t.text)).toEqual(['tags.`my tag`', '=', "'a b'", 'and', 'x']);
  });

  it('keeps recent searches newest first, without repeats, ten at most', () => {
    expect(rememberSearch(['a', 'b'], 'b')).toEqual(['b', 'a']);
    expect(rememberSearch(['a'], '  ')).toEqual(['a']);
    expect(rememberSearch(Array.from({ length: 10 }, (_, i) => String(i)), 'new')).toHaveLength(10);
  });
});
