import { buildEvent, type CloudEvent, eventAttributes, recalledRawData } from '@tributary/shared';

/** Extension that guards against event loops through the broker (Knative `broker.TTLAttribute`). */
export const TTL_ATTRIBUTE = 'knativebrokerttl';
/** Knative's MT broker default (`MAX_TTL` of the ingress, 255). */
export const DEFAULT_TTL = 255;

/**
 * What the broker adds to the events it carries: nothing. The Knative Kafka broker's receiver writes an
 * accepted event to its topic as received, without the MT broker's `knativearrivaltime` and
 * `knativebrokerttl`; so does this ingress. The loop guard lives where loops happen, on replies: a
 * subscriber's reply gets `knativebrokerttl` = the delivered event's TTL (default 255) minus one, and is
 * dropped at 0, as the MT broker's filter does (see `stampReply`). The ingress refuses (400) an event that
 * arrives with a TTL already at 0 or below.
 */

/**
 * The next TTL, as Knative's `broker.TTLDefaulter` computes it: a missing or non-integer TTL becomes
 * `defaultTtl`; an integer TTL is decremented, never below 0.
 */
export function nextTtl(current: unknown, defaultTtl = DEFAULT_TTL): number {
  const ttl = ttlOf(current);
  if (ttl === undefined) return defaultTtl;
  return Math.max(ttl - 1, 0);
}

/** CloudEvents Integer (32-bit signed) from an extension value, which arrives as a string over HTTP. */
export function ttlOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value === 'string' && /^[+-]?\d{1,10}$/.test(value.trim())) {
    const n = Number.parseInt(value.trim(), 10);
    if (n >= -2147483648 && n <= 2147483647) return n;
  }
  return undefined;
}

/** True when the event carries an integer `knativebrokerttl` of 0 or less: the ingress refuses it. */
export function ttlExpired(event: CloudEvent<unknown>): boolean {
  const ttl = ttlOf(event[TTL_ATTRIBUTE]);
  return ttl !== undefined && ttl <= 0;
}

/**
 * A subscriber's reply as it goes back into the broker: `knativebrokerttl` = `nextTtl(deliveredTtl)`, and
 * nothing else changed (no `time` is invented; JSON data keeps its bytes). The caller drops it when `ttl <= 0`.
 */
export function stampReply(
  reply: CloudEvent<unknown>,
  deliveredTtl: unknown,
  defaultTtl = DEFAULT_TTL,
): { event: CloudEvent<unknown>; ttl: number } {
  const ttl = nextTtl(deliveredTtl, defaultTtl);
  const attrs = eventAttributes(reply);
  attrs[TTL_ATTRIBUTE] = ttl;
  return { event: buildEvent(attrs, reply.data, recalledRawData(reply)), ttl };
}
