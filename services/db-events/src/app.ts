/** Builds db-events (HTTP server, Postgres pool, sink, replication engine) without listening or connecting. */
import { createServer, type Logger } from '@tributary/shared';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { Registry } from 'prom-client';
import { BackfillRunner } from './backfill/runner.js';
import type { Env } from './env.js';
import { createMetrics, type Metrics } from './metrics.js';
import { CONNECT_TIMEOUT_MS, DbEvents } from './pipeline.js';
import { HttpSink } from './sink/http.js';
import { KafkaSink } from './sink/kafka.js';
import type { Sink } from './sink/sink.js';

export interface DbEventsApp {
  server: FastifyInstance;
  engine: DbEvents;
  /** Table backfills; undefined when DB_EVENTS_BACKFILL_POLL_MS=0. */
  backfill: BackfillRunner | undefined;
  sink: Sink;
  pool: pg.Pool;
  metrics: Metrics;
  /** Starts replication (in the background; reconnects on its own). */
  start(): void;
  /** Drains in-flight events to the sink, acknowledges them, then closes everything. */
  close(): Promise<void>;
}

export interface BuildOptions {
  logger: Logger;
  /** Replace the sink (tests, benchmarks). */
  sink?: Sink;
}

export function createSink(env: Env, logger: Logger, metrics: Metrics): Sink {
  if (env.K_SINK) {
    return new HttpSink({
      url: env.K_SINK,
      logger: logger.child({ component: 'sink' }),
      onRejected: (event, reason) => {
        metrics.rejected.inc();
        logger.error(
          { id: event.id, source: event.source, type: event.type, reason },
          'sink refused event; skipped',
        );
      },
    });
  }
  return new KafkaSink({
    brokers: env.KAFKA_BROKERS,
    topic: env.DB_EVENTS_KAFKA_TOPIC as string,
    logger,
  });
}

export function buildApp(env: Env, opts: BuildOptions): DbEventsApp {
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const sink = opts.sink ?? createSink(env, opts.logger, metrics);
  const pool = new pg.Pool({
    connectionString: env.DATABASE_URL,
    max: 2,
    application_name: 'tributary-db-events',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  pool.on('error', (err) => opts.logger.warn({ err: err.message }, 'idle Postgres connection failed'));
  const backfill =
    env.DB_EVENTS_BACKFILL_POLL_MS > 0
      ? new BackfillRunner({
          pool,
          connectionString: env.DATABASE_URL,
          schema: env.DB_EVENTS_SCHEMA,
          publication: env.DB_EVENTS_PUBLICATION,
          logger: opts.logger,
          maxInFlight: env.DB_EVENTS_MAX_IN_FLIGHT,
          pollMs: env.DB_EVENTS_BACKFILL_POLL_MS,
        })
      : undefined;
  const engine = new DbEvents({
    connectionString: env.DATABASE_URL,
    slot: env.DB_EVENTS_SLOT,
    publication: env.DB_EVENTS_PUBLICATION,
    tables: env.DB_EVENTS_TABLES,
    heartbeatMs: env.DB_EVENTS_HEARTBEAT_MS,
    maxInFlight: env.DB_EVENTS_MAX_IN_FLIGHT,
    batchSize: env.DB_EVENTS_BATCH_SIZE,
    batchesInFlight: env.DB_EVENTS_BATCHES_IN_FLIGHT,
    backfill,
    sink,
    pool,
    logger: opts.logger,
    metrics,
  });
  const server = createServer({
    name: 'db-events',
    logger: opts.logger,
    registry,
    readiness: () => engine.connected,
  });
  let closing: Promise<void> | undefined;
  return {
    server,
    engine,
    backfill,
    sink,
    pool,
    metrics,
    start: () => {
      engine.start();
      backfill?.start();
    },
    close: () => {
      closing ??= (async () => {
        await server.close();
        await engine.stop();
        await backfill?.stop();
        await sink.close();
        await pool.end();
      })();
      return closing;
    },
  };
}
