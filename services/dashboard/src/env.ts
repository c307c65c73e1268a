import {
  baseEnvShape,
  envBoolean,
  envInt,
  envList,
  envPostgresUrl,
  envUrl,
  parseEnv,
} from '@tributary/shared';
import { z } from 'zod';
import { isLoopbackBind } from './auth.js';
import { DEFAULT_BACKFILL_SCHEMA, SCHEMA_NAME } from './backfills.js';

/** The only place the dashboard reads the environment (README "Configuration"). Parsed once at start. */

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v?.trim() ? v.trim() : undefined));

const urlList = envList().pipe(z.array(envUrl()));

const schema = z
  .object({
    ...baseEnvShape,
    /**
     * `jwt` (default): operators sign in with a JWT signed with DASHBOARD_JWT_SECRET whose role is in
     * DASHBOARD_OPERATOR_ROLES. `local`: loopback clients only, no sign-in (`tributary dev`); HOST must be loopback.
     */
    DASHBOARD_AUTH: z.enum(['jwt', 'local']).default('jwt'),
    /** The platform JWT secret (the same value as BROKER_JWT_SECRET / PostgREST's): operators and dispatchers. */
    DASHBOARD_JWT_SECRET: optionalString.pipe(
      z.string().min(32, 'must be at least 32 characters (as Supabase requires)').optional(),
    ),
    /** `role` claims that may operate the dashboard (default service_role). */
    DASHBOARD_OPERATOR_ROLES: envList(['service_role']),
    /** Broker ingress base URL(s): /metrics scraped; the first one receives redriven dead letters. */
    DASHBOARD_BROKER_URL: urlList,
    /** Local activator (tributary dev): GET /services and /metrics. */
    DASHBOARD_ACTIVATOR_URL: optionalString.pipe(envUrl().optional()),
    /** db-events base URL(s): replication slot health. */
    DASHBOARD_DB_EVENTS_URL: urlList,
    /** db-events' own schema in DATABASE_URL (its DB_EVENTS_SCHEMA): the Backfills panel reads and cancels there. */
    DASHBOARD_DB_EVENTS_SCHEMA: z
      .string()
      .regex(SCHEMA_NAME, 'expected a schema name: [a-z_][a-z0-9_], at most 63 characters')
      .default(DEFAULT_BACKFILL_SCHEMA),
    /** More /metrics to scrape (storage-events, auth-hooks). */
    DASHBOARD_METRICS_URLS: urlList,
    /** Folder(s) of Broker/Trigger YAML for Trigger filters when not on Kubernetes. */
    DASHBOARD_CONFIG: envList(),
    /** Read Triggers and Knative Services from the Kubernetes API (in-cluster or ~/.kube/config). */
    DASHBOARD_KUBERNETES: envBoolean(false),
    /** Only this namespace on Kubernetes (default: all). */
    DASHBOARD_NAMESPACE: optionalString,
    DASHBOARD_INTERVAL_MS: envInt(2000, { min: 250, max: 60_000 }),
    /** safe_wal_size under this many bytes warns (default 1 GiB). */
    DASHBOARD_SAFE_WAL_WARN_BYTES: envInt(1024 ** 3, { min: 0 }),
    /** Bearer token for redriving to an ingress with JWT auth. */
    DASHBOARD_BROKER_TOKEN: optionalString,
    /** Postgres: the dead-letter store, and the broker log for the live tail when Kafka is not set. */
    DATABASE_URL: optionalString.pipe(envPostgresUrl().optional()),
    /**
     * Kubernetes: a Prometheus server's base URL; rates, latency, lag, function scale and KafkaSink dead
     * letters are then read with PromQL (Knative Kafka Broker, Kafka Exporter and Knative Serving metrics).
     */
    DASHBOARD_PROMETHEUS_URL: optionalString.pipe(envUrl().optional()),
    /** Range of rate() and latency quantiles in those queries: at least 4 scrape intervals. */
    DASHBOARD_PROMETHEUS_WINDOW: z
      .string()
      .default('2m')
      .pipe(z.string().regex(/^\d+(ms|s|m|h)$/, 'a PromQL duration such as 2m')),
    /** Brokers whose dead letters go to a KafkaSink: `<namespace>/<broker>=<kafkasink>[:<topic>]`, comma-separated. */
    DASHBOARD_DEAD_LETTER_SINKS: envList().pipe(
      z.array(
        z
          .string()
          .regex(
            /^[a-z0-9-]+\/[a-z0-9-]+=[a-z0-9-]+(:[A-Za-z0-9._-]+)?$/,
            'each entry is <namespace>/<broker>=<kafkasink>[:<topic>]',
          ),
      ),
    ),
    /** Kafka bootstrap servers: the live tail and lag read the Kafka broker log. */
    KAFKA_BROKERS: envList(),
  })
  .superRefine((env, ctx) => {
    if (env.DASHBOARD_AUTH === 'jwt' && !env.DASHBOARD_JWT_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['DASHBOARD_JWT_SECRET'],
        message: 'is required with DASHBOARD_AUTH=jwt (the default): operators sign in with tokens it signs',
      });
    }
    if (env.DASHBOARD_AUTH === 'local' && !isLoopbackBind(env.HOST)) {
      ctx.addIssue({
        code: 'custom',
        path: ['HOST'],
        message: `must be a loopback address (127.0.0.1, ::1) with DASHBOARD_AUTH=local, got ${env.HOST}`,
      });
    }
  });

export type DashboardEnv = z.output<typeof schema>;

export function loadEnv(env: Record<string, string | undefined> = process.env): DashboardEnv {
  return parseEnv(schema, env);
}
