import { afterAll, describe, expect, it } from '@jest/globals';
import kafkajs from 'kafkajs';
import { testEnv, uniqueName, uniqueTopic, waitFor } from './index.js';

// Generous limits for a loaded 2-core machine (Jest's default is 5 s); not a performance check.
const TIMEOUT_MS = 120_000;

describe('Kafka (real broker)', () => {
  const kafka = new kafkajs.Kafka({
    clientId: 'testing-smoke',
    brokers: testEnv().kafkaBrokers,
    // kafkajs logs retried, expected errors (e.g. the group coordinator still loading) at ERROR.
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const topic = uniqueTopic('smoke');

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }, TIMEOUT_MS);

  it(
    'sends a record with headers to a new 3-partition topic and consumes it back with its headers',
    async () => {
      await admin.connect();
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })).toBe(
        true,
      );
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(metadata.topics[0]?.partitions).toHaveLength(3);

      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const [sent] = await producer.send({
        topic,
        acks: -1,
        messages: [
          {
            key: 'order-1',
            value: JSON.stringify({ hello: 'kafka' }),
            headers: { ce_type: 'dev.tributary.test', ce_id: 'abc-1', 'content-type': 'application/json' },
          },
        ],
      });
      await producer.disconnect();
      expect(sent?.errorCode).toBe(0);

      const consumer = kafka.consumer({ groupId: uniqueName('smoke_group') });
      const received: kafkajs.KafkaMessage[] = [];
      let partition = -1;
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          eachMessage: async (payload) => {
            received.push(payload.message);
            partition = payload.partition;
          },
        });
        await waitFor(() => received.length > 0, { timeoutMs: 60_000, message: 'the record to be consumed' });
      } finally {
        await consumer.disconnect();
      }

      const [message] = received;
      expect(partition).toBe(sent?.partition);
      expect(message?.key?.toString()).toBe('order-1');
      expect(JSON.parse(message?.value?.toString() ?? 'null')).toEqual({ hello: 'kafka' });
      const headers = Object.fromEntries(
        Object.entries(message?.headers ?? {}).map(([name, value]) => [name, value?.toString()]),
      );
      expect(headers).toEqual({
        ce_type: 'dev.tributary.test',
        ce_id: 'abc-1',
        'content-type': 'application/json',
      });
    },
    TIMEOUT_MS,
  );
});
