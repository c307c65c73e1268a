import type { CompiledFilter } from '../filters/compile.js';
import type { DeliveryOptions } from './delivery.js';
import type { DeliveryManifest, DestinationManifest, FilterSpec } from './schema.js';

/** Where a resource came from: the file and the 1-based position of its YAML document. */
export interface ResourceLocation {
  file: string;
  document: number;
}

/** Knative Kafka broker settings from a `kafka-broker-config`-style ConfigMap. */
export interface KafkaBrokerConfig {
  /** ConfigMap the values came from, if any. */
  configMap?: string;
  /** `default.topic.partitions` */
  partitions?: number;
  /** `default.topic.replication.factor` */
  replicationFactor?: number;
  /** `bootstrap.servers`, comma-separated in the ConfigMap. */
  bootstrapServers?: string[];
}

export interface BrokerResource {
  namespace: string;
  name: string;
  annotations: Record<string, string>;
  /** The Broker's own `spec.delivery` (Triggers merge theirs over it). */
  delivery: DeliveryManifest | undefined;
  config: KafkaBrokerConfig;
  location: ResourceLocation;
}

export type DeliveryOrder = 'ordered' | 'unordered';
/** `earliest`, `latest`, or a time (RFC 3339 in the annotation): the first event stored at or after it. */
export type InitialOffset = 'earliest' | 'latest' | Date;

export interface TriggerResource {
  namespace: string;
  name: string;
  /** Name of the Broker (same namespace). */
  broker: string;
  annotations: Record<string, string>;
  subscriber: DestinationManifest;
  /** Broker and Trigger delivery merged field by field, durations parsed. */
  delivery: DeliveryOptions;
  /** Annotation `kafka.eventing.knative.dev/delivery.order`; default `unordered`. */
  deliveryOrder: DeliveryOrder;
  /** Annotation `tributary.dev/initial-offset`; default `latest`, as Knative. */
  initialOffset: InitialOffset;
  /** The raw filter spec, and the predicate compiled from it once. */
  filterSpec: { filter?: { attributes?: Record<string, string> }; filters?: FilterSpec[] };
  filter: CompiledFilter;
  /** Consumer group: `knative-trigger-<namespace>-<name>`. */
  groupId: string;
  location: ResourceLocation;
}

export interface LoadedResources {
  brokers: BrokerResource[];
  triggers: TriggerResource[];
  /** Files read, in order. */
  files: string[];
  /** Non-fatal notes (e.g. a referenced ConfigMap that is not in the folder). */
  warnings: string[];
}
