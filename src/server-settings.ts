import path from 'node:path';
import { parseSqliteUri } from './store/sql/database.ts';

/**
 * The folder for files the server keeps beside its data (the webhook secret key file): the
 * SQLite database's folder; for PostgreSQL, the parent of a local artifact folder, else
 * ./trove-data. Null for an in-memory database with S3 artifacts (nothing on disk to sit beside).
 */
export function defaultDataDir(backendStoreUri: string, artifactsDestination: string): string | null {
  if (backendStoreUri.startsWith('sqlite:')) {
    const file = parseSqliteUri(backendStoreUri);
    if (file !== ':memory:' && file !== '') return path.dirname(path.resolve(file));
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(artifactsDestination)) return path.dirname(path.resolve(artifactsDestination));
  return backendStoreUri.startsWith('sqlite:') ? null : path.resolve('trove-data');
}

/** MLflow's webhook delivery settings, when set. */
export interface WebhookDeliverySettings {
  /** MLFLOW_WEBHOOK_REQUEST_TIMEOUT, given in seconds (MLflow's default is 30). */
  requestTimeoutMs?: number;
  /** MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES. */
  maxRetries?: number;
}

export function webhookDeliveryFromEnv(env: NodeJS.ProcessEnv): WebhookDeliverySettings {
  const settings: WebhookDeliverySettings = {};
  const timeout = numberSetting(env, 'MLFLOW_WEBHOOK_REQUEST_TIMEOUT');
  if (timeout !== undefined) settings.requestTimeoutMs = Math.round(timeout * 1000);
  const retries = numberSetting(env, 'MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES');
  if (retries !== undefined) settings.maxRetries = Math.floor(retries);
  return settings;
}

function numberSetting(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got '${raw}'.`);
  return value;
}

/**
 * TROVE_PG_PREPARED_STATEMENTS: true (the default) or false. False for a connection pooler that
 * does not keep named statements across transactions (PgBouncer in transaction mode before 1.21).
 */
export function preparedStatementsFromEnv(env: NodeJS.ProcessEnv): boolean {
  const raw = env.TROVE_PG_PREPARED_STATEMENTS?.trim().toLowerCase();
  if (raw === undefined || raw === '') return true;
  if (['true', '1', 'on', 'yes'].includes(raw)) return true;
  if (['false', '0', 'off', 'no'].includes(raw)) return false;
  throw new Error(`TROVE_PG_PREPARED_STATEMENTS must be true or false, got '${env.TROVE_PG_PREPARED_STATEMENTS}'.`);
}

/**
 * Most PostgreSQL connections one server process holds, from MLflow's settings of the same
 * meaning: MLFLOW_SQLALCHEMYSTORE_POOL_SIZE connections kept plus MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW
 * more under load (SQLAlchemy's defaults, 5 and 10, for whichever is unset). Undefined when
 * neither is set: Trove's own default applies (database.ts). node-postgres closes idle
 * connections after 30 s, so the split between kept and overflow does not matter here.
 */
export function databasePoolSizeFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const size = numberSetting(env, 'MLFLOW_SQLALCHEMYSTORE_POOL_SIZE');
  const overflow = numberSetting(env, 'MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW');
  if (size === undefined && overflow === undefined) return undefined;
  const total = Math.floor(size ?? 5) + Math.floor(overflow ?? 10);
  if (total < 1) throw new Error('MLFLOW_SQLALCHEMYSTORE_POOL_SIZE plus MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW must be at least 1.');
  return total;
}
