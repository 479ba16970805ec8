import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * MLflow's webhook signature (mlflow/webhooks/delivery.py `_generate_hmac_signature`), after the
 * Standard Webhooks convention: `v1,` + base64(HMAC-SHA256(secret, "<delivery id>.<timestamp>.<body>"))
 * where the timestamp is the X-MLflow-Timestamp header (unix seconds) and the body is the exact
 * bytes sent.
 */
export const SIGNATURE_VERSION = 'v1';

export function signWebhookPayload(secret: string, deliveryId: string, timestamp: string, body: string): string {
  const digest = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${deliveryId}.${timestamp}.${body}`, 'utf8').digest('base64');
  return `${SIGNATURE_VERSION},${digest}`;
}

/**
 * Checks a received signature header, as a receiver does. The header may list several
 * space-separated signatures (key rotation in Standard Webhooks); any valid one is enough.
 */
export function verifyWebhookSignature(secret: string, deliveryId: string, timestamp: string, body: string, header: string): boolean {
  const expected = Buffer.from(signWebhookPayload(secret, deliveryId, timestamp, body), 'utf8');
  return header.split(' ').some((candidate) => {
    const given = Buffer.from(candidate.trim(), 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
