#!/usr/bin/env node
// `node services/storage-events/dist/setup-cli.js`: configures MinIO bucket notifications once from the
// environment (MINIO_ENDPOINT, MINIO_ACCESS_KEY, MINIO_SECRET_KEY, STORAGE_EVENTS_BUCKETS,
// STORAGE_EVENTS_TARGET_ID) and prints what changed. `tributary storage setup` runs the same code.
import { ConfigError, createLogger } from '@tributary/shared';
import { loadSetupEnv, type SetupEnv } from './env.js';
import { minioConnectionFromEnv, setupBucketNotifications } from './setup.js';

let env: SetupEnv;
try {
  env = loadSetupEnv();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`storage setup: ${err.message}\n`);
  process.exit(2);
}
const logger = createLogger({ name: 'storage-setup', level: env.LOG_LEVEL, destination: process.stderr });
const minio = minioConnectionFromEnv(env);
if (!minio) {
  logger.error('set MINIO_ENDPOINT, MINIO_ACCESS_KEY and MINIO_SECRET_KEY');
  process.exit(2);
}
if (env.STORAGE_EVENTS_BUCKETS.length === 0) {
  logger.error('STORAGE_EVENTS_BUCKETS is empty: nothing to configure');
  process.exit(2);
}
try {
  const results = await setupBucketNotifications({
    minio,
    targetId: env.STORAGE_EVENTS_TARGET_ID,
    rules: env.STORAGE_EVENTS_BUCKETS,
    logger,
  });
  process.stdout.write(`${JSON.stringify({ targetId: env.STORAGE_EVENTS_TARGET_ID, results }, null, 2)}\n`);
} catch (err) {
  logger.error({ err }, 'bucket notification setup failed');
  process.exit(1);
}
