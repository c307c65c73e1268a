/**
 * Retry delays exactly as the Knative Kafka broker computes them
 * (`WebClientCloudEventSender.computeRetryPolicy`, called with the 1-based retry number):
 *   linear:      backoffDelay * n
 *   exponential: backoffDelay * 2^n      (so the first retry already waits 2 * backoffDelay)
 * then capped by Tributary's `backoffMax` when set.
 */
export interface BackoffSettings {
  backoffPolicy: 'linear' | 'exponential';
  backoffDelayMs: number;
  backoffMaxMs?: number | undefined;
}

/** Delay before retry number `retry` (1 = the first retry), in ms. */
export function retryDelayMs(retry: number, s: BackoffSettings): number {
  if (retry < 1 || s.backoffDelayMs <= 0) return 0;
  const raw = s.backoffPolicy === 'linear' ? s.backoffDelayMs * retry : s.backoffDelayMs * 2 ** retry;
  const capped = s.backoffMaxMs !== undefined ? Math.min(raw, s.backoffMaxMs) : raw;
  return Math.min(capped, MAX_TIMER_MS);
}

/** setTimeout's limit (2^31-1 ms, ~24.8 days); longer delays would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Cap for the endless retries of an undeliverable dead letter when no `backoffMax` is set. */
export const DEAD_LETTER_MAX_DELAY_MS = 60_000;

/** Delay before dead-letter retry `n`: the same curve, capped by backoffMax or 60 s so it never stalls. */
export function deadLetterRetryDelayMs(retry: number, s: BackoffSettings): number {
  const cap = s.backoffMaxMs ?? DEAD_LETTER_MAX_DELAY_MS;
  const n = Math.min(retry, 40); // 2^40 * delay overflows nothing and is capped anyway
  return Math.max(retryDelayMs(n, { ...s, backoffMaxMs: cap }), Math.min(100, cap));
}

/**
 * Status codes worth retrying (Knative data plane: 5xx, 404, 408, 409, 429): the publisher SDK's rule, one
 * definition for the SDK and the dispatcher.
 */
export { isRetryableStatus } from '@tributary/shared';
