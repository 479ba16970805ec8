import { MlflowError } from '../errors.ts';

/** MLflow's `_WEBHOOK_NAME_REGEX` (case-insensitive). */
const WEBHOOK_NAME = /^(?=.{1,63}$)[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/i;

export const MAX_WEBHOOK_DESCRIPTION_LENGTH = 5000;
export const MAX_WEBHOOK_URL_LENGTH = 4096;
export const MAX_WEBHOOK_SECRET_LENGTH = 1024;

export function validateWebhookName(name: string): void {
  if (!WEBHOOK_NAME.test(name)) {
    throw MlflowError.invalidParameter(
      `Webhook name '${name}' is invalid. It must start and end with a letter or digit, be less than 63 characters long, and contain only letters, digits, dots (.), underscores (_), and hyphens (-).`,
    );
  }
}

/**
 * A webhook URL: absolute, with a host, and a scheme from `allowedSchemes`.
 *
 * Upstream MLflow accepts only `https` by default (MLFLOW_WEBHOOK_ALLOWED_SCHEMES) and refuses
 * hosts that resolve to private addresses (SSRF protection for multi-tenant hosting). Trove is
 * self-hosted next to its receivers (a CI runner, a deployment service on the same network), so it
 * allows `http` and private addresses by default; `trove server --webhook-require-https` restores
 * the https-only rule.
 */
export function validateWebhookUrl(url: string, allowedSchemes: readonly string[]): void {
  if (url.trim() === '') {
    throw MlflowError.invalidParameter(`Webhook URL cannot be empty or just whitespace: '${url}'`);
  }
  if (url.length > MAX_WEBHOOK_URL_LENGTH) {
    throw MlflowError.invalidParameter(`Webhook URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters.`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase() ?? '';
    if (scheme === '' || !allowedSchemes.includes(scheme)) throw schemeError(scheme, allowedSchemes);
    throw MlflowError.invalidParameter(`Invalid webhook URL '${url}'.`);
  }
  const scheme = parsed.protocol.replace(/:$/, '').toLowerCase();
  if (!allowedSchemes.includes(scheme)) throw schemeError(scheme, allowedSchemes);
  if (parsed.hostname === '') {
    throw MlflowError.invalidParameter(`Webhook URL must include a hostname: '${url}'`);
  }
}

function schemeError(scheme: string, allowedSchemes: readonly string[]): MlflowError {
  return MlflowError.invalidParameter(`Invalid webhook URL scheme: '${scheme}'. Allowed schemes are: ${allowedSchemes.join(', ')}.`);
}
