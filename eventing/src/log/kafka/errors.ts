import { asLogError } from '../timeout.js';

export function kafkaErrorType(err: unknown): string | undefined {
  if (err && typeof err === 'object') {
    const e = err as { type?: unknown; errors?: unknown[] };
    if (typeof e.type === 'string') return e.type;
    if (Array.isArray(e.errors) && e.errors.length > 0) return kafkaErrorType(e.errors[0]);
  }
  return undefined;
}

/**
 * kafkajs errors that mean "Kafka is unreachable or slow", which a retry can fix even when kafkajs itself
 * gave up (`KafkaJSNumberOfRetriesExceeded` is marked non-retriable).
 */
const UNAVAILABLE = new Set([
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSGroupCoordinatorNotFound',
]);

export function asKafkaError(err: unknown, message: string) {
  if (unavailable(err) && err && typeof err === 'object') {
    return asLogError(Object.assign(err, { retriable: true }), message);
  }
  return asLogError(err, message);
}

/** True when the error, or one it was caused by, says Kafka is unreachable or slow. */
function unavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if (UNAVAILABLE.has((e as { name?: string }).name ?? '')) return true;
    e =
      (e as { cause?: unknown; originalError?: unknown }).cause ??
      (e as { originalError?: unknown }).originalError;
  }
  return false;
}
