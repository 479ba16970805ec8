import { describe, expect, test } from 'vitest';
import { isSafeHref, parseInline, parseMarkdown } from './markdown.ts';

describe('markdown', () => {
  test('parses headings, paragraphs, lists and code blocks', () => {
    const blocks = parseMarkdown('# Title\n\nSome *text*\nwraps.\n\n- a\n- b\n\n```\ncode <b>\n```');
    expect(blocks.map((b) => b.kind)).toEqual(['heading', 'paragraph', 'list', 'code']);
    expect(blocks[3]).toEqual({ kind: 'code', text: 'code <b>' });
  });

  test('parses inline strong, emphasis, code and links', () => {
    expect(parseInline('a **b** `c` [d](https://x.io)')).toEqual([
      { kind: 'text', text: 'a ' },
      { kind: 'strong', children: [{ kind: 'text', text: 'b' }] },
      { kind: 'text', text: ' ' },
      { kind: 'code', text: 'c' },
      { kind: 'text', text: ' ' },
      { kind: 'link', href: 'https://x.io', children: [{ kind: 'text', text: 'd' }] },
    ]);
  });

  test('drops javascript: links but keeps their text, and never produces HTML', () => {
    expect(parseInline('[x](javascript:void)')).toEqual([{ kind: 'text', text: 'x' }]);
    expect(isSafeHref('javascript:alert(1)')).toBe(false);
    expect(isSafeHref('/models/a')).toBe(true);
    expect(parseInline('<script>')).toEqual([{ kind: 'text', text: '<script>' }]);
  });

  test('snake_case words are not emphasis', () => {
    expect(parseInline('use max_iter_value here')).toEqual([{ kind: 'text', text: 'use max_iter_value here' }]);
  });
});
