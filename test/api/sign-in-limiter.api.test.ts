import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAuthServer, type AuthHarness } from '../support/auth-harness.ts';
import { backoffDelay, DEFAULT_SIGN_IN_LIMITS } from '../../src/domain/auth/sign-in-limiter.ts';

const API = '/api/2.0';
const SEARCH = `/projects/p1${API}/mlflow/experiments/search`;
const ATTACKER = '203.0.113.66';
const OFFICE = '198.51.100.10';
const HOME = '192.0.2.44';

describe('the sign-in limiter slows attackers, never locks out the victim', () => {
  let h: AuthHarness;
  let clock = Date.parse('2026-06-01T12:00:00Z');

  before(async () => {
    // MLflow's defaults, with the client address taken from X-Forwarded-For (inject connects from 127.0.0.1).
    h = await startAuthServer({ config: { trustProxy: '127.0.0.1' }, signInLimits: DEFAULT_SIGN_IN_LIMITS, now: () => clock });
    const project = await h.createProject('p1');
    for (const name of ['admin2', 'dave', 'erin']) {
      await h.createUser(name, { password: `${name}-password-ok`, admin: name === 'admin2' });
      await h.addMember(project, name, 'developer');
    }
  });
  after(async () => h?.close());

  const basic = (user: string, password: string, from: string) =>
    h.request('GET', SEARCH, { as: { basic: [user, password] }, headers: { 'x-forwarded-for': from } });
  const login = (user: string, password: string, from: string) =>
    h.request('POST', `${API}/trove/auth/login`, { body: { username: user, password }, headers: { 'x-forwarded-for': from } });

  it('ten wrong passwords from a stranger do not stop the admin signing in from elsewhere', async () => {
    let throttled = 0;
    for (let i = 0; i < 10; i++) {
      const wrong = await basic('admin2', `guess-${i}`, ATTACKER);
      if (wrong.status === 429) {
        throttled += 1;
        clock += Number(wrong.headers['retry-after']) * 1000;
      } else assert.equal(wrong.status, 401);
    }
    assert.ok(throttled > 0, 'the attacker was made to wait');
    assert.equal((await basic('admin2', 'admin2-password-ok', OFFICE)).status, 200);
    assert.equal((await login('admin2', 'admin2-password-ok', HOME)).status, 200, 'the web sign-in too');
  });

  it('the wait doubles per failure past the free ones and ends by itself (no permanent lock)', async () => {
    const free = DEFAULT_SIGN_IN_LIMITS.pair.freeFailures;
    for (let i = 0; i < free; i++) assert.equal((await basic('dave', 'wrong', ATTACKER)).status, 401);
    const first = await basic('dave', 'dave-password-ok', ATTACKER);
    assert.equal(first.status, 429, 'even the right password waits on this pair');
    assert.equal(first.body.error_code, 'REQUEST_LIMIT_EXCEEDED');
    assert.equal(first.headers['retry-after'], '1');
    clock += 1000;
    assert.equal((await basic('dave', 'wrong', ATTACKER)).status, 401);
    const second = await basic('dave', 'wrong', ATTACKER);
    assert.equal(second.headers['retry-after'], '2');
    clock += 2000;
    assert.equal((await basic('dave', 'wrong', ATTACKER)).status, 401);
    assert.equal((await basic('dave', 'wrong', ATTACKER)).headers['retry-after'], '4');
    // The owner from home meanwhile: unaffected.
    assert.equal((await basic('dave', 'dave-password-ok', HOME)).status, 200);
    // After the wait, the right password works even from the attacker's address, and forgives the pair.
    clock += 4000;
    assert.equal((await basic('dave', 'dave-password-ok', ATTACKER)).status, 200);
    assert.equal((await basic('dave', 'wrong', ATTACKER)).status, 401, 'failures start again from zero');
  });

  it('password spraying from one address is slowed, but its regular users keep signing in', async () => {
    // erin signs in from the office once: the pair becomes known.
    assert.equal((await basic('erin', 'erin-password-ok', OFFICE)).status, 200);
    for (let i = 0; i < DEFAULT_SIGN_IN_LIMITS.address.freeFailures + 10; i++) {
      const res = await basic(`sprayed-${i}`, 'Winter2026!', OFFICE);
      if (res.status === 429) clock += Number(res.headers['retry-after']) * 1000;
    }
    const stranger = await basic('nobody-new', 'Winter2026!', OFFICE);
    assert.equal(stranger.status, 429, 'the sprayer waits');
    assert.equal((await basic('erin', 'erin-password-ok', OFFICE)).status, 200, 'a known user from that address does not');
    assert.equal((await basic('admin2', 'admin2-password-ok', HOME)).status, 200);
  });

  it('rejected access tokens are limited per address; a valid token always works', async () => {
    const token = await h.createToken('erin', { project: 'p1' });
    const bearer = (value: string) => h.request('GET', SEARCH, { headers: { authorization: `Bearer ${value}`, 'x-forwarded-for': ATTACKER } });
    for (let i = 0; i < DEFAULT_SIGN_IN_LIMITS.token.freeFailures; i++) {
      assert.equal((await bearer(`trove_pat_${'x'.repeat(42)}${i % 10}`)).status, 401);
    }
    const limited = await bearer('not-a-token');
    assert.equal(limited.status, 429);
    assert.match(limited.body.message, /access tokens/);
    assert.equal((await bearer(token)).status, 200);
  });

  it('every decision is in the audit log: failures and refusals, with the client address', async () => {
    const audit = h.server.services.audit!;
    const failed = await audit.query({ action: 'user.login_failed' }, { maxResults: 1000 });
    assert.ok(failed.entries.length >= 10);
    assert.ok(failed.entries.some((e) => e.sourceAddress === ATTACKER));
    const throttled = await audit.query({ action: 'auth.throttled' }, { maxResults: 1000 });
    assert.ok(throttled.entries.some((e) => (JSON.parse(e.details ?? '{}') as { limit?: string }).limit === 'pair'));
    assert.ok(throttled.entries.some((e) => (JSON.parse(e.details ?? '{}') as { limit?: string }).limit === 'address'));
    assert.ok(throttled.entries.some((e) => (JSON.parse(e.details ?? '{}') as { limit?: string }).limit === 'token'));
    const tokens = await audit.query({ action: 'token.auth_failed' }, { maxResults: 1000 });
    assert.ok(tokens.entries.length >= DEFAULT_SIGN_IN_LIMITS.token.freeFailures);
    assert.ok(!JSON.stringify([failed, throttled, tokens]).includes('guess-'), 'no password in the log');
  });
});

describe('back-off arithmetic', () => {
  it('is free up to the allowance, then doubles up to the cap', () => {
    const rule = { freeFailures: 3, baseDelayMs: 1000, maxDelayMs: 10_000 };
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 40].map((n) => backoffDelay(rule, n)), [0, 0, 0, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  });
});
