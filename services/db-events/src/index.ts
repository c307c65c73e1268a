/** Starts db-events: configuration from the environment only (README.md). */
import { createLogger, Lifecycle, listen, loadServiceEnv } from '@tributary/shared';
import { buildApp } from './app.js';
import { loadEnv } from './env.js';

const env = loadServiceEnv(
  'db-events',
  'usage: node services/db-events/dist/index.js\n\nStreams Postgres changes (logical replication, pgoutput) to the broker as CloudEvents.\nConfigured by environment variables only: DATABASE_URL, K_SINK or KAFKA_BROKERS + DB_EVENTS_KAFKA_TOPIC,\nDB_EVENTS_SLOT, DB_EVENTS_PUBLICATION, DB_EVENTS_TABLES, DB_EVENTS_HEARTBEAT_MS, ... (services/db-events/README.md).',
  loadEnv,
);
const logger = createLogger({ name: 'db-events', level: env.LOG_LEVEL });
const lifecycle = new Lifecycle(logger);
lifecycle.installSignalHandlers();

const app = buildApp(env, { logger });
lifecycle.add('db-events', async () => {
  await app.engine.stop();
  await app.backfill?.stop();
  await app.sink.close();
  await app.pool.end();
});
try {
  await app.sink.verify?.();
} catch (err) {
  logger.fatal({ err }, 'db-events cannot start');
  process.exit(1);
}
app.start();
// A permanent failure (e.g. REPLICATION_SLOT_MISMATCH, docs/ERRORS.md) is not retried: shut down and exit 1.
void app.engine.failed.then(async (err) => {
  logger.fatal({ err: err.message, code: err.code }, 'db-events cannot continue');
  await lifecycle.shutdown(err.code);
  process.exit(1);
});
const address = await listen(app.server, { port: env.PORT, host: env.HOST, lifecycle });
logger.info({ address, slot: env.DB_EVENTS_SLOT, sink: app.sink.kind }, 'db-events started');
