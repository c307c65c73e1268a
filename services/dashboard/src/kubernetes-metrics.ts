/**
 * The metric vocabulary of the Kubernetes stack infra/ deploys, as Prometheus stores it. The dashboard's
 * Prometheus source (prometheus-source.ts), the Grafana dashboard and the alert rules in infra/ use only
 * these names; src/infra.test.ts checks every PromQL expression against this list, and the real-Prometheus
 * test serves exactly these series from fixture exporters. Sources (README "On Kubernetes"):
 *
 * - Knative Kafka Broker data plane (Java, Micrometer's Prometheus registry), knative-v1.17.0:
 *   data-plane/core/src/main/java/dev/knative/eventing/kafka/broker/core/metrics/Metrics.java
 *   (`event_count` counter with base unit "1" -> `event_count_1_total`; `event_dispatch_latencies` and
 *   `event_processing_latencies` distribution summaries in milliseconds with the service-level objectives
 *   50, 100, 500, 1000, 5000, 10000 -> `*_ms_bucket{le}`, `*_ms_count`, `*_ms_sum`, `*_ms_max`), tags from
 *   Metrics.Tags; the receiver tags `name`/`namespace_name` (the Broker or KafkaSink), the dispatcher adds
 *   `consumer_name` (the Trigger) in data-plane/dispatcher/.../impl/ResourceContext.java and
 *   `response_code`/`response_code_class`/`event_type` in RecordDispatcherImpl.java.
 * - Strimzi Kafka Exporter (kafka_exporter 1.9, Strimzi 0.48): kafka_exporter.go (`kafka_consumergroup_lag`,
 *   `kafka_consumer_lag_millis`, `kafka_topic_partition_current_offset`, `kafka_topic_partition_oldest_offset`,
 *   `kafka_consumergroup_members`).
 * - Knative Serving v0.44.0 (knative-v1.17.0), OpenCensus views exported with the component as prefix:
 *   pkg/reconciler/autoscaling/kpa/metrics.go (`autoscaler_actual_pods`, `autoscaler_requested_pods`, labels
 *   of the knative_revision resource: `namespace_name`, `configuration_name`, `revision_name`) and
 *   pkg/queue/request_metric.go (`revision_request_count`, every request the queue-proxy serves, retries
 *   included; labels `namespace_name`, `service_name`, `configuration_name`, `revision_name`,
 *   `response_code`, `response_code_class`).
 * - Tributary's own services that still run on Kubernetes: db-events (`db_events_*`) and the dashboard's
 *   dead-letter store (`tributary_dead_letters_*`); those come from the owners' vocabulary constants (docs/METRICS.md).
 */

/** Series (as Prometheus stores them) that the Knative Kafka Broker's receiver and dispatcher export. */
export const KNATIVE_KAFKA_BROKER = {
  /** Counter. Receiver: one per event received by a Broker/KafkaSink ingress; dispatcher: one per final dispatch outcome to a Trigger's subscriber (after retries). */
  eventCount: 'event_count_1_total',
  /** Distribution summary in ms. Receiver: time to write the event to Kafka; dispatcher: time to deliver it to the subscriber. */
  dispatchLatency: 'event_dispatch_latencies_ms',
  /** Distribution summary in ms (dispatcher): time from the record being received to the dispatch starting. */
  processingLatency: 'event_processing_latencies_ms',
  /** Tags (Metrics.Tags). */
  labels: {
    name: 'name',
    namespace: 'namespace_name',
    trigger: 'consumer_name',
    eventType: 'event_type',
    responseCode: 'response_code',
    responseCodeClass: 'response_code_class',
  },
  /** Micrometer serviceLevelObjectives of both summaries (ms): the only finite `le` buckets. */
  latencyBucketsMs: [50, 100, 500, 1000, 5000, 10000],
} as const;

/** Strimzi Kafka Exporter series. */
export const KAFKA_EXPORTER = {
  /** Gauge {consumergroup, topic, partition}: log end offset minus the group's committed offset. */
  consumerGroupLag: 'kafka_consumergroup_lag',
  /** Gauge {consumergroup, topic, partition}: approximate age of the lag in ms (interpolated from offsets seen over time). */
  consumerLagMillis: 'kafka_consumer_lag_millis',
  consumerGroupCurrentOffset: 'kafka_consumergroup_current_offset',
  consumerGroupMembers: 'kafka_consumergroup_members',
  /** Gauge {topic, partition}: log end offset. */
  topicCurrentOffset: 'kafka_topic_partition_current_offset',
  /** Gauge {topic, partition}: log start offset (after retention). */
  topicOldestOffset: 'kafka_topic_partition_oldest_offset',
} as const;

/** Knative Serving series. */
export const KNATIVE_SERVING = {
  /** Gauge {namespace_name, configuration_name, revision_name}: pods allocated to a Revision. */
  actualPods: 'autoscaler_actual_pods',
  /** Gauge {namespace_name, configuration_name, revision_name}: pods the autoscaler asked for. */
  requestedPods: 'autoscaler_requested_pods',
  /** Counter {namespace_name, service_name, configuration_name, revision_name, response_code, response_code_class}. */
  requestCount: 'revision_request_count',
} as const;

/** Where each external series comes from (component, and the source file its name was taken from). */
export function kubernetesMetricSources(): Map<string, string> {
  const k = KNATIVE_KAFKA_BROKER;
  const out = new Map<string, string>();
  const broker =
    'Knative Kafka Broker data plane (receiver, dispatcher, KafkaSink receiver): `data-plane/core/.../metrics/Metrics.java`';
  for (const n of [k.eventCount]) out.set(n, broker);
  for (const s of [k.dispatchLatency, k.processingLatency])
    for (const suffix of ['_bucket', '_count', '_sum', '_max']) out.set(`${s}${suffix}`, broker);
  for (const n of Object.values(KAFKA_EXPORTER)) out.set(n, 'Strimzi Kafka Exporter: `kafka_exporter.go`');
  out.set(
    KNATIVE_SERVING.actualPods,
    'Knative Serving autoscaler: `pkg/reconciler/autoscaling/kpa/metrics.go`',
  );
  out.set(
    KNATIVE_SERVING.requestedPods,
    'Knative Serving autoscaler: `pkg/reconciler/autoscaling/kpa/metrics.go`',
  );
  out.set(KNATIVE_SERVING.requestCount, 'Knative Serving queue-proxy: `pkg/queue/request_metric.go`');
  return out;
}

/** The Knative Kafka Broker's consumer group of a Trigger (config-kafka-features' default template). */
export function triggerConsumerGroup(namespace: string, trigger: string): string {
  return `knative-trigger-${namespace}-${trigger}`;
}

/** Labels Prometheus adds to every series of a scrape target (plus Kubernetes service discovery's usual ones). */
export const TARGET_LABELS = ['job', 'instance', 'namespace', 'pod', 'service', 'container', 'endpoint'];

/** The labels each Kubernetes-stack series carries (besides {@link TARGET_LABELS}). */
export function kubernetesMetricLabels(): Map<string, Set<string>> {
  const k = KNATIVE_KAFKA_BROKER.labels;
  const broker = [k.name, k.namespace, k.trigger, k.eventType, k.responseCode, k.responseCodeClass];
  const revision = ['namespace_name', 'configuration_name', 'revision_name'];
  const group = ['consumergroup', 'topic', 'partition'];
  const out = new Map<string, Set<string>>();
  const set = (names: string[], labels: string[]) => {
    for (const n of names) out.set(n, new Set(labels));
  };
  set([KNATIVE_KAFKA_BROKER.eventCount], broker);
  for (const s of [KNATIVE_KAFKA_BROKER.dispatchLatency, KNATIVE_KAFKA_BROKER.processingLatency]) {
    set([`${s}_count`, `${s}_sum`, `${s}_max`], broker);
    set([`${s}_bucket`], [...broker, 'le']);
  }
  set(
    [
      KAFKA_EXPORTER.consumerGroupLag,
      KAFKA_EXPORTER.consumerLagMillis,
      KAFKA_EXPORTER.consumerGroupCurrentOffset,
    ],
    group,
  );
  set([KAFKA_EXPORTER.consumerGroupMembers], ['consumergroup']);
  set([KAFKA_EXPORTER.topicCurrentOffset, KAFKA_EXPORTER.topicOldestOffset], ['topic', 'partition']);
  set([KNATIVE_SERVING.actualPods, KNATIVE_SERVING.requestedPods], revision);
  set(
    [KNATIVE_SERVING.requestCount],
    [...revision, 'service_name', 'response_code', 'response_code_class', 'pod_name', 'container_name'],
  );
  return out;
}

/**
 * Every series name the Kubernetes stack exports that the dashboard, Grafana and the alert rules may use
 * (Tributary's own db-events and dead-letter metrics are checked separately against the services' sources).
 */
export function kubernetesMetricNames(): Set<string> {
  const k = KNATIVE_KAFKA_BROKER;
  const summary = (n: string) => [`${n}_bucket`, `${n}_count`, `${n}_sum`, `${n}_max`];
  return new Set([
    k.eventCount,
    ...summary(k.dispatchLatency),
    ...summary(k.processingLatency),
    ...Object.values(KAFKA_EXPORTER),
    ...Object.values(KNATIVE_SERVING),
  ]);
}
