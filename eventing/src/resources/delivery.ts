import { parseDuration } from './duration.js';
import type { DeliveryManifest, DestinationManifest } from './schema.js';

/**
 * Delivery settings of one Trigger, after merging the Broker's `spec.delivery` with the Trigger's
 * field by field (a Trigger field wins; a field the Trigger leaves out comes from the Broker).
 * Defaults are the Knative Kafka broker's.
 */
export interface DeliveryOptions {
  /** Retries after the first attempt (default 0: one attempt, then the dead-letter sink). */
  retry: number;
  /** Default `exponential`, as in the Kafka broker's contract. */
  backoffPolicy: 'linear' | 'exponential';
  /** Base delay; default 1000 ms (the Kafka broker controller's `DefaultBackoffDelayMs`). */
  backoffDelayMs: number;
  /** Tributary's cap on any single retry delay; unset = no cap (Knative has none). */
  backoffMaxMs: number | undefined;
  /** Per-request timeout; default 600 000 ms (the Kafka broker's `DEFAULT_TIMEOUT_MS`). */
  timeoutMs: number;
  deadLetterSink: DestinationManifest | undefined;
}

export const DEFAULT_BACKOFF_DELAY_MS = 1000;
export const DEFAULT_TIMEOUT_MS = 600_000;

/** Field-by-field merge: each field of the Trigger's delivery overrides the Broker's. */
export function mergeDelivery(
  broker: DeliveryManifest | undefined,
  trigger: DeliveryManifest | undefined,
): DeliveryManifest {
  const merged: DeliveryManifest = { ...(broker ?? {}) };
  for (const [k, v] of Object.entries(trigger ?? {})) {
    if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
  }
  return merged;
}

export interface DeliveryIssue {
  field: string;
  message: string;
}

/** Resolves a (merged) DeliverySpec into numbers, reporting unparsable durations. */
export function resolveDelivery(spec: DeliveryManifest): {
  options: DeliveryOptions;
  issues: DeliveryIssue[];
} {
  const issues: DeliveryIssue[] = [];
  const duration = (field: 'backoffDelay' | 'timeout' | 'backoffMax'): number | undefined => {
    const text = spec[field];
    if (text === undefined) return undefined;
    const res = parseDuration(text);
    if (!res.ok) {
      issues.push({ field, message: res.error });
      return undefined;
    }
    if (field === 'timeout' && res.ms <= 0) issues.push({ field, message: 'must be greater than zero' });
    return res.ms;
  };
  const backoffDelayMs = duration('backoffDelay');
  const timeoutMs = duration('timeout');
  const backoffMaxMs = duration('backoffMax');
  return {
    options: {
      retry: spec.retry ?? 0,
      backoffPolicy: spec.backoffPolicy ?? 'exponential',
      backoffDelayMs: backoffDelayMs ?? DEFAULT_BACKOFF_DELAY_MS,
      backoffMaxMs,
      timeoutMs: timeoutMs && timeoutMs > 0 ? timeoutMs : DEFAULT_TIMEOUT_MS,
      deadLetterSink: spec.deadLetterSink,
    },
    issues,
  };
}
