import { describe, expect, it } from '@jest/globals';
import { deadLetterRetryDelayMs, isRetryableStatus, retryDelayMs } from './backoff.js';

describe('retryDelayMs (Knative Kafka broker formula)', () => {
  it('exponential: backoffDelay * 2^n for the n-th retry', () => {
    const s = { backoffPolicy: 'exponential' as const, backoffDelayMs: 100 };
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, s))).toEqual([200, 400, 800, 1600]);
  });

  it('linear: backoffDelay * n', () => {
    const s = { backoffPolicy: 'linear' as const, backoffDelayMs: 250 };
    expect([1, 2, 3].map((n) => retryDelayMs(n, s))).toEqual([250, 500, 750]);
  });

  it('backoffMax caps each delay', () => {
    const s = { backoffPolicy: 'exponential' as const, backoffDelayMs: 100, backoffMaxMs: 500 };
    expect([1, 2, 3, 10].map((n) => retryDelayMs(n, s))).toEqual([200, 400, 500, 500]);
  });

  it('a zero delay means immediate retries, and never exceeds the timer limit', () => {
    expect(retryDelayMs(3, { backoffPolicy: 'exponential', backoffDelayMs: 0 })).toBe(0);
    expect(retryDelayMs(60, { backoffPolicy: 'exponential', backoffDelayMs: 1000 })).toBe(2_147_483_647);
  });

  it('dead-letter retries grow and stay capped at backoffMax, or 60 s', () => {
    const s = { backoffPolicy: 'exponential' as const, backoffDelayMs: 1000 };
    expect(deadLetterRetryDelayMs(1, s)).toBe(2000);
    expect(deadLetterRetryDelayMs(50, s)).toBe(60_000);
    expect(deadLetterRetryDelayMs(50, { ...s, backoffMaxMs: 5000 })).toBe(5000);
    expect(deadLetterRetryDelayMs(1, { ...s, backoffDelayMs: 0 })).toBe(100);
  });
});

describe('isRetryableStatus (data-plane spec)', () => {
  it('retries 5xx, 404, 408, 409 and 429 only', () => {
    for (const s of [500, 502, 503, 504, 599, 404, 408, 409, 429]) expect(isRetryableStatus(s)).toBe(true);
    for (const s of [300, 301, 302, 400, 401, 403, 405, 410, 412, 413, 415, 422])
      expect(isRetryableStatus(s)).toBe(false);
  });
});
