import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generatePassword, generateToken, hashPassword, looksLikeToken, safeEqual, sha256Hex, tokenHint, verifyPassword } from './secrets.ts';

const FAST = { N: 1024, r: 8, p: 1 };

describe('password hashes', () => {
  test('carry their scrypt parameters and a random salt, and verify only the right password', async () => {
    const hash = await hashPassword('correct horse battery', FAST);
    assert.match(hash, /^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.notEqual(await hashPassword('correct horse battery', FAST), hash);
    assert.equal(await verifyPassword('correct horse battery', hash), true);
    assert.equal(await verifyPassword('correct horse batterY', hash), false);
    assert.equal(await verifyPassword('', hash), false);
  });

  test('the default parameters are strong enough (N = 2^15)', async () => {
    const hash = await hashPassword('x');
    assert.match(hash, /^scrypt\$32768\$8\$1\$/);
    assert.equal(await verifyPassword('x', hash), true);
  });

  test('a malformed or tampered hash never matches and never throws', async () => {
    const hash = await hashPassword('pw', FAST);
    for (const stored of ['', 'plain', hash.replace('scrypt', 'bcrypt'), hash.replace('$1024$', '$1000$'), hash.replace('$1024$', '$4194304$'), `${hash}AA`, hash.split('$').slice(0, 5).join('$')]) {
      assert.equal(await verifyPassword('pw', stored), false, stored);
    }
  });

  test('generated passwords are 20 characters from an unambiguous alphabet, never repeating', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i += 1) {
      const password = generatePassword();
      assert.match(password, /^[A-HJ-NP-Za-km-z2-9]{20}$/);
      seen.add(password);
    }
    assert.equal(seen.size, 200);
  });
});

describe('access tokens', () => {
  test('are trove_pat_ plus 32 random bytes, recognisable by shape', () => {
    const token = generateToken();
    assert.match(token, /^trove_pat_[A-Za-z0-9_-]{43}$/);
    assert.equal(looksLikeToken(token), true);
    assert.notEqual(generateToken(), token);
    for (const other of ['', 'trove_pat_', `trove_pat_${'a'.repeat(42)}`, `trove_pat_${'a'.repeat(44)}`, `x${token}`, token.replace('trove_pat_', 'ghp_')]) {
      assert.equal(looksLikeToken(other), false, other);
    }
  });

  test('are stored as SHA-256 and shown by a short hint only', () => {
    const token = generateToken();
    assert.match(sha256Hex(token), /^[0-9a-f]{64}$/);
    assert.equal(tokenHint(token), `${token.slice(0, 14)}…`);
  });

  test('CSRF tokens compare in constant time, any length', () => {
    assert.equal(safeEqual('abc', 'abc'), true);
    assert.equal(safeEqual('abc', 'abd'), false);
    assert.equal(safeEqual('abc', 'abcd'), false);
  });
});
