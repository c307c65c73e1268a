export {
  backoffDelay,
  createPublisher,
  isRetryableStatus,
  type Publisher,
  type PublisherLogger,
  type PublisherOptions,
  PublishFailedError,
  type PublishMode,
  type PublishOptions,
  PublishRejectedError,
} from './publisher.js';
