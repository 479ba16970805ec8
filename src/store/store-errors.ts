/**
 * Errors the stores raise for conditions the domain turns into MLflow errors. Stores never throw
 * MlflowError themselves (they sit below the domain); services catch these at the boundary.
 */
export class UniqueViolationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UniqueViolationError';
  }
}

/** A page token whose sort keys do not fit the search it was sent with (another order_by, say). */
export class InvalidPageTokenError extends Error {
  constructor(message = 'Invalid page token: it does not belong to this search (filter or order_by changed).') {
    super(message);
    this.name = 'InvalidPageTokenError';
  }
}

/** SQLSTATEs after which the same request can succeed if sent again. */
const TRANSIENT_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
  '55P03', // lock_not_available
  '57P01', // admin_shutdown: the server is stopping or restarting
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: the server is starting up
]);

/** Socket errors of a database connection that broke or could not be opened. */
const NETWORK_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** SQLite result codes of a lock that outlasted the busy timeout ("database is locked"). */
const SQLITE_BUSY_CODES = new Set(['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_TIMEOUT', 'SQLITE_BUSY_RECOVERY', 'SQLITE_LOCKED']);

/** node-postgres reports a connection it lost or could not open by message only, without a code. */
const PG_CONNECTION_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Connection is closed)/i;

/**
 * Whether a database driver error means "unavailable for now" rather than "this request is
 * wrong": the database restarted or dropped the connection, could not be reached, is out of
 * connections, or picked this transaction as a deadlock or serialization victim. The failed
 * transaction was rolled back (only a connection lost during COMMIT leaves its outcome unknown, as
 * with any database client), so the client may send the same request again: the HTTP layer answers
 * 503 TEMPORARILY_UNAVAILABLE, which the MLflow client retries. The connection pool replaces
 * broken connections on its own, so the server recovers without a restart.
 *
 * The error's `cause` chain is searched too, since wrappers keep the driver error there.
 */
export function isTransientStoreError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth += 1) {
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === 'string') {
      if (TRANSIENT_SQLSTATES.has(code) || code.startsWith('08')) return true;
      if (NETWORK_ERROR_CODES.has(code) || SQLITE_BUSY_CODES.has(code)) return true;
    } else if (typeof message === 'string' && PG_CONNECTION_MESSAGES.test(message)) {
      return true;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Whether a database driver error means "this value cannot be stored": PostgreSQL's data
 * exceptions (SQLSTATE class 22), e.g. a NUL byte in text ("invalid byte sequence for encoding
 * UTF8: 0x00"), a number out of range or an unparsable value. Only what the client sent causes
 * them, and the statement's transaction was rolled back, so the HTTP layer answers 400 and
 * nothing was written. SQLite stores such values as they are and never raises these.
 */
export function isInvalidDataStoreError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth += 1) {
    const { code, severity } = current as { code?: unknown; severity?: unknown };
    // node-postgres errors carry a severity; other libraries' codes starting with 22 are not SQLSTATEs.
    if (typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code) && typeof severity === 'string') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
