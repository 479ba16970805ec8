import { createHmac, randomBytes } from 'node:crypto';
import { MlflowError } from '../errors.ts';
import type { AuditSink } from '../audit/audit-log.ts';
import { unauthenticated } from './permissions.ts';
import { verifyAgainstNothing, verifyPassword, type ScryptParams } from './secrets.ts';
import type { AuthStore, UserRecord } from '../../store/auth-store.ts';
import type { LoginRateLimit } from './auth-service.ts';

/** A verified user name + password is remembered this long, so Basic auth costs one scrypt per minute, not per request. */
const PASSWORD_CACHE_MS = 60 * 1000;
const PASSWORD_CACHE_MAX = 1000;

/**
 * Checks a user name and password (Basic auth and the web sign-in), with the failure limits and
 * an in-memory cache of recent successes. Split out of AuthService: sign-in rules are their own
 * concern.
 */
export class PasswordSignIn {
  /** HMAC key of the password cache: a cache key reveals nothing even in a heap dump. */
  private readonly cacheKey = randomBytes(32);
  private readonly passwordCache = new Map<string, { userId: number; passwordHash: string; until: number }>();
  private readonly scrypt: ScryptParams;
  private readonly rateLimit: LoginRateLimit;
  private readonly now: () => number;

  constructor(
    private readonly store: AuthStore,
    private readonly audit: AuditSink,
    options: { scrypt: ScryptParams; rateLimit: LoginRateLimit; now: () => number },
  ) {
    this.scrypt = options.scrypt;
    this.rateLimit = options.rateLimit;
    this.now = options.now;
  }

  async check(username: string, password: string, sourceAddress: string | null): Promise<UserRecord> {
    const keys = [`user:${username.toLowerCase().slice(0, 200)}`, ...(sourceAddress ? [`addr:${sourceAddress}`] : [])];
    await this.enforceRateLimit(keys);
    const user = await this.store.getUserByName(username);
    if (user && user.passwordHash !== null) {
      const cacheKey = createHmac('sha256', this.cacheKey).update(`${user.id}\u0000${password}`).digest('base64url');
      const cached = this.passwordCache.get(cacheKey);
      const now = this.now();
      if (cached && cached.until > now && cached.userId === user.id && cached.passwordHash === user.passwordHash) return user;
      if (await verifyPassword(password, user.passwordHash)) {
        if (this.passwordCache.size >= PASSWORD_CACHE_MAX) this.passwordCache.clear();
        this.passwordCache.set(cacheKey, { userId: user.id, passwordHash: user.passwordHash, until: now + PASSWORD_CACHE_MS });
        await this.store.clearLoginFailures(keys[0]!).catch(() => undefined);
        return user;
      }
    } else {
      await verifyAgainstNothing(password, this.scrypt);
    }
    const now = this.now();
    for (const key of keys) await this.store.recordLoginFailure(key, now, this.rateLimit.windowMs);
    await this.store.transaction(async (tx) => {
      await this.audit.record(tx, {
        action: 'user.login_failed',
        entityType: 'user',
        entityId: username.slice(0, 200),
        projectId: null,
        details: { known_user: user !== undefined },
      });
    });
    throw unauthenticated('Invalid user name or password.');
  }

  private async enforceRateLimit(keys: string[]): Promise<void> {
    const now = this.now();
    let retryAfterMs = 0;
    for (const failure of await this.store.getLoginFailures(keys)) {
      const limit = failure.key.startsWith('user:') ? this.rateLimit.perUser : this.rateLimit.perAddress;
      const windowEnd = failure.windowStart + this.rateLimit.windowMs;
      if (failure.failures >= limit && windowEnd > now) retryAfterMs = Math.max(retryAfterMs, windowEnd - now);
    }
    if (retryAfterMs > 0) {
      const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
      throw new MlflowError('REQUEST_LIMIT_EXCEEDED', `Too many failed sign-in attempts; try again in ${seconds} seconds.`, {
        headers: { 'Retry-After': String(seconds) },
      });
    }
  }
}
