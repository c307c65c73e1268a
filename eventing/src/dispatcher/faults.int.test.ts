// Regression tests for dispatcher faults, on both real log backends: records that can never be delivered
// are committed past (lag back to 0) and counted, instead of freezing their partition's commit point.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { type CloudEvent, createCloudEvent, createLogger } from '@tributary/shared';
import { testEnv, uniqueName, uniqueSchema } from '@tributary/testing';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { Registry } from 'prom-client';
import { dispatcherTrigger } from '../broker.js';
import { createKafkaLog } from '../log/kafka/kafka-log.js';
import { brokerTopic } from '../log/names.js';
import { createPostgresLog } from '../log/postgres/postgres-log.js';
import type { BrokerLog, BrokerRef } from '../log/types.js';
import { dispatchMetrics } from '../metrics/dispatch.js';
import { parseResources } from '../resources/load.js';
import { TriggerDispatcher } from './dispatcher.js';
import { startSubscriber, type TestSubscriber } from './test-subscriber.js';

jest.setTimeout(120_000);

const logger = createLogger({ name: 'faults-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

interface Backend {
  name: 'kafka' | 'postgres';
  create(): BrokerLog;
  /** Stores one record that is not a CloudEvent on every partition of the broker. */
  storeInvalid(log: BrokerLog, broker: BrokerRef): Promise<number>;
}

const PARTITIONS = 3;
const pgSchema = uniqueSchema('faults');

const backends: Backend[] = [
  {
    name: 'kafka',
    create: () =>
      createKafkaLog({ brokers: testEnv().kafkaBrokers, partitions: PARTITIONS, logger, maxWaitTimeMs: 100 }),
    async storeInvalid(_log, broker) {
      const kafka = new kafkajs.Kafka({
        brokers: testEnv().kafkaBrokers,
        logLevel: kafkajs.logLevel.NOTHING,
      });
      const producer = kafka.producer();
      await producer.connect();
      try {
        // No ce_ headers: not a CloudEvent in binary mode, and not JSON for structured mode either.
        await producer.send({
          topic: brokerTopic(broker),
          messages: Array.from({ length: PARTITIONS }, (_, partition) => ({
            partition,
            value: 'not a CloudEvent',
          })),
        });
      } finally {
        await producer.disconnect();
      }
      return PARTITIONS;
    },
  },
  {
    name: 'postgres',
    create: () =>
      createPostgresLog({
        databaseUrl: testEnv().databaseUrl,
        schema: pgSchema,
        logger,
        pollIntervalMs: 200,
      }),
    async storeInvalid(log, broker) {
      await log.append(broker, [ev('to-be-broken')]);
      const client = new pg.Client({ connectionString: testEnv().databaseUrl });
      await client.connect();
      try {
        await client.query(`UPDATE ${pgSchema}.events SET headers = '{}' WHERE headers->>'ce_id' = $1`, [
          'to-be-broken',
        ]);
      } finally {
        await client.end();
      }
      return 1;
    },
  },
];

function ev(id: string): CloudEvent<unknown> {
  return createCloudEvent({ type: 'dev.tributary.test', source: '/faults', id, data: { id } });
}

function trigger(brokerName: string, name: string, uri: string, extra = '') {
  const yaml = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: ${brokerName}, namespace: ns }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${name}
  namespace: ns
  annotations: { tributary.dev/initial-offset: earliest }
spec:
  broker: ${brokerName}
  subscriber: { uri: ${uri} }
  delivery: { retry: 0${extra} }`;
  const t = parseResources([{ file: 't.yaml', text: yaml }]).triggers[0];
  if (!t) throw new Error('no trigger');
  return t;
}

describe.each(backends)('dispatcher faults ($name log)', (backend) => {
  let log: BrokerLog;
  const subscribers: TestSubscriber[] = [];
  const dispatchers: TriggerDispatcher[] = [];

  beforeAll(() => {
    log = backend.create();
  });
  afterAll(async () => {
    for (const d of dispatchers) await d.close();
    for (const s of subscribers) await s.close();
    await log.close();
  });

  async function lagOf(broker: BrokerRef, groupId: string): Promise<number> {
    return (await log.lag(broker, groupId)).reduce((s, p) => s + p.events, 0);
  }

  async function drained(broker: BrokerRef, groupId: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while ((await lagOf(broker, groupId)) > 0) {
      if (Date.now() > deadline) throw new Error(`lag of ${groupId} stayed ${await lagOf(broker, groupId)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function counter(registry: Registry, name: string, labels: Record<string, string>) {
    const m = await registry.getSingleMetric(name)?.get();
    return (m?.values ?? [])
      .filter((v) => Object.entries(labels).every(([k, val]) => String(v.labels[k]) === val))
      .reduce((s, v) => s + v.value, 0);
  }

  function dispatcher(
    broker: BrokerRef,
    t: ReturnType<typeof trigger>,
    subscriberUrl: string,
    registry: Registry,
    deadLetterUrl?: string,
  ): TriggerDispatcher {
    const d = new TriggerDispatcher({
      log,
      broker,
      trigger: dispatcherTrigger(t),
      subscriberUrl,
      deadLetterUrl,
      logger,
      metrics: dispatchMetrics(registry),
      lagIntervalMs: 0,
      closeGraceMs: 1000,
    });
    dispatchers.push(d);
    return d;
  }

  it('regression: records skipped as invalid are committed past and counted', async () => {
    const broker = { namespace: 'ns', name: uniqueName('invalid').replace(/_/g, '-') };
    await log.ensureBroker(broker);
    await log.append(broker, [ev('before')]);
    const invalid = await backend.storeInvalid(log, broker);
    const sub = await startSubscriber();
    subscribers.push(sub);
    const t = trigger(broker.name, 'skips', sub.url);
    const registry = new Registry();
    await dispatcher(broker, t, sub.url, registry).start();
    await sub.waitFor(1);
    // The invalid records are the last ones on their partitions: only committing past them empties the lag.
    await drained(broker, t.groupId);
    expect(
      await counter(registry, 'tributary_trigger_events_skipped_total', {
        trigger: 'skips',
        reason: 'invalid',
      }),
    ).toBe(invalid);
    await log.append(broker, [ev('after')]);
    await sub.waitFor(2);
    expect(sub.received.map((r) => r.event.id).sort()).toEqual(['after', 'before']);
    await drained(broker, t.groupId);
  });

  it('regression: an unexpected dispatch error does not freeze the commit point', async () => {
    const broker = { namespace: 'ns', name: uniqueName('unexpected').replace(/_/g, '-') };
    await log.ensureBroker(broker);
    await log.append(broker, [ev('u-1'), ev('u-2'), ev('u-3')]);
    // A subscriber URL the HTTP client cannot even parse: every send throws before any request is made, an
    // error that is neither a response nor a transport failure.
    const registry = new Registry();
    const dropped = trigger(broker.name, 'drops', 'http://127.0.0.1:1/');
    await dispatcher(broker, dropped, 'not a url', registry).start();
    await drained(broker, dropped.groupId);
    expect(
      await counter(registry, 'tributary_trigger_events_skipped_total', {
        trigger: 'drops',
        reason: 'error',
      }),
    ).toBe(3);

    // With a dead-letter sink the events go there instead of being dropped.
    const dls = await startSubscriber();
    subscribers.push(dls);
    const dead = trigger(broker.name, 'dead-letters', 'http://127.0.0.1:1/');
    await dispatcher(broker, dead, 'not a url', registry, dls.url).start();
    await dls.waitFor(3);
    expect(dls.received.map((r) => r.event.id).sort()).toEqual(['u-1', 'u-2', 'u-3']);
    expect(dls.received[0]?.event.knativeerrordest).toBe('not a url');
    await drained(broker, dead.groupId);
    expect(await counter(registry, 'tributary_trigger_dead_letters_total', { trigger: 'dead-letters' })).toBe(
      3,
    );
  });
});
