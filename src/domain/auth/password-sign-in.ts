import { createHmac, randomBytes } from 'node:crypto';
import { unauthenticated } from './permissions.ts';
import { verifyAgainstNothing, verifyPassword, type ScryptParams } from './secrets.ts';
import type { AuthStore, UserRecord } from '../../store/auth-store.ts';
import type { SignInLimiter } from './sign-in-limiter.ts';

/** A verified user name + password is remembered this long, so Basic auth costs one scrypt per minute, not per request. */
const PASSWORD_CACHE_MS = 60 * 1000;
const PASSWORD_CACHE_MAX = 1000;

/**
 * Checks a user name and password (Basic auth and the web sign-in) under the sign-in limiter,
 * with an in-memory cache of recent successes.
 */
export class PasswordSignIn {
  /**
   * HMAC key of the password cache: a cache key reveals nothing even in a heap dump. Made by the
   * first sign-in, so that a start does not load node:crypto (scripts/build.mjs, LAZY_BUILTINS).
   */
  private cacheKey: Buffer | undefined;
  private readonly passwordCache = new Map<string, { userId: number; passwordHash: string; until: number }>();
  private readonly scrypt: ScryptParams;
  private readonly now: () => number;

  constructor(
    private readonly store: AuthStore,
    private readonly limiter: SignInLimiter,
    options: { scrypt: ScryptParams; now: () => number },
  ) {
    this.scrypt = options.scrypt;
    this.now = options.now;
  }

  /**
   * The user a right password belongs to.
   * @throws UNAUTHENTICATED for a wrong user name or password; REQUEST_LIMIT_EXCEEDED (429, with
   *   Retry-After) while the limiter makes this user/address wait
   */
  async check(typedName: string, password: string, sourceAddress: string | null): Promise<UserRecord> {
    // No user name has control characters (validateUsername), but a typed one may, and a NUL byte
    // would make PostgreSQL refuse the lookup and the audit entry: replace them, the name stays unknown.
    const username = typedName.replace(/[\u0000-\u001f\u007f]/g, '\uFFFD');
    await this.limiter.beforePassword(username, sourceAddress);
    const user = await this.store.getUserByName(username);
    if (user && user.passwordHash !== null) {
      const cacheKey = createHmac('sha256', (this.cacheKey ??= randomBytes(32))).update(`${user.id}\u0000${password}`).digest('base64url');
      const cached = this.passwordCache.get(cacheKey);
      const now = this.now();
      if (cached && cached.until > now && cached.userId === user.id && cached.passwordHash === user.passwordHash) return user;
      if (await verifyPassword(password, user.passwordHash)) {
        if (this.passwordCache.size >= PASSWORD_CACHE_MAX) this.passwordCache.clear();
        this.passwordCache.set(cacheKey, { userId: user.id, passwordHash: user.passwordHash, until: now + PASSWORD_CACHE_MS });
        await this.limiter.passwordSucceeded(username, sourceAddress).catch(() => undefined);
        return user;
      }
    } else {
      await verifyAgainstNothing(password, this.scrypt);
    }
    await this.limiter.passwordFailed(username, sourceAddress, user !== undefined);
    throw unauthenticated('Invalid user name or password.');
  }
}
