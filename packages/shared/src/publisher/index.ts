export {
  backoffDelay,
  createPublisher,
  isRetryableStatus,
  type Publisher,
  type PublisherOptions,
  PublishFailedError,
  type PublishMode,
  type PublishOptions,
  PublishRejectedError,
} from './publisher.js';
