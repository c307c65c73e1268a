export type { BatcherOptions } from './batcher.js';
export {
  createKafkaLog,
  DEFAULT_APPEND_TIMEOUT_MS,
  DEFAULT_PARTITIONS,
  DEFAULT_REPLICATION_FACTOR,
  DEFAULT_TOPIC_MAX_MESSAGE_BYTES,
  KafkaBrokerLog,
  type KafkaLogOptions,
} from './kafka/kafka-log.js';
export { brokerTopic, triggerGroupId } from './names.js';
export { DEFAULT_SCHEMA as DEFAULT_POSTGRES_SCHEMA } from './postgres/migrations.js';
export {
  createPostgresLog,
  PostgresBrokerLog,
  type PostgresLogOptions,
  type PostgresRetentionOptions,
} from './postgres/postgres-log.js';
export type {
  BrokerLog,
  BrokerRef,
  ForwardView,
  LogRecord,
  LogSubscription,
  PartitionLag,
  PartitionReplay,
  ReplayOptions,
  ReplayResult,
  SubscribeOptions,
} from './types.js';
