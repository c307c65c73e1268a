// Regression tests for Kafka log faults against real Kafka: retriable errors at start-up, consumers that crash,
// and an outage of the broker (a Kafka of this test's own, SIGKILLed and restarted; never the shared one).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { createCloudEvent, createLogger, TributaryError } from '@tributary/shared';
import { freePort, type KafkaInstance, startKafka, testEnv, uniqueName } from '@tributary/testing';
import { Registry } from 'prom-client';
import type { LogRecord } from '../types.js';
import { createKafkaLog } from './kafka-log.js';

jest.setTimeout(240_000);

const logger = createLogger({ name: 'kafka-faults-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const ev = (id: string) =>
  createCloudEvent({ type: 'dev.tributary.test', source: '/kafka-faults', id, data: {} });
const brokerRef = (prefix: string) => ({ namespace: 'ns', name: uniqueName(prefix).replace(/_/g, '-') });

async function counter(registry: Registry, name: string, labels: Record<string, string>) {
  const m = await registry.getSingleMetric(name)?.get();
  return (m?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, val]) => String(v.labels[k]) === val))
    .reduce((s, v) => s + v.value, 0);
}

describe('Kafka log faults (shared Kafka)', () => {
  it('regression: subscribing right after a topic is created retries NOT_LEADER_OR_FOLLOWER', async () => {
    // 1 start in 12 failed with "This server is not the leader for that topic-partition": reading a new
    // topic's end offsets before its leaders are known everywhere. Each round creates a topic and at once
    // reads its offsets (`latest`), the path that failed.
    const log = createKafkaLog({ brokers: testEnv().kafkaBrokers, partitions: 10, logger });
    try {
      for (let i = 0; i < 12; i++) {
        const broker = brokerRef('startup');
        const sub = await log.subscribe(broker, {
          groupId: uniqueName('startup-group'),
          initialOffset: 'latest',
          onRecords: async () => {},
        });
        await sub.close();
      }
    } finally {
      await log.close();
    }
  });

  it('regression: a consumer that crashes with an error kafkajs does not retry is restarted', async () => {
    const registry = new Registry();
    const log = createKafkaLog({
      brokers: testEnv().kafkaBrokers,
      partitions: 1,
      logger,
      registry,
      maxWaitTimeMs: 100,
    });
    const broker = brokerRef('crash');
    const groupId = uniqueName('crash-group');
    try {
      await log.ensureBroker(broker);
      await log.append(broker, [ev('c-1')]);
      const seen: LogRecord[] = [];
      let calls = 0;
      const sub = await log.subscribe(broker, {
        groupId,
        initialOffset: 'earliest',
        onRecords: async (records) => {
          calls++;
          // A TypeError is "unrecoverable" to kafkajs: its consumer crashes and stays stopped.
          if (calls === 1) throw new TypeError('a bug in a handler');
          seen.push(...records);
        },
      });
      const deadline = Date.now() + 60_000;
      while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(seen.map((r) => r.event.id)).toEqual(['c-1']);
      expect(
        await counter(registry, 'tributary_broker_log_consumer_crashes_total', {
          group: groupId,
          restart: 'log',
        }),
      ).toBe(1);
      await sub.close();
    } finally {
      await log.close();
    }
  });
});

describe('Kafka outage (a Kafka of its own, SIGKILLed and restarted)', () => {
  let kafka: KafkaInstance | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'tributary-kafka-outage-'));

  afterAll(async () => {
    await kafka?.stop().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 at once while Kafka is down, and accepts again within 5 s of it being back', async () => {
    const ports = { port: await freePort(), controllerPort: await freePort() };
    const quiet = () => {};
    kafka = await startKafka({ dataDir, ...ports, log: quiet });
    const log = createKafkaLog({ brokers: kafka.brokers, partitions: 2, logger, maxWaitTimeMs: 100 });
    const broker = brokerRef('outage');
    const delivered = new Set<string>();
    try {
      await log.ensureBroker(broker);
      const sub = await log.subscribe(broker, {
        groupId: uniqueName('outage-group'),
        initialOffset: 'earliest',
        onRecords: async (records) => {
          for (const r of records) delivered.add(r.event.id);
          const last = records[records.length - 1];
          if (last) await sub.commit(last.partition, String(BigInt(last.offset) + 1n)).catch(() => {});
        },
      });
      const accepted: string[] = [];
      await log.append(broker, [ev('before')]);
      accepted.push('before');

      process.kill(kafka.pid, 'SIGKILL');
      const killedAt = Date.now();
      // Appends during the outage fail (nothing is lost: none was acknowledged). Once the client has seen
      // the broker refuse connections, they fail at once instead of after the 10 s append timeout.
      let fastFailAt: number | undefined;
      for (let i = 0; Date.now() - killedAt < 30_000; i++) {
        const started = Date.now();
        try {
          await log.append(broker, [ev(`during-${i}`)]);
          accepted.push(`during-${i}`); // acknowledged before the kill took effect
        } catch (err) {
          expect(err).toBeInstanceOf(TributaryError);
          expect({ status: (err as TributaryError).statusCode, message: (err as Error).message }).toEqual({
            status: 503,
            message: expect.any(String),
          });
          if (Date.now() - started < 200) {
            fastFailAt = Date.now();
            break;
          }
        }
      }
      expect(fastFailAt).toBeDefined();
      logger.info({ detectMs: (fastFailAt as number) - killedAt }, 'outage detected');

      kafka = await startKafka({ dataDir, ...ports, log: quiet });
      const backAt = Date.now();
      let acceptedAgainAt: number | undefined;
      while (Date.now() - backAt < 30_000) {
        try {
          await log.append(broker, [ev('after')]);
          accepted.push('after');
          acceptedAgainAt = Date.now();
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      expect(acceptedAgainAt).toBeDefined();
      expect((acceptedAgainAt as number) - backAt).toBeLessThanOrEqual(5000);

      const deadline = Date.now() + 60_000;
      while (accepted.some((id) => !delivered.has(id)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(accepted.filter((id) => !delivered.has(id))).toEqual([]);
      await sub.close();
    } finally {
      await log.close();
    }
  });
});
