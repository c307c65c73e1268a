import { buildEvent, type CloudEvent, eventAttributes, recalledRawData } from '@tributary/shared';

/** Extension that guards against event loops through the broker (Knative `broker.TTLAttribute`). */
export const TTL_ATTRIBUTE = 'knativebrokerttl';
/** Extension with the time the broker ingress received the event (Knative `broker.EventArrivalTime`). */
export const ARRIVAL_TIME_ATTRIBUTE = 'knativearrivaltime';
/** Knative's MT broker default (`MAX_TTL` of the ingress, 255). */
export const DEFAULT_TTL = 255;

/**
 * The TTL the ingress stores, as Knative's `broker.TTLDefaulter` computes it: a missing or non-integer TTL
 * becomes `defaultTtl`; an integer TTL is decremented, never below 0. The ingress then drops (400) an event
 * whose resulting TTL is <= 0, so an event that went around a reply loop `defaultTtl` times is refused.
 */
export function nextTtl(current: unknown, defaultTtl = DEFAULT_TTL): number {
  const ttl = toInteger(current);
  if (ttl === undefined) return defaultTtl;
  return Math.max(ttl - 1, 0);
}

/** CloudEvents Integer (32-bit signed) from an extension value, which arrives as a string over HTTP. */
function toInteger(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value === 'string' && /^[+-]?\d{1,10}$/.test(value.trim())) {
    const n = Number.parseInt(value.trim(), 10);
    if (n >= -2147483648 && n <= 2147483647) return n;
  }
  return undefined;
}

/**
 * Stamps an accepted event as the Knative MT broker ingress does: `knativearrivaltime` = now (RFC 3339,
 * UTC), then the TTL rule. Returns the new event and its TTL; the caller refuses it when `ttl <= 0`.
 */
export function stampEvent(
  event: CloudEvent<unknown>,
  now: Date,
  defaultTtl = DEFAULT_TTL,
): { event: CloudEvent<unknown>; ttl: number } {
  const ttl = nextTtl(event[TTL_ATTRIBUTE], defaultTtl);
  const attrs = eventAttributes(event);
  attrs[ARRIVAL_TIME_ATTRIBUTE] = now.toISOString();
  attrs[TTL_ATTRIBUTE] = ttl;
  // A copy that keeps the request's data bytes (no re-serialization of JSON data) and skips the SDK's
  // validation: the event was validated when decoded, and both extensions are valid.
  return { event: buildEvent(attrs, event.data, recalledRawData(event)), ttl };
}
