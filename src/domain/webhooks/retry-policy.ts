/**
 * When a webhook delivery is retried, and when it is given up.
 *
 * An answer in 2xx is a delivery. No answer (refused, reset, timed out), 408, 429 and 5xx are
 * worth retrying: the receiver is down, overloaded or restarting. Any other answer (4xx, and 1xx
 * or 3xx since redirects are not followed) will not change by sending the same request again, so
 * the delivery fails at once.
 *
 * Retries back off exponentially from `baseDelayMs` (1 s, 2 s, 4 s, …) up to `maxDelayMs`, with
 * jitter so a recovering receiver is not hit by every delivery in the same instant, and wait at
 * least as long as a Retry-After header asks (capped at `maxRetryAfterMs`). A delivery keeps being
 * retried until `retryWindowMs` after it was created (24 hours by default), so a receiver that is
 * down for minutes or hours still gets every event once it is back, in at most `maxDelayMs`.
 */
export interface RetryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  retryWindowMs: number;
  maxRetryAfterMs: number;
  /** Extra random delay, as a fraction of the computed delay (0 = none). */
  jitter: number;
  /**
   * Retries after the first attempt (MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES when set). Unlimited by
   * default: Trove's outbox keeps retrying for the whole window instead of giving up after a few
   * seconds as MLflow's in-process sender does.
   */
  maxRetries: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseDelayMs: 1000,
  maxDelayMs: 5 * 60 * 1000,
  retryWindowMs: 24 * 60 * 60 * 1000,
  maxRetryAfterMs: 60 * 60 * 1000,
  jitter: 0.2,
  maxRetries: Number.POSITIVE_INFINITY,
};

export type AnswerClass = 'delivered' | 'retry' | 'failed';

/** What an answer (or its absence, `null`) means for the delivery. */
export function classifyAnswer(status: number | null): AnswerClass {
  if (status === null) return 'retry';
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'failed';
}

/**
 * The wait before the next attempt, after `attempts` attempts have been made (1 after the first).
 */
export function retryDelay(attempts: number, retryAfterMs: number | null, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 30);
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  const jittered = backoff + backoff * policy.jitter * random();
  const delay = Math.min(policy.maxDelayMs, Math.round(jittered));
  if (retryAfterMs === null) return delay;
  return Math.max(delay, Math.min(retryAfterMs, policy.maxRetryAfterMs));
}

/** Whether a retry at `nextAttemptAt` still falls inside the delivery's retry window. */
export function withinRetryWindow(createdAt: number, nextAttemptAt: number, policy: RetryPolicy): boolean {
  return nextAttemptAt - createdAt <= policy.retryWindowMs;
}
