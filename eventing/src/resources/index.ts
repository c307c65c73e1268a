export {
  DEFAULT_BACKOFF_DELAY_MS,
  DEFAULT_TIMEOUT_MS,
  type DeliveryIssue,
  type DeliveryOptions,
  mergeDelivery,
  resolveDelivery,
} from './delivery.js';
export { formatDuration, parseDuration } from './duration.js';
export { formatIssue, formatPath, type ResourceIssue, ResourceValidationError } from './errors.js';
export {
  DEFAULT_NAMESPACE,
  DELIVERY_ORDER_ANNOTATION,
  INITIAL_OFFSET_ANNOTATION,
  KAFKA_BROKER_CONFIG,
  loadResources,
  parseResources,
  parseRfc3339,
  type SourceText,
  triggerGroupId,
  yamlFilesIn,
} from './load.js';
export {
  type DestinationResolver,
  noResolver,
  type ResolvableRef,
  resolveDestination,
  UnresolvableDestinationError,
} from './resolver.js';
export type {
  BrokerManifest,
  DeliveryManifest,
  DestinationManifest,
  FilterSpec,
  KReference,
  TriggerManifest,
} from './schema.js';
export type {
  BrokerResource,
  DeliveryOrder,
  InitialOffset,
  KafkaBrokerConfig,
  LoadedResources,
  ResourceLocation,
  TriggerResource,
} from './types.js';
