/**
 * JSON nesting depth, measured on the bytes before anything parses them. `JSON.parse` itself copes with very
 * deep input, but everything after it that walks the value recursively (serializers, schema validators,
 * `structuredClone`, a subscriber's own parser) eventually overflows the stack, and a `RangeError` there looks
 * like a server fault (a 5xx) rather than what it is: a client sending something no one should accept.
 *
 * The default, 256 levels, is far beyond any real event (CloudEvents, S3 notifications and Supabase Auth hook
 * payloads are 3 to 6 levels deep) and well under the limits of common parsers downstream (Jackson refuses
 * more than 1000 levels since 2.15, .NET's System.Text.Json more than 64 by default).
 */
export const DEFAULT_MAX_JSON_DEPTH = 256;

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * The deepest nesting of objects and arrays in `json` (a UTF-8 buffer or a string), stopping early once it
 * passes `stopAbove`. Brackets inside strings do not count. Linear in the input, no allocation; it does not
 * validate the JSON (the parser does that next).
 */
export function jsonDepth(json: Uint8Array | string, stopAbove = Number.POSITIVE_INFINITY): number {
  const bytes = typeof json === 'string' ? Buffer.from(json, 'utf8') : json;
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > stopAbove) return max;
      }
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
  }
  return max;
}

/** True when `json` nests objects/arrays more than `maxDepth` levels deep. */
export function jsonTooDeep(json: Uint8Array | string, maxDepth = DEFAULT_MAX_JSON_DEPTH): boolean {
  return jsonDepth(json, maxDepth) > maxDepth;
}

/** The 400 answer's message for JSON over the depth limit (one wording on every surface). */
export function jsonTooDeepMessage(maxDepth = DEFAULT_MAX_JSON_DEPTH): string {
  return `JSON nested more than ${maxDepth} levels deep`;
}
