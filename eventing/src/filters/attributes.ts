/**
 * Reading CloudEvent context attributes as strings for Trigger filters, as Knative does
 * (knative.dev/eventing v0.48 `pkg/eventfilter/attributes.LookupAttribute`, and the Kafka broker's
 * `AttributesFilter` attribute mapper): every attribute, extensions included, compared as its string form;
 * `data` and `data_base64` are not context attributes.
 *
 * - The aliases `schemaurl` (= `dataschema`) and `datamediatype` (`datacontenttype` without its
 *   parameters) read as in Knative.
 * - `time` reads as the instant in UTC in Java's `ISO_INSTANT` form (fraction of 0, 3, 6 or 9 digits, `Z`),
 *   as the Kafka broker's filters render it, so `10:34:56.123456789Z` matches an event whose time is
 *   `12:34:56.123456789+02:00`. (The Go MT broker renders Go's RFC3339Nano with the event's own offset; see
 *   the allow-list of `pnpm test:conformance`.)
 */

/** What filters read: the event's context attributes (a `cloudevents` CloudEvent qualifies). */
export type EventAttributes = object;

const NOT_ATTRIBUTES = new Set(['data', 'data_base64']);

/**
 * Context attributes that Knative's `LookupAttribute` always finds (value "" when the event lacks them);
 * an extension is found only when the event carries it.
 */
export const ALWAYS_PRESENT = new Set([
  'specversion',
  'type',
  'source',
  'subject',
  'id',
  'time',
  'dataschema',
  'schemaurl',
  'datacontenttype',
  'datamediatype',
  'datacontentencoding',
]);

function raw(event: EventAttributes, name: string): string | undefined {
  const v = (event as Record<string, unknown>)[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.toISOString();
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return undefined;
}

/** The attribute's string value as filters read it, or undefined when the event does not carry it. */
export function attributeValue(event: EventAttributes, name: string): string | undefined {
  if (NOT_ATTRIBUTES.has(name)) return undefined;
  switch (name) {
    case 'schemaurl':
      return raw(event, 'dataschema');
    case 'datamediatype': {
      const ct = raw(event, 'datacontenttype');
      if (ct === undefined) return undefined;
      const semi = ct.indexOf(';');
      return semi === -1 ? ct : ct.slice(0, semi).trim();
    }
    case 'datacontentencoding':
      return undefined; // a CloudEvents 0.3 attribute: always empty on a 1.0 event
    case 'time': {
      const t = raw(event, 'time');
      return t === undefined ? undefined : (isoInstant(t) ?? t);
    }
    default:
      return raw(event, name);
  }
}

// RFC 3339 date-time with any fraction precision and a `Z` or numeric offset.
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * An RFC 3339 timestamp as Java's `DateTimeFormatter.ISO_INSTANT` prints it (what the Kafka broker compares):
 * converted to UTC, nanosecond precision kept, the fraction printed with 0, 3, 6 or 9 digits. Undefined when
 * `value` is not RFC 3339.
 */
export function isoInstant(value: string): string | undefined {
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const fraction = (m[7] ?? '').padEnd(9, '0').slice(0, 9);
  const offsetMinutes = m[8] ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (Number.isNaN(ms)) return undefined;
  const utc = new Date(ms - offsetMinutes * 60_000);
  // Years 0-99: Date.UTC maps them to 1900-1999; undo that.
  if (Number(m[1]) < 100) utc.setUTCFullYear(utc.getUTCFullYear() - 1900);
  const head = utc.toISOString().slice(0, 19);
  const nanos = Number(fraction);
  const digits =
    nanos === 0
      ? ''
      : nanos % 1_000_000 === 0
        ? fraction.slice(0, 3)
        : nanos % 1000 === 0
          ? fraction.slice(0, 6)
          : fraction;
  return `${head}${digits ? `.${digits}` : ''}Z`;
}
