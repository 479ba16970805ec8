import { MlflowError } from '../errors.ts';
import type { AuditSink } from '../audit/audit-log.ts';
import type { AuthStore } from '../../store/auth-store.ts';

/**
 * Failed-credential limits that slow an attacker without locking out the victim.
 *
 * A fixed lock ("10 failures lock the account for 15 minutes", "30 failures block the address")
 * lets any stranger lock any user out, or lock everybody behind a shared NAT out, just by
 * failing on purpose. Instead every failure counts against keys, and each key demands a wait
 * that doubles with every failure past a free allowance (exponential back-off, capped):
 *
 * - **(user name, address)**: the main brake on guessing one user's password from one place.
 *   It never affects the same user signing in from another address.
 * - **address**, over all user names: slows password spraying from one address. It does not
 *   apply to a user who has signed in successfully from that address before (a "known" pair),
 *   so a shared office address under attack keeps working for its regular users.
 * - **user name**, over all addresses: slows a distributed attack on one account, again not for
 *   known pairs, so the owner keeps working from the places they use.
 * - **bad access tokens**, per address: a scanner gets 429s; a valid token always works.
 *
 * Waits end by themselves (no permanent lock), and failures are forgotten `resetAfterMs` after the
 * last one. Nothing is checked or counted in memory only: the counters live in the database
 * (`login_failures`), so several server processes share them. Every refusal and every failure is
 * appended to the audit log.
 */
export interface BackoffRule {
  /** Failures allowed before the first wait. */
  freeFailures: number;
  /** The first wait; each further failure doubles it. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface SignInLimits {
  pair: BackoffRule;
  address: BackoffRule;
  account: BackoffRule;
  token: BackoffRule;
  /** Failures are forgotten this long after the last one. */
  resetAfterMs: number;
  /** A (user, address) pair stays known this long after its last successful sign-in. */
  knownForMs: number;
}

export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = Object.freeze({
  pair: { freeFailures: 5, baseDelayMs: 1000, maxDelayMs: 15 * 60 * 1000 },
  address: { freeFailures: 50, baseDelayMs: 1000, maxDelayMs: 5 * 60 * 1000 },
  account: { freeFailures: 100, baseDelayMs: 1000, maxDelayMs: 60 * 1000 },
  token: { freeFailures: 20, baseDelayMs: 1000, maxDelayMs: 5 * 60 * 1000 },
  resetAfterMs: 24 * 60 * 60 * 1000,
  knownForMs: 30 * 24 * 60 * 60 * 1000,
});

/** A known pair's marker is rewritten at most this often (not on every Basic-auth request). */
const KNOWN_REFRESH_MS = 24 * 60 * 60 * 1000;

/** How long a rule makes one wait after `failures` failures (0: no wait). */
export function backoffDelay(rule: BackoffRule, failures: number): number {
  if (failures < rule.freeFailures) return 0;
  const exponent = Math.min(failures - rule.freeFailures, 30);
  return Math.min(rule.maxDelayMs, rule.baseDelayMs * 2 ** exponent);
}

type Kind = 'pair' | 'address' | 'account' | 'token';

interface Keys {
  pair: string;
  address: string;
  account: string;
  known: string;
}

export class SignInLimiter {
  private readonly limits: SignInLimits;

  constructor(
    private readonly store: AuthStore,
    private readonly audit: AuditSink,
    limits: Partial<SignInLimits> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { ...DEFAULT_SIGN_IN_LIMITS, ...limits };
  }

  private keys(username: string, address: string | null): Keys {
    const user = username.toLowerCase().slice(0, 200);
    const from = address ?? 'unknown';
    // JSON-encoded parts: unambiguous, and free of NUL bytes, which PostgreSQL text refuses (a
    // name typed at the sign-in form may contain any character).
    const pairKey = JSON.stringify([user, from]);
    return { pair: `pair:${pairKey}`, address: `from:${JSON.stringify(from)}`, account: `acct:${JSON.stringify(user)}`, known: `known:${pairKey}` };
  }

  /**
   * Before a password is checked: refuses (429 with Retry-After) while a wait is running.
   * @returns whether the pair is known (signed in successfully from this address before)
   * @throws MlflowError REQUEST_LIMIT_EXCEEDED
   */
  async beforePassword(username: string, address: string | null): Promise<{ known: boolean }> {
    const keys = this.keys(username, address);
    const rows = new Map((await this.store.getLoginFailures([keys.pair, keys.address, keys.account, keys.known])).map((r) => [r.key, r]));
    const now = this.now();
    const knownRow = rows.get(keys.known);
    const known = knownRow !== undefined && now - knownRow.windowStart < this.limits.knownForMs;
    const checks: [Kind, string][] = [['pair', keys.pair]];
    if (!known) checks.push(['address', keys.address], ['account', keys.account]);
    let wait = 0;
    let reason: Kind | undefined;
    for (const [kind, key] of checks) {
      const row = rows.get(key);
      if (!row || now - row.windowStart >= this.limits.resetAfterMs) continue;
      const until = row.windowStart + backoffDelay(this.limits[kind], row.failures);
      if (until - now > wait) {
        wait = until - now;
        reason = kind;
      }
    }
    if (wait > 0) await this.refuse(reason!, username, address, wait);
    return { known };
  }

  /** After a wrong password: counts it against the pair, the address and the user name. */
  async passwordFailed(username: string, address: string | null, knownUser: boolean): Promise<void> {
    const keys = this.keys(username, address);
    const now = this.now();
    for (const key of [keys.pair, keys.address, keys.account]) await this.store.recordSignInFailure(key, now, this.limits.resetAfterMs);
    await this.audit.recordStandalone({
      action: 'user.login_failed',
      entityType: 'user',
      entityId: username.slice(0, 200),
      projectId: null,
      details: { known_user: knownUser },
    });
  }

  /** After a right password: the pair's failures are forgiven and the pair becomes known. */
  async passwordSucceeded(username: string, address: string | null): Promise<void> {
    const keys = this.keys(username, address);
    const rows = await this.store.getLoginFailures([keys.pair, keys.known]);
    const now = this.now();
    if (rows.some((r) => r.key === keys.pair)) await this.store.clearLoginFailures(keys.pair);
    const known = rows.find((r) => r.key === keys.known);
    if (!known || now - known.windowStart >= KNOWN_REFRESH_MS) await this.store.markSignInKnown(keys.known, now);
  }

  /**
   * After a token that is malformed, unknown, revoked or expired: refused with 429 while the
   * address waits, otherwise counted. A valid token never comes here.
   * @throws MlflowError REQUEST_LIMIT_EXCEEDED
   */
  async tokenRejected(address: string | null, why: string): Promise<void> {
    const key = `tok:${address ?? 'unknown'}`;
    const now = this.now();
    const [row] = await this.store.getLoginFailures([key]);
    if (row && now - row.windowStart < this.limits.resetAfterMs) {
      const wait = row.windowStart + backoffDelay(this.limits.token, row.failures) - now;
      if (wait > 0) await this.refuse('token', null, address, wait);
    }
    await this.store.recordSignInFailure(key, now, this.limits.resetAfterMs);
    await this.audit.recordStandalone({ action: 'token.auth_failed', entityType: 'access_token', entityId: '-', projectId: null, details: { reason: why } });
  }

  private async refuse(kind: Kind, username: string | null, address: string | null, waitMs: number): Promise<never> {
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    await this.audit.recordStandalone({
      action: 'auth.throttled',
      entityType: kind === 'token' ? 'access_token' : 'user',
      entityId: username?.slice(0, 200) ?? '-',
      projectId: null,
      details: { limit: kind, retry_after_s: seconds },
    });
    throw new MlflowError(
      'REQUEST_LIMIT_EXCEEDED',
      kind === 'token' ? `Too many invalid access tokens from this address; try again in ${seconds} seconds.` : `Too many failed sign-in attempts; try again in ${seconds} seconds.`,
      { headers: { 'Retry-After': String(seconds) } },
    );
  }
}
