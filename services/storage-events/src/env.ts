import { baseEnvShape, envInt, envUrl, parseEnv } from '@tributary/shared';
import { z } from 'zod';
import { type BucketRule, parseBucketRules, RuleSyntaxError } from './rules.js';

/**
 * The only place storage-events reads the environment (README "Configuration"). Parsed once at start.
 */

const bucketRules = z
  .string()
  .optional()
  .transform((v, ctx): BucketRule[] => {
    try {
      return parseBucketRules(v);
    } catch (err) {
      if (!(err instanceof RuleSyntaxError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
      return z.NEVER;
    }
  });

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v?.trim() ? v : undefined));

/** MinIO connection + rules: needed by the service (to configure on start) and by the setup command. */
const setupShape = {
  MINIO_ENDPOINT: z
    .string()
    .optional()
    .transform((v) => (v?.trim() ? v.trim() : undefined))
    .pipe(envUrl().optional()),
  MINIO_ACCESS_KEY: optionalString,
  MINIO_SECRET_KEY: optionalString,
  /** Region of the MinIO server, when it sets one (MINIO_REGION / MINIO_SITE_REGION). */
  MINIO_REGION: optionalString,
  STORAGE_EVENTS_BUCKETS: bucketRules,
  /** The `<ID>` of MINIO_NOTIFY_WEBHOOK_*_<ID> on the MinIO server: the ARN is arn:minio:sqs::<ID>:webhook. */
  STORAGE_EVENTS_TARGET_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" and "-" only')
    .default('TRIBUTARY'),
};

const serviceSchema = z
  .object({
    ...baseEnvShape,
    ...setupShape,
    /** The broker URL (Knative SinkBinding injects it). */
    K_SINK: envUrl(),
    /** Bearer token MinIO sends (MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_<ID>). */
    STORAGE_EVENTS_TOKEN: z.string().min(1, 'must not be empty'),
    /** Broker publish timeout per attempt (ms). MinIO's webhook client waits longer than this. */
    STORAGE_EVENTS_PUBLISH_TIMEOUT_MS: envInt(10_000, { min: 100, max: 120_000 }),
    /** Retries of a failed publish inside one webhook request, before answering 5xx to MinIO. */
    STORAGE_EVENTS_PUBLISH_RETRIES: envInt(2, { min: 0, max: 10 }),
    /**
     * Where events the broker refuses for good are recorded (then MinIO is answered 2xx and moves on): the
     * dashboard's `<url>/dead-letters/<namespace>/<broker>`, or a Knative KafkaSink URL.
     */
    STORAGE_EVENTS_DEAD_LETTER_SINK: optionalString.pipe(envUrl().optional()),
    /** Bearer token for the dead-letter sink (the dashboard's takes dispatcher tokens: `tributary keys`). */
    STORAGE_EVENTS_DEAD_LETTER_TOKEN: optionalString,
    /** Delay between attempts to configure bucket notifications on start while MinIO/buckets are not ready. */
    STORAGE_EVENTS_SETUP_RETRY_MS: envInt(5_000, { min: 100, max: 600_000 }),
  })
  .superRefine(requireMinioWhenBuckets);

const setupSchema = z
  .object({ LOG_LEVEL: baseEnvShape.LOG_LEVEL, ...setupShape })
  .superRefine(requireMinioWhenBuckets);

function requireMinioWhenBuckets(
  env: {
    STORAGE_EVENTS_BUCKETS: BucketRule[];
    MINIO_ENDPOINT?: string;
    MINIO_ACCESS_KEY?: string;
    MINIO_SECRET_KEY?: string;
  },
  ctx: z.RefinementCtx,
): void {
  if (env.STORAGE_EVENTS_BUCKETS.length === 0) return;
  for (const name of ['MINIO_ENDPOINT', 'MINIO_ACCESS_KEY', 'MINIO_SECRET_KEY'] as const) {
    if (!env[name]) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: 'is required when STORAGE_EVENTS_BUCKETS is set',
      });
    }
  }
}

export type ServiceEnv = z.output<typeof serviceSchema>;
export type SetupEnv = z.output<typeof setupSchema>;

export function loadEnv(env: Record<string, string | undefined> = process.env): ServiceEnv {
  return parseEnv(serviceSchema, env);
}

export function loadSetupEnv(env: Record<string, string | undefined> = process.env): SetupEnv {
  return parseEnv(setupSchema, env);
}
