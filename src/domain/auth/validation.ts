import { MlflowError, missingParameter } from '../errors.ts';
import { ROLES, type Role, type TokenScope } from '../request-context.ts';

/**
 * Names and values of the auth model, checked the same way by the HTTP API, the MLflow auth API
 * and the CLI.
 */

/** MLflow's workspace name rule (Kubernetes-style), so `MLFLOW_WORKSPACE=<project>` always works. */
const PROJECT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Names that would clash with URL forms or MLflow's reserved workspace names. */
const RESERVED_PROJECT_NAMES = new Set(['api', 'ajax-api', 'static-files', 'workspaces', 'projects', 'assets', 'new']);

/** Letters, digits and `._@+-`, starting with a letter or digit; e-mail addresses fit. No `:` (Basic auth splits on it). */
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 1024;
export const TOKEN_NAME_MAX_LENGTH = 100;
export const PROJECT_DESCRIPTION_MAX_LENGTH = 5000;
/** Longest token lifetime a user may ask for. */
export const MAX_TOKEN_DAYS = 3650;

export function validateProjectName(value: unknown, field = 'name'): string {
  if (value === undefined || value === null || value === '') throw missingParameter(field);
  if (typeof value !== 'string') throw MlflowError.invalidParameter(`Invalid value for parameter '${field}': expected a string.`);
  if (value.length < 2 || value.length > 63 || !PROJECT_NAME.test(value)) {
    throw MlflowError.invalidParameter(
      `Invalid project name '${value}': use 2 to 63 lowercase letters, digits and inner hyphens (e.g. 'fraud-detection').`,
    );
  }
  if (/^\d+$/.test(value)) {
    throw MlflowError.invalidParameter(`Invalid project name '${value}': a name of digits only would be read as a project id in GitLab-style URLs.`);
  }
  if (RESERVED_PROJECT_NAMES.has(value)) throw MlflowError.invalidParameter(`Project name '${value}' is reserved.`);
  return value;
}

export function validateUsername(value: unknown, field = 'username'): string {
  if (value === undefined || value === null || value === '') throw missingParameter(field);
  if (typeof value !== 'string' || !USERNAME.test(value)) {
    throw MlflowError.invalidParameter(
      `Invalid user name ${JSON.stringify(String(value))}: use 1 to 64 letters, digits and . _ @ + -, starting with a letter or digit.`,
    );
  }
  return value;
}

/** Checks a new password. The message never repeats the password. */
export function validatePassword(value: unknown, field = 'password'): string {
  if (value === undefined || value === null || value === '') throw missingParameter(field);
  if (typeof value !== 'string') throw MlflowError.invalidParameter(`Invalid value for parameter '${field}': expected a string.`);
  if (value.length < PASSWORD_MIN_LENGTH) throw MlflowError.invalidParameter(`The password must be at least ${PASSWORD_MIN_LENGTH} characters long.`);
  if (value.length > PASSWORD_MAX_LENGTH) throw MlflowError.invalidParameter(`The password must be at most ${PASSWORD_MAX_LENGTH} characters long.`);
  return value;
}

export function parseRole(value: unknown, field = 'role'): Role {
  if (value === undefined || value === null || value === '') throw missingParameter(field);
  const text = String(value).toLowerCase();
  const role = ROLES.find((r) => r === text);
  if (!role) throw MlflowError.invalidParameter(`Invalid role '${String(value)}'. Valid roles are ${ROLES.join(', ')}.`);
  return role;
}

export function parseScope(value: unknown): TokenScope {
  if (value === undefined || value === null || value === '') throw missingParameter('scope');
  const text = String(value).toLowerCase();
  if (text !== 'read' && text !== 'write') throw MlflowError.invalidParameter(`Invalid token scope '${String(value)}'. Valid scopes are read, write.`);
  return text;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A token lifetime: `90d`, `12h`, `2w`, `1y` or a number of days. Returns milliseconds.
 * @throws INVALID_PARAMETER_VALUE for anything else, or more than ten years
 */
export function parseDuration(value: string): number {
  const match = /^\s*(\d+)\s*([hdwy]?)\s*$/i.exec(value);
  if (!match) throw MlflowError.invalidParameter(`Invalid expiry '${value}': use a number of days, or e.g. 12h, 90d, 2w, 1y.`);
  const amount = Number(match[1]);
  const unit = (match[2] || 'd').toLowerCase();
  const ms = amount * { h: 60 * 60 * 1000, d: DAY_MS, w: 7 * DAY_MS, y: 365 * DAY_MS }[unit as 'h' | 'd' | 'w' | 'y'];
  if (amount <= 0) throw MlflowError.invalidParameter(`Invalid expiry '${value}': it must be in the future.`);
  if (ms > MAX_TOKEN_DAYS * DAY_MS) throw MlflowError.invalidParameter(`Invalid expiry '${value}': at most ${MAX_TOKEN_DAYS} days.`);
  return ms;
}

export function validateTokenName(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = String(value);
  if (text.length > TOKEN_NAME_MAX_LENGTH) throw MlflowError.invalidParameter(`Token names are at most ${TOKEN_NAME_MAX_LENGTH} characters long.`);
  if (/[\u0000-\u001f\u007f]/.test(text)) throw MlflowError.invalidParameter('Token names may not contain control characters.');
  return text;
}

export function validateProjectDescription(value: unknown): string | null {
  if (value === undefined || value === null || value === '') return null;
  const text = String(value);
  if (text.length > PROJECT_DESCRIPTION_MAX_LENGTH) {
    throw MlflowError.invalidParameter(`Project descriptions are at most ${PROJECT_DESCRIPTION_MAX_LENGTH} characters long.`);
  }
  return text;
}
