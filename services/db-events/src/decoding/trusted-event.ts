/**
 * A CloudEvent built from attributes that are correct by construction (the decoder's own row changes),
 * without the SDK constructor's per-event work.
 *
 * `new CloudEvent(attrs, false)` copies the attributes, deletes thirteen of them one by one from the copy (which
 * turns it into a slow dictionary object), tests `data` for binary and walks the rest as extensions: about
 * 4.5 µs of the ~30 µs db-events spends per row on the Kafka path (profile in docs/BENCHMARKS.md). This builds
 * the same object — same prototype, the same own properties in the same order (including the SDK's
 * `undefined` ones), frozen — so nothing downstream can tell the difference (checked by
 * trusted-event.test.ts against the SDK constructor).
 *
 * Only for attributes that need no defaulting or conversion: `id`, `time`, `type`, `source` and `specversion`
 * present, `data` not binary, extension names valid. Anything else goes through the SDK.
 */
import { CloudEvent } from 'cloudevents';

/** Core attributes the SDK constructor assigns, in its order; the rest become extensions. */
const CORE = new Set([
  'id',
  'time',
  'type',
  'source',
  'specversion',
  'datacontenttype',
  'subject',
  'datacontentencoding',
  'dataschema',
  'data_base64',
  'schemaurl',
  'data',
]);

export function trustedCloudEvent(attrs: Record<string, unknown>): CloudEvent<unknown> {
  const e = Object.create(CloudEvent.prototype) as Record<string, unknown>;
  e.id = attrs.id;
  e.time = attrs.time;
  e.type = attrs.type;
  e.source = attrs.source;
  e.specversion = attrs.specversion;
  e.datacontenttype = attrs.datacontenttype;
  e.subject = attrs.subject;
  e.datacontentencoding = attrs.datacontentencoding;
  e.dataschema = attrs.dataschema;
  e.data_base64 = attrs.data_base64;
  e.schemaurl = attrs.schemaurl;
  e.data = attrs.data;
  for (const key in attrs) if (!CORE.has(key)) e[key] = attrs[key];
  return Object.freeze(e) as unknown as CloudEvent<unknown>;
}
