import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Passwords, access tokens and session ids: how they are made, stored and checked.
 *
 * - Passwords are hashed with scrypt and a 16-byte random salt; the cost parameters are stored
 *   with the hash (`scrypt$<N>$<r>$<p>$<salt>$<hash>`, base64url), so they can be raised later
 *   without invalidating existing hashes. Comparison is constant-time.
 * - Access tokens and session ids are 32 random bytes (base64url). Only their SHA-256 is stored:
 *   they carry 256 bits of entropy, so a fast hash is enough, and the lookup is one indexed read.
 */

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** N = 2^15, r = 8, p = 1: about 32 MiB and a few tens of milliseconds per hash. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** Upper bounds accepted from a stored hash, so a tampered row cannot exhaust memory. */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

export const TOKEN_PREFIX = 'trove_pat_';
/** `trove_pat_` + 43 base64url characters (32 bytes). */
const TOKEN_PATTERN = /^trove_pat_[A-Za-z0-9_-]{43}$/;

function scryptAsync(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 16 * 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Hashes a password for storage. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await scryptAsync(password, salt, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Checks a password against a stored hash in constant time; a malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![N, r, p].every(Number.isSafeInteger) || N < 2 || N > MAX_N || (N & (N - 1)) !== 0 || r < 1 || r > MAX_R || p < 1 || p > MAX_P) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  if (salt.length === 0 || expected.length !== KEY_LENGTH) return false;
  const actual = await scryptAsync(password, salt, { N, r, p });
  return timingSafeEqual(actual, expected);
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the time a real check would, for a user name that does not exist, so response times
 * do not tell which names exist.
 */
export async function verifyAgainstNothing(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<false> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'), params);
  await verifyPassword(password, await dummyHash);
  return false;
}

/** A random password for a new user: 20 characters from an unambiguous alphabet (~114 bits). */
export function generatePassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = randomBytes(40);
  let out = '';
  for (const byte of bytes) {
    // 57 letters: reject the top of the byte range so every letter is equally likely.
    if (byte >= 57 * 4) continue;
    out += alphabet[byte % 57];
    if (out.length === 20) return out;
  }
  return out.length === 20 ? out : generatePassword();
}

/** A new personal access token; show it once, store only `sha256Hex(token)`. */
export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** Whether a string has the shape of one of our tokens (anything else is refused before a lookup). */
export function looksLikeToken(value: string): boolean {
  return TOKEN_PATTERN.test(value);
}

/** A random session id for the web UI's cookie, and its CSRF companion. */
export function generateSessionSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Constant-time string comparison (for CSRF tokens). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** What a listing may show of a token: its prefix and first characters. */
export function tokenHint(token: string): string {
  return `${token.slice(0, TOKEN_PREFIX.length + 4)}…`;
}
