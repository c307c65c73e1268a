import type { BrokerRef } from './types.js';

/**
 * Kafka topic of a broker, as the Knative Kafka Broker names it (`knative-broker-<namespace>-<name>`), so a
 * Knative Kafka Broker in a cluster can read and write the same topic.
 */
export function brokerTopic(broker: BrokerRef): string {
  return `knative-broker-${broker.namespace}-${broker.name}`;
}

/** Consumer group of a Trigger, as the Knative Kafka Broker names it (`knative-trigger-<namespace>-<name>`). */
export function triggerGroupId(namespace: string, trigger: string): string {
  return `knative-trigger-${namespace}-${trigger}`;
}

export function brokerKey(broker: BrokerRef): string {
  return `${broker.namespace}/${broker.name}`;
}
