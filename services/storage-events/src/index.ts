// Starts storage-events: the MinIO webhook -> broker bridge (README.md). Only starts; see app.ts.
import { ConfigError, createLogger, createPublisher, Lifecycle, listen } from '@tributary/shared';
import { buildApp } from './app.js';
import { loadEnv, type ServiceEnv } from './env.js';
import { startSetupLoop } from './setup-loop.js';

let env: ServiceEnv;
try {
  env = loadEnv();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  // No logger yet: the message names each bad variable.
  process.stderr.write(`storage-events: ${err.message}\n`);
  process.exit(1);
}
const logger = createLogger({ name: 'storage-events', level: env.LOG_LEVEL });
const lifecycle = new Lifecycle(logger);
lifecycle.installSignalHandlers();

try {
  const publisher = createPublisher({
    url: env.K_SINK,
    timeoutMs: env.STORAGE_EVENTS_PUBLISH_TIMEOUT_MS,
    retries: env.STORAGE_EVENTS_PUBLISH_RETRIES,
    logger: logger.child({ component: 'publisher' }),
  });
  lifecycle.add('publisher', () => publisher.close());

  const setup = startSetupLoop(env, logger);
  lifecycle.add('bucket-setup', () => setup.stop());

  const app = buildApp({ logger, token: env.STORAGE_EVENTS_TOKEN, sink: publisher });
  const address = await listen(app, { port: env.PORT, host: env.HOST, lifecycle });
  logger.info(
    { address, sink: env.K_SINK, buckets: env.STORAGE_EVENTS_BUCKETS.length },
    'storage-events listening',
  );
} catch (err) {
  logger.fatal({ err }, 'storage-events failed to start');
  await lifecycle.shutdown('start failed');
  process.exit(1);
}
