/**
 * Reading CloudEvent context attributes as strings, the way the Knative Kafka broker's dispatcher does
 * (`AttributesFilter`): every attribute, extensions included, compared as its string form; `data` and
 * `data_base64` are not context attributes.
 */

/** What filters read: the event's context attributes (a `cloudevents` CloudEvent qualifies). */
export type EventAttributes = object;

const NOT_ATTRIBUTES = new Set(['data', 'data_base64']);

/** The attribute's string value, or undefined when the event does not carry it. */
export function attributeValue(event: EventAttributes, name: string): string | undefined {
  if (NOT_ATTRIBUTES.has(name)) return undefined;
  const v = (event as Record<string, unknown>)[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return undefined;
}
