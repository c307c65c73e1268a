// Topic set-up for benchmarks that survives a busy machine: Kafka answers a metadata request for a topic it
// has just created with the retriable UNKNOWN_TOPIC_OR_PARTITION (or LEADER_NOT_AVAILABLE) until the
// controller has propagated it, and kafkajs' own retries (waitForLeaders) can run out under load. A bench
// retries such errors until the topic has a leader for every partition, and fails only on the others.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, ITopicConfig } from 'kafkajs';

const RETRIABLE = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_CONTROLLER',
  'REQUEST_TIMED_OUT',
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
]);

function errorType(err: unknown): string | undefined {
  const e = err as { type?: string; name?: string; retriable?: boolean; errors?: unknown[] };
  if (e?.type) return e.type;
  // kafkajs wraps the broker's error in KafkaJSNumberOfRetriesExceeded / KafkaJSAggregateError.
  const cause =
    (e as { cause?: unknown; originalError?: unknown })?.cause ??
    (e as { originalError?: unknown }).originalError;
  if (cause) return errorType(cause);
  if (Array.isArray(e?.errors)) for (const inner of e.errors) return errorType(inner);
  return e?.name;
}

/** True for a Kafka error worth retrying: kafkajs' `retriable` flag or a known transient code. */
export function isRetriableKafkaError(err: unknown): boolean {
  const e = err as { retriable?: boolean; name?: string };
  if (e?.retriable === true) return true;
  if (e?.name === 'KafkaJSNumberOfRetriesExceeded' || e?.name === 'KafkaJSTimeout') return true;
  const type = errorType(err);
  return type !== undefined && RETRIABLE.has(type);
}

/**
 * Creates `topic` (or finds it created) and waits until every partition has a leader, retrying transient
 * errors with backoff for up to `timeoutMs`.
 */
export async function ensureTopic(
  admin: Admin,
  topic: ITopicConfig,
  timeoutMs = 60_000,
): Promise<{ attempts: number }> {
  const deadline = Date.now() + timeoutMs;
  const partitions = topic.numPartitions ?? 1;
  let attempts = 0;
  let delay = 100;
  for (;;) {
    attempts++;
    try {
      if (!(await admin.listTopics()).includes(topic.topic)) {
        await admin.createTopics({ topics: [topic], waitForLeaders: false });
      }
      const meta = await admin.fetchTopicMetadata({ topics: [topic.topic] });
      const parts = meta.topics[0]?.partitions ?? [];
      if (parts.length === partitions && parts.every((p) => p.leader >= 0)) return { attempts };
    } catch (err) {
      const exists = errorType(err) === 'TOPIC_ALREADY_EXISTS';
      if (!exists && (!isRetriableKafkaError(err) || Date.now() > deadline)) throw err;
    }
    if (Date.now() > deadline)
      throw new Error(`topic ${topic.topic}: no leader for every partition after ${timeoutMs} ms`);
    await sleep(delay);
    delay = Math.min(delay * 2, 2_000);
  }
}

/** Records in a topic (the sum of its partitions' high watermarks; the topic is new and never truncated). */
export async function recordsIn(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((n, p) => n + Number(p.high), 0);
}
