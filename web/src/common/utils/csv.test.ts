import { describe, expect, test } from 'vitest';
import { csvEscape, toCsv } from './csv.ts';

describe('csv', () => {
  test('quotes commas, quotes and newlines; leaves plain cells alone', () => {
    expect(csvEscape('plain')).toBe('plain');
    expect(csvEscape('a,b')).toBe('"a,b"');
    expect(csvEscape('say "hi"')).toBe('"say ""hi"""');
    expect(csvEscape('two\nlines')).toBe('"two\nlines"');
    expect(csvEscape(undefined)).toBe('');
    expect(csvEscape(0.5)).toBe('0.5');
    expect(csvEscape(NaN)).toBe('NaN');
  });

  test('neutralises cells a spreadsheet would run as formulas, but not negative numbers', () => {
    expect(csvEscape('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    expect(csvEscape(-3)).toBe('-3');
  });

  test('builds CRLF-separated rows with a header', () => {
    expect(toCsv(['a', 'b'], [[1, 'x'], [2, undefined]])).toBe('a,b\r\n1,x\r\n2,\r\n');
  });
});
