/**
 * Bucket notification rules, as configured by `STORAGE_EVENTS_BUCKETS`.
 *
 * Compact form: rules separated by `,`; within a rule `:`-separated fields, the bucket first, then
 * `prefix=<p>`, `suffix=<s>`, `events=<e>|<e>...`. Values are percent-decoded, so `%3A` writes a `:` and
 * `%2C` a `,`. The same bucket may appear more than once (one MinIO rule each).
 *
 *   STORAGE_EVENTS_BUCKETS=uploads:prefix=images/:suffix=.jpg:events=put|delete,avatars
 *
 * JSON form (when the value starts with `[`):
 *
 *   STORAGE_EVENTS_BUCKETS='[{"bucket":"uploads","prefix":"images/","events":["put","delete"]}]'
 *
 * Events: MinIO names (`s3:ObjectCreated:Put`, `s3:ObjectCreated:*`, ...) or the `mc event add`
 * shorthands `put`, `delete`, `get`, `replica`, `ilm`, `scanner`. Default `put|delete`.
 */

export interface BucketRule {
  bucket: string;
  /** Object key prefix filter; '' for none. */
  prefix: string;
  /** Object key suffix filter; '' for none. */
  suffix: string;
  /** Full MinIO event names, sorted and deduplicated. */
  events: string[];
}

export const DEFAULT_EVENTS = ['put', 'delete'] as const;

/** `mc event add --event` shorthands (and what MinIO names they stand for). */
export const EVENT_SHORTHANDS: Record<string, readonly string[]> = {
  put: ['s3:ObjectCreated:*'],
  delete: ['s3:ObjectRemoved:*'],
  get: ['s3:ObjectAccessed:*'],
  replica: ['s3:Replication:*'],
  ilm: ['s3:ObjectTransition:*', 's3:ObjectRestore:*'],
  scanner: ['s3:Scanner:ManyVersions', 's3:Scanner:LargeVersions', 's3:Scanner:BigPrefix'],
};

const EVENT_NAME = /^s3:[A-Za-z]+:(\*|[A-Za-z]+)$/;
// S3 bucket naming rules (the subset MinIO enforces for new buckets).
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export class RuleSyntaxError extends Error {
  override name = 'RuleSyntaxError';
}

export function expandEvents(events: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of events) {
    const e = raw.trim();
    if (!e) continue;
    const short = EVENT_SHORTHANDS[e.toLowerCase()];
    if (short) {
      for (const n of short) out.add(n);
    } else if (EVENT_NAME.test(e)) {
      out.add(e);
    } else {
      throw new RuleSyntaxError(
        `unknown event "${e}" (use a MinIO event name like s3:ObjectCreated:* or one of ${Object.keys(EVENT_SHORTHANDS).join(', ')})`,
      );
    }
  }
  if (out.size === 0) throw new RuleSyntaxError('a rule needs at least one event');
  return [...out].sort();
}

function makeRule(bucket: string, prefix: string, suffix: string, events: readonly string[]): BucketRule {
  if (!BUCKET_NAME.test(bucket)) throw new RuleSyntaxError(`invalid bucket name "${bucket}"`);
  return { bucket, prefix, suffix, events: expandEvents(events) };
}

function decodeValue(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    throw new RuleSyntaxError(`bad percent-escape in "${v}"`);
  }
}

/** Parses `STORAGE_EVENTS_BUCKETS`. Throws RuleSyntaxError naming the bad part. */
export function parseBucketRules(value: string | undefined): BucketRule[] {
  const text = (value ?? '').trim();
  if (!text) return [];
  if (text.startsWith('[')) return parseJsonRules(text);
  const rules: BucketRule[] = [];
  for (const entry of text.split(',')) {
    const trimmed = entry.trim();
    if (!trimmed) continue;
    const [bucketPart, ...options] = trimmed.split(':');
    const bucket = decodeValue((bucketPart ?? '').trim());
    let prefix = '';
    let suffix = '';
    let events: string[] = [...DEFAULT_EVENTS];
    for (const opt of options) {
      const eq = opt.indexOf('=');
      if (eq < 0) throw new RuleSyntaxError(`"${opt}" in "${trimmed}" is not key=value`);
      const k = opt.slice(0, eq).trim().toLowerCase();
      const v = opt.slice(eq + 1);
      if (k === 'prefix') prefix = decodeValue(v);
      else if (k === 'suffix') suffix = decodeValue(v);
      else if (k === 'events') events = v.split('|').map(decodeValue);
      else throw new RuleSyntaxError(`unknown option "${k}" in "${trimmed}" (prefix, suffix, events)`);
    }
    rules.push(makeRule(bucket, prefix, suffix, events));
  }
  return rules;
}

function parseJsonRules(text: string): BucketRule[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new RuleSyntaxError(`not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new RuleSyntaxError('JSON form must be an array of rules');
  return parsed.map((item, i) => {
    if (!item || typeof item !== 'object') throw new RuleSyntaxError(`rule ${i} is not an object`);
    const r = item as Record<string, unknown>;
    const str = (k: string): string => {
      const v = r[k] ?? '';
      if (typeof v !== 'string') throw new RuleSyntaxError(`rule ${i}: "${k}" must be a string`);
      return v;
    };
    const events = r.events ?? [...DEFAULT_EVENTS];
    if (!Array.isArray(events) || !events.every((e) => typeof e === 'string')) {
      throw new RuleSyntaxError(`rule ${i}: "events" must be an array of strings`);
    }
    return makeRule(str('bucket'), str('prefix'), str('suffix'), events);
  });
}

/** The MinIO server env that makes MinIO post to this service (README "MinIO server env"). */
export function minioWebhookEnv(opts: {
  targetId: string;
  endpoint: string;
  token: string;
  queueDir: string;
  queueLimit?: number;
}): Record<string, string> {
  const id = opts.targetId;
  return {
    [`MINIO_NOTIFY_WEBHOOK_ENABLE_${id}`]: 'on',
    [`MINIO_NOTIFY_WEBHOOK_ENDPOINT_${id}`]: opts.endpoint,
    [`MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_${id}`]: opts.token,
    [`MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_${id}`]: opts.queueDir,
    [`MINIO_NOTIFY_WEBHOOK_QUEUE_LIMIT_${id}`]: String(opts.queueLimit ?? 100_000),
  };
}
