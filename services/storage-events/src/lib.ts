// Public API of @tributary/storage-events (the service itself starts from index.ts).
export { type BuildAppOptions, buildApp, checkBearer, type EventSink, WEBHOOK_PATH } from './app.js';
export {
  createHttpDeadLetterSink,
  type DeadLetterReason,
  type DeadLetterSink,
  type HttpDeadLetterSinkOptions,
  wrapUnpublishable,
} from './dead-letters.js';
export { loadEnv, loadSetupEnv, type ServiceEnv, type SetupEnv } from './env.js';
export {
  decodeObjectKey,
  eventIdFor,
  eventTypeFor,
  STORAGE_EVENT_TYPES,
  type StorageEventData,
  type StorageEventType,
  toCloudEvent,
} from './mapping.js';
export { type MinioNotification, parseNotificationBody, type S3Record } from './notification.js';
export * from './setup.js';
export { startSetupLoop } from './setup-loop.js';
