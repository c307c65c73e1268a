// Starts storage-events: the MinIO webhook -> broker bridge (README.md). Only starts; see app.ts.
import { createLogger, createPublisher, Lifecycle, listen, loadServiceEnv } from '@tributary/shared';
import { buildApp } from './app.js';
import { createHttpDeadLetterSink } from './dead-letters.js';
import { loadEnv, type ServiceEnv } from './env.js';
import { startSetupLoop } from './setup-loop.js';

const env: ServiceEnv = loadServiceEnv(
  'storage-events',
  'usage: node services/storage-events/dist/index.js\n\nMinIO bucket notifications (POST /webhooks/minio) -> CloudEvents on the broker.\nConfigured by environment variables only: K_SINK, STORAGE_EVENTS_TOKEN, STORAGE_EVENTS_BUCKETS, MINIO_* (services/storage-events/README.md).',
  loadEnv,
);
const logger = createLogger({ name: 'storage-events', level: env.LOG_LEVEL });
const lifecycle = new Lifecycle(logger);
lifecycle.installSignalHandlers();

try {
  const publisher = createPublisher({
    url: env.K_SINK,
    timeoutMs: env.STORAGE_EVENTS_PUBLISH_TIMEOUT_MS,
    retries: env.STORAGE_EVENTS_PUBLISH_RETRIES,
    // The mapping built every event with createCloudEvent, which already checked it; the broker checks again.
    validate: false,
    logger: logger.child({ component: 'publisher' }),
  });
  lifecycle.add('publisher', () => publisher.close());

  const setup = startSetupLoop(env, logger);
  lifecycle.add('bucket-setup', () => setup.stop());

  const deadLetters = env.STORAGE_EVENTS_DEAD_LETTER_SINK
    ? createHttpDeadLetterSink({
        url: env.STORAGE_EVENTS_DEAD_LETTER_SINK,
        token: env.STORAGE_EVENTS_DEAD_LETTER_TOKEN,
        timeoutMs: env.STORAGE_EVENTS_PUBLISH_TIMEOUT_MS,
      })
    : undefined;
  if (!deadLetters) {
    logger.warn(
      'STORAGE_EVENTS_DEAD_LETTER_SINK is not set: a notification the broker refuses for good is answered 422 and MinIO retries it, holding back later ones',
    );
  }
  const app = buildApp({
    logger,
    token: env.STORAGE_EVENTS_TOKEN,
    sink: publisher,
    deadLetters,
    sinkUrl: env.K_SINK,
  });
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
