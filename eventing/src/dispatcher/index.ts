export {
  type BackoffSettings,
  DEAD_LETTER_MAX_DELAY_MS,
  deadLetterRetryDelayMs,
  isRetryableStatus,
  retryDelayMs,
} from './backoff.js';
export { ERROR_DATA_MAX_BYTES, TriggerDispatcher, type TriggerDispatcherOptions } from './dispatcher.js';
export { createHttpAgent, type HttpResult, MAX_RESPONSE_BYTES, postEvent, TransportError } from './http.js';
export { OffsetTracker } from './offsets.js';
