import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dumpsPy, parsePyJson, PyJsonError, PyNumber, pyStr } from './py-json.ts';

describe('Python-compatible JSON', () => {
  it('writes what json.dumps writes: spaced separators and ASCII escapes', () => {
    const value = parsePyJson('{"a":[1,2.50,true,null],"é":"caf\\u00e9\\n\\u007f"}');
    assert.equal(dumpsPy(value), '{"a": [1, 2.50, true, null], "\\u00e9": "caf\\u00e9\\n\\u007f"}');
  });

  it('keeps number text, so 1.0 stays a float and big numbers stay exact', () => {
    const value = parsePyJson('[1.0, 1, 12345678901234567890, -0.5e-3, NaN, -Infinity]');
    assert.equal(dumpsPy(value), '[1.0, 1, 12345678901234567890, -0.5e-3, NaN, -Infinity]');
    assert.equal((value as PyNumber[])[0]!.isInteger, false);
    assert.equal((value as PyNumber[])[1]!.isInteger, true);
  });

  it('keeps the key order as written, integer-like keys included, and sorts keys on request', () => {
    const value = parsePyJson('{"b": {"z": 1, "a": 2}, "2": 0, "1": 0}');
    assert.equal(dumpsPy(value), '{"b": {"z": 1, "a": 2}, "2": 0, "1": 0}');
    assert.equal(dumpsPy(value, { sortKeys: true }), '{"1": 0, "2": 0, "b": {"a": 2, "z": 1}}');
  });

  it('writes characters outside the BMP as surrogate pairs, as Python does', () => {
    assert.equal(dumpsPy('😀'), '"\\ud83d\\ude00"');
  });

  it('rejects text that is not JSON', () => {
    for (const bad of ['', '{', '[1,]', '{"a" 1}', '"unterminated', '01', 'nul', '[1] x']) {
      assert.throws(() => parsePyJson(bad), PyJsonError, bad);
    }
  });

  it("renders non-string tag values as Python's str() does", () => {
    assert.equal(pyStr(true), 'True');
    assert.equal(pyStr(new PyNumber('1.5')), '1.5');
    assert.equal(pyStr(parsePyJson('{"a": [1, "x"]}')), "{'a': [1, 'x']}");
  });
});
