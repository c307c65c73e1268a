import { TributaryError } from '@tributary/shared';
import { Client } from 'minio';
import type { Logger } from 'pino';
import type { BucketRule } from './rules.js';

export { loadSetupEnv, type SetupEnv } from './env.js';
export type { BucketRule } from './rules.js';
export { minioWebhookEnv, parseBucketRules, RuleSyntaxError } from './rules.js';

/**
 * Configures MinIO bucket notification rules that send events to this service's webhook target
 * (`arn:minio:sqs::<targetId>:webhook`). Declarative and idempotent: for every configured bucket it reads
 * the current configuration, keeps the rules of other targets as they are, replaces the rules of our
 * target by the configured ones and writes only when that changes something.
 */

export interface MinioConnection {
  /** `http://host:port` or `https://host[:port]`. */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region?: string;
}

/** The MINIO_* variables a MinIO connection is made of. */
export interface MinioEnv {
  MINIO_ENDPOINT?: string | undefined;
  MINIO_ACCESS_KEY?: string | undefined;
  MINIO_SECRET_KEY?: string | undefined;
  MINIO_REGION?: string | undefined;
}

/** The connection MINIO_ENDPOINT, MINIO_ACCESS_KEY, MINIO_SECRET_KEY (and MINIO_REGION) name; undefined unless all three are set. */
export function minioConnectionFromEnv(env: MinioEnv): MinioConnection | undefined {
  if (!env.MINIO_ENDPOINT || !env.MINIO_ACCESS_KEY || !env.MINIO_SECRET_KEY) return undefined;
  return {
    endpoint: env.MINIO_ENDPOINT,
    accessKey: env.MINIO_ACCESS_KEY,
    secretKey: env.MINIO_SECRET_KEY,
    ...(env.MINIO_REGION ? { region: env.MINIO_REGION } : {}),
  };
}

export interface SetupOptions {
  minio: MinioConnection | Client;
  /** The `<ID>` of `MINIO_NOTIFY_WEBHOOK_*_<ID>` in the MinIO server env. */
  targetId: string;
  rules: BucketRule[];
  logger?: Logger;
}

export interface BucketSetupResult {
  bucket: string;
  changed: boolean;
  /** Our rules now in place. */
  rules: BucketRule[];
}

export function createMinioClient(conn: MinioConnection): Client {
  const url = new URL(conn.endpoint);
  const useSSL = url.protocol === 'https:';
  return new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: conn.accessKey,
    secretKey: conn.secretKey,
    ...(conn.region ? { region: conn.region } : {}),
  });
}

export function webhookArn(targetId: string): string {
  return `arn:minio:sqs::${targetId}:webhook`;
}

/** `arn:minio:sqs:<region>:<id>:<type>` -> `<id>:<type>`; MinIO may add its region to stored ARNs. */
function targetOf(arn: string): string | undefined {
  const m = /^arn:minio:sqs:[^:]*:(.+)$/.exec(arn);
  return m?.[1];
}

/** One queue configuration as minio-js parses it from GetBucketNotification. */
interface ParsedQueueConfig {
  Id?: string;
  Queue: string;
  Event: string[];
  Filter: { Name: string; Value: string }[];
}

/** One queue configuration as minio-js' XML builder writes it for SetBucketNotification. */
interface QueueConfigXml {
  Id?: string;
  Queue: string;
  Event: string[];
  Filter?: { S3Key: { FilterRule: { Name: string; Value: string }[] } };
}

function ruleKey(r: Pick<BucketRule, 'prefix' | 'suffix' | 'events'>): string {
  return JSON.stringify([r.prefix, r.suffix, [...r.events].sort()]);
}

function fromParsed(q: ParsedQueueConfig, bucket: string): BucketRule {
  let prefix = '';
  let suffix = '';
  for (const f of q.Filter ?? []) {
    if (f.Name?.toLowerCase() === 'prefix') prefix = f.Value ?? '';
    else if (f.Name?.toLowerCase() === 'suffix') suffix = f.Value ?? '';
  }
  return { bucket, prefix, suffix, events: [...(q.Event ?? [])].sort() };
}

function toXml(q: {
  Id?: string | undefined;
  arn: string;
  rule: Omit<BucketRule, 'bucket'>;
}): QueueConfigXml {
  const filterRules: { Name: string; Value: string }[] = [];
  if (q.rule.prefix) filterRules.push({ Name: 'prefix', Value: q.rule.prefix });
  if (q.rule.suffix) filterRules.push({ Name: 'suffix', Value: q.rule.suffix });
  return {
    ...(q.Id ? { Id: q.Id } : {}),
    Queue: q.arn,
    Event: [...q.rule.events],
    ...(filterRules.length ? { Filter: { S3Key: { FilterRule: filterRules } } } : {}),
  };
}

function groupByBucket(rules: BucketRule[]): Map<string, BucketRule[]> {
  const byBucket = new Map<string, BucketRule[]>();
  for (const r of rules) {
    const list = byBucket.get(r.bucket) ?? [];
    // Identical rules would make MinIO answer "duplicate queue configuration".
    if (!list.some((x) => ruleKey(x) === ruleKey(r))) list.push(r);
    byBucket.set(r.bucket, list);
  }
  return byBucket;
}

/** Configures every bucket named in `rules`; buckets not named are left alone. */
export async function setupBucketNotifications(opts: SetupOptions): Promise<BucketSetupResult[]> {
  const client = opts.minio instanceof Client ? opts.minio : createMinioClient(opts.minio);
  const ourTarget = `${opts.targetId}:webhook`;
  const arn = webhookArn(opts.targetId);
  const results: BucketSetupResult[] = [];
  for (const [bucket, desired] of groupByBucket(opts.rules)) {
    let current: { QueueConfiguration?: ParsedQueueConfig[]; TopicConfiguration?: unknown[] };
    try {
      if (!(await client.bucketExists(bucket))) {
        throw new TributaryError(`bucket "${bucket}" does not exist`, {
          code: 'STORAGE_BUCKET_MISSING',
        });
      }
      current = (await client.getBucketNotification(bucket)) as unknown as typeof current;
    } catch (err) {
      if (err instanceof TributaryError) throw err;
      throw new TributaryError(
        `reading the notification configuration of "${bucket}" failed: ${String(err)}`,
        {
          code: 'STORAGE_SETUP_FAILED',
          cause: err,
        },
      );
    }
    const queues = current.QueueConfiguration ?? [];
    const others = queues.filter((q) => targetOf(q.Queue) !== ourTarget);
    const ours = queues.filter((q) => targetOf(q.Queue) === ourTarget).map((q) => fromParsed(q, bucket));
    const have = new Set(ours.map(ruleKey));
    const want = new Set(desired.map(ruleKey));
    const same = have.size === want.size && [...want].every((k) => have.has(k)) && ours.length === have.size;
    if (same) {
      opts.logger?.debug({ bucket, rules: desired.length }, 'bucket notifications already configured');
      results.push({ bucket, changed: false, rules: desired });
      continue;
    }
    const config = {
      QueueConfiguration: [
        ...others.map((q) => toXml({ Id: q.Id, arn: q.Queue, rule: fromParsed(q, bucket) })),
        ...desired.map((r) => toXml({ arn, rule: r })),
      ],
    };
    try {
      // minio-js serialises any object with its XML builder; the typed NotificationConfig has no getters.
      await client.setBucketNotification(bucket, config as never);
    } catch (err) {
      throw new TributaryError(
        `writing the notification configuration of "${bucket}" failed: ${String(err)}`,
        {
          code: 'STORAGE_SETUP_FAILED',
          // An unknown ARN means the MinIO server env lacks MINIO_NOTIFY_WEBHOOK_*_<ID>: fix config, then retry.
          cause: err,
        },
      );
    }
    opts.logger?.info(
      { bucket, rules: desired.map(({ prefix, suffix, events }) => ({ prefix, suffix, events })), arn },
      'bucket notifications configured',
    );
    results.push({ bucket, changed: true, rules: desired });
  }
  return results;
}
