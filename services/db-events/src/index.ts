/** Starts db-events: configuration from the environment only (README.md). */
import { createLogger, Lifecycle, listen } from '@tributary/shared';
import { buildApp } from './app.js';
import { loadEnv } from './env.js';

const env = loadEnv();
const logger = createLogger({ name: 'db-events', level: env.LOG_LEVEL });
const lifecycle = new Lifecycle(logger);
lifecycle.installSignalHandlers();

const app = buildApp(env, { logger });
lifecycle.add('db-events', async () => {
  await app.engine.stop();
  await app.sink.close();
  await app.pool.end();
});
app.start();
const address = await listen(app.server, { port: env.PORT, host: env.HOST, lifecycle });
logger.info({ address, slot: env.DB_EVENTS_SLOT, sink: app.sink.kind }, 'db-events started');
