/** Media types used by the CloudEvents bindings, and the checks on `datacontenttype`. */

export const CE_JSON_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';
export const CE_BATCH_CONTENT_TYPE = 'application/cloudevents-batch+json; charset=utf-8';
export const JSON_CONTENT_TYPE = 'application/json';

/** The media type without parameters, lower-cased: `Application/JSON; charset=utf-8` -> `application/json`. */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

const jsonCache = new Map<string, boolean>();

/**
 * JSON format §3.1.1: a `datacontenttype` declares JSON when its media type is `* /json` or `* /*+json`.
 * An absent `datacontenttype` means `application/json`.
 */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  let hit = jsonCache.get(contentType);
  if (hit === undefined) {
    const mt = mediaType(contentType);
    const slash = mt.indexOf('/');
    const sub = slash < 0 ? '' : mt.slice(slash + 1);
    hit = sub === 'json' || sub.endsWith('+json');
    if (jsonCache.size < 1000) jsonCache.set(contentType, hit);
  }
  return hit;
}

/** `text/*` (UTF-8 or no charset): decoded to a string rather than kept as bytes. */
export function isTextContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const lower = contentType.toLowerCase();
  if (!lower.trimStart().startsWith('text/')) return false;
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/.exec(lower)?.[1];
  return charset === undefined || charset === 'utf-8' || charset === 'utf8' || charset === 'us-ascii';
}

// RFC 2046/6838 `type "/" subtype *(";" parameter)` with token characters; kept lenient on parameters.
const MEDIA_TYPE = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+\s*(;.*)?$/s;

export function isValidMediaType(contentType: string): boolean {
  return MEDIA_TYPE.test(contentType);
}

export type HttpMode = 'binary' | 'structured' | 'batch';

/** Which content mode an HTTP or Kafka `content-type` selects (`undefined` when it is not a CloudEvents format). */
export function formatMode(
  contentType: string | undefined,
): 'structured' | 'batch' | 'unsupported' | undefined {
  if (contentType === undefined) return undefined;
  const mt = mediaType(contentType);
  if (!mt.startsWith('application/cloudevents')) return undefined;
  if (mt === 'application/cloudevents+json') return 'structured';
  if (mt === 'application/cloudevents-batch+json') return 'batch';
  return 'unsupported';
}
