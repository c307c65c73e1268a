/** db-events configuration, parsed once from the environment (README.md lists every variable). */
import { baseEnvShape, envInt, envList, envPostgresUrl, envUrl, parseEnv } from '@tributary/shared';
import { z } from 'zod';

const SLOT_NAME = /^[a-z0-9_]{1,63}$/;

export const envSchema = z
  .object({
    ...baseEnvShape,
    /** Postgres to replicate from; the user needs REPLICATION (and CREATE on the database for the publication). */
    DATABASE_URL: envPostgresUrl(),
    /** Logical replication slot; created (pgoutput) if missing. */
    DB_EVENTS_SLOT: z
      .string()
      .regex(SLOT_NAME, 'expected [a-z0-9_], at most 63 characters')
      .default('tributary_db_events'),
    /** Publication; created if missing (FOR ALL TABLES, or FOR TABLE DB_EVENTS_TABLES). */
    DB_EVENTS_PUBLICATION: z.string().min(1).max(63).default('tributary_db_events'),
    /** Comma-separated `schema.table` (or `schema.*` for a whole schema); unset = all tables. */
    DB_EVENTS_TABLES: envList([]).pipe(
      z.array(z.string().regex(/^[^.\s]+\.[^.\s]+$/, 'expected schema.table or schema.*, comma-separated')),
    ),
    /** Heartbeat message and slot-poll interval; 0 disables heartbeats. */
    DB_EVENTS_HEARTBEAT_MS: envInt(10_000, { min: 0 }),
    /** Decoded events not yet accepted by the sink above which reading pauses. */
    DB_EVENTS_MAX_IN_FLIGHT: envInt(10_000, { min: 1 }),
    /** Events per sink batch (HTTP requests are also cut at 900 KiB). */
    DB_EVENTS_BATCH_SIZE: envInt(1_000, { min: 1, max: 100_000 }),
    /** Sink batches sent before the first is accepted (Kafka sink: the next is encoded meanwhile); 1 = one at a time. */
    DB_EVENTS_BATCHES_IN_FLIGHT: envInt(2, { min: 1, max: 16 }),
    /** db-events' own schema: the backfill progress table and the functions backfill() and cancel_backfill(). */
    DB_EVENTS_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a schema name: [a-z_][a-z0-9_], at most 63 characters')
      .default('tributary'),
    /** How often to look for a new backfill while none runs; 0 turns backfills off (no schema is created). */
    DB_EVENTS_BACKFILL_POLL_MS: envInt(1_000, { min: 0 }),
    /** HTTP sink: the broker ingress URL (Knative SinkBinding injects it). */
    K_SINK: envUrl().optional(),
    /** Kafka sink: bootstrap brokers, comma-separated. */
    KAFKA_BROKERS: envList([]),
    /** Kafka sink: the broker's topic, `knative-broker-<namespace>-<broker>`. */
    DB_EVENTS_KAFKA_TOPIC: z.string().min(1).optional(),
  })
  .superRefine((env, ctx) => {
    const http = env.K_SINK !== undefined;
    const kafka = env.KAFKA_BROKERS.length > 0 || env.DB_EVENTS_KAFKA_TOPIC !== undefined;
    if (http && kafka) {
      ctx.addIssue({
        code: 'custom',
        path: ['K_SINK'],
        message:
          'set either K_SINK (HTTP sink) or KAFKA_BROKERS and DB_EVENTS_KAFKA_TOPIC (Kafka sink), not both',
      });
    } else if (!http && !kafka) {
      ctx.addIssue({
        code: 'custom',
        path: ['K_SINK'],
        message:
          'no sink configured: set K_SINK (HTTP sink) or KAFKA_BROKERS and DB_EVENTS_KAFKA_TOPIC (Kafka sink)',
      });
    } else if (kafka && env.KAFKA_BROKERS.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['KAFKA_BROKERS'],
        message: 'required with DB_EVENTS_KAFKA_TOPIC',
      });
    } else if (kafka && env.DB_EVENTS_KAFKA_TOPIC === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['DB_EVENTS_KAFKA_TOPIC'],
        message: 'required with KAFKA_BROKERS (the broker topic, knative-broker-<namespace>-<broker>)',
      });
    }
  });

export type Env = z.output<typeof envSchema>;

export function loadEnv(env: Record<string, string | undefined> = process.env): Env {
  return parseEnv(envSchema, env);
}
