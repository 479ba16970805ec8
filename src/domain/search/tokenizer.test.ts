import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isKeyword, tokenize, type Token } from './tokenizer.ts';

function kinds(tokens: Token[] | null): string[] {
  assert.ok(tokens !== null);
  return tokens.map((t) => t.kind);
}

describe('tokenize', () => {
  test('a dotted identifier with quoted pieces is a single name token', () => {
    const tokens = tokenize('params.`my param` tags."mlflow.user"');
    assert.ok(tokens !== null);
    assert.equal(tokens.length, 2);
    const [first, second] = tokens;
    assert.ok(first?.kind === 'name' && second?.kind === 'name');
    assert.deepEqual(first.parts, [
      { text: 'params', quote: null },
      { text: 'my param', quote: '`' },
    ]);
    assert.deepEqual(second.parts, [
      { text: 'tags', quote: null },
      { text: 'mlflow.user', quote: '"' },
    ]);
  });

  test('single-quoted strings unescape a doubled quote and a backslash-escaped quote', () => {
    const tokens = tokenize(`'it''s' 'it\\'s'`);
    assert.ok(tokens !== null);
    assert.deepEqual(
      tokens.map((t) => (t.kind === 'string' ? t.value : null)),
      ["it's", "it's"],
    );
  });

  test('a double backslash becomes one backslash while other backslashes are kept verbatim', () => {
    const tokens = tokenize(String.raw`'a\\b' 'C:\temp\_x'`);
    assert.ok(tokens !== null);
    assert.deepEqual(
      tokens.map((t) => (t.kind === 'string' ? t.value : null)),
      ['a\\b', 'C:\\temp\\_x'],
    );
  });

  test('numbers may be negative, fractional or scientific', () => {
    const tokens = tokenize('-1 2.5 .5 1e3 -2.5E-3 7.');
    assert.ok(tokens !== null);
    assert.deepEqual(
      tokens.map((t) => (t.kind === 'number' ? t.value : null)),
      [-1, 2.5, 0.5, 1000, -0.0025, 7],
    );
  });

  test('a number glued to letters is read as one bare word rather than a number', () => {
    const tokens = tokenize('1abc');
    assert.ok(tokens !== null && tokens[0]?.kind === 'name');
    assert.deepEqual(tokens[0].parts, [{ text: '1abc', quote: null }]);
  });

  test('comparison operators are grouped so unknown ones like == stay one token', () => {
    const tokens = tokenize('a==1 b<>2 c>=3');
    assert.ok(tokens !== null);
    assert.deepEqual(
      tokens.filter((t) => t.kind === 'op').map((t) => (t.kind === 'op' ? t.text : '')),
      ['==', '<>', '>='],
    );
  });

  test('parentheses, commas and other symbols become punctuation tokens', () => {
    assert.deepEqual(kinds(tokenize("('a', 'b');")), ['punct', 'string', 'punct', 'string', 'punct', 'punct']);
  });

  test('an unterminated string, double-quoted name or backtick name is a lexical error', () => {
    assert.equal(tokenize("name = 'abc"), null);
    assert.equal(tokenize('tags."abc = 1'), null);
    assert.equal(tokenize('tags.`abc = 1'), null);
  });

  test('token offsets point back at the exact source text', () => {
    const src = "  metrics.a  >=  'x y'";
    const tokens = tokenize(src);
    assert.ok(tokens !== null);
    assert.deepEqual(
      tokens.map((t) => src.slice(t.start, t.end)),
      ['metrics.a', '>=', "'x y'"],
    );
  });

  test('keywords are recognised case-insensitively but never when quoted or dotted', () => {
    const tokens = tokenize('and AnD `and` x.and');
    assert.ok(tokens !== null);
    assert.deepEqual(
      tokens.map((t) => isKeyword(t, 'AND')),
      [true, true, false, false],
    );
  });
});
