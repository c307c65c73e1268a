import type { Logger } from 'pino';
import type { ServiceEnv } from './env.js';
import { minioConnectionFromEnv, setupBucketNotifications } from './setup.js';

/**
 * On start, configures bucket notifications in the background (when MinIO and STORAGE_EVENTS_BUCKETS are
 * set), retrying until it succeeds: MinIO or the buckets may come up after this service. The webhook
 * serves meanwhile, since MinIO may already hold queued events for it.
 */
export function startSetupLoop(
  env: Pick<
    ServiceEnv,
    | 'MINIO_ENDPOINT'
    | 'MINIO_ACCESS_KEY'
    | 'MINIO_SECRET_KEY'
    | 'MINIO_REGION'
    | 'STORAGE_EVENTS_BUCKETS'
    | 'STORAGE_EVENTS_TARGET_ID'
    | 'STORAGE_EVENTS_SETUP_RETRY_MS'
  >,
  logger: Logger,
): { done: Promise<boolean>; stop(): void } {
  const log = logger.child({ component: 'setup' });
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    wake?.();
  };
  const minio = minioConnectionFromEnv(env);
  if (!minio || env.STORAGE_EVENTS_BUCKETS.length === 0) {
    log.info('bucket notification setup skipped (MINIO_ENDPOINT or STORAGE_EVENTS_BUCKETS not set)');
    return { done: Promise.resolve(false), stop };
  }
  const done = (async () => {
    for (let attempt = 1; !stopped; attempt++) {
      try {
        const results = await setupBucketNotifications({
          minio,
          targetId: env.STORAGE_EVENTS_TARGET_ID,
          rules: env.STORAGE_EVENTS_BUCKETS,
          logger: log,
        });
        log.info(
          { changed: results.filter((r) => r.changed).map((r) => r.bucket), buckets: results.length },
          'bucket notifications in place',
        );
        return true;
      } catch (err) {
        log.warn(
          { err, attempt, retryInMs: env.STORAGE_EVENTS_SETUP_RETRY_MS },
          'bucket notification setup failed',
        );
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, env.STORAGE_EVENTS_SETUP_RETRY_MS);
      });
    }
    return false;
  })();
  return { done, stop };
}
