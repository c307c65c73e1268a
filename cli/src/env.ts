import { baseEnvShape, envList, envPostgresUrl, logLevelSchema, parseEnv } from '@tributary/shared';
import { z } from 'zod';

/**
 * Environment of the `tributary` commands, parsed once here (DESIGN.md §6). Nothing else reads
 * `process.env`.
 *   KAFKA_BROKERS      comma-separated `host:port`; chooses the kafka backend
 *   DATABASE_URL       Postgres URL; the postgres backend when KAFKA_BROKERS is unset
 *   BROKER_JWT_SECRET  HS256 secret; turns on JWT auth at the ingress
 *   BROKER_JWT_ROLES   comma-separated roles allowed to publish (default: authenticated, service_role)
 *   BROKER_KAFKA_LINGER_MS  how long an idle producer waits to batch appends (kafka backend; default 5)
 *   PORT               ingress port when --port is not given (default 8080)
 *   HOST               address to bind (default 127.0.0.1)
 *   LOG_LEVEL          pino level (default info)
 *   HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS, HTTP_KEEP_ALIVE_TIMEOUT_MS  server time limits
 */
export const brokerEnvSchema = z
  .object({
    KAFKA_BROKERS: envList([]),
    DATABASE_URL: envPostgresUrl().optional(),
    BROKER_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    BROKER_JWT_ROLES: envList([]),
    BROKER_KAFKA_LINGER_MS: z.coerce.number().int().min(0).max(1000).optional(),
    PORT: z.preprocess(
      (v) => (v === undefined || v === '' ? 8080 : v),
      z.coerce.number().int().min(0).max(65535),
    ),
    HOST: z.string().default('127.0.0.1'),
    LOG_LEVEL: logLevelSchema,
    HTTP_HEADERS_TIMEOUT_MS: baseEnvShape.HTTP_HEADERS_TIMEOUT_MS,
    HTTP_REQUEST_TIMEOUT_MS: baseEnvShape.HTTP_REQUEST_TIMEOUT_MS,
    HTTP_KEEP_ALIVE_TIMEOUT_MS: baseEnvShape.HTTP_KEEP_ALIVE_TIMEOUT_MS,
  })
  .superRefine((env, ctx) => {
    if (env.KAFKA_BROKERS.length === 0 && !env.DATABASE_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['KAFKA_BROKERS'],
        message: 'set KAFKA_BROKERS (kafka backend) or DATABASE_URL (postgres backend)',
      });
    }
  });

export type BrokerEnv = z.output<typeof brokerEnvSchema>;

export function parseBrokerEnv(env: Record<string, string | undefined>): BrokerEnv {
  return parseEnv(brokerEnvSchema, env);
}

/** The backend the environment selects: kafka when KAFKA_BROKERS is set, else postgres. */
export function backendOf(env: BrokerEnv): 'kafka' | 'postgres' {
  return env.KAFKA_BROKERS.length > 0 ? 'kafka' : 'postgres';
}
