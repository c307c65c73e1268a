// `tributary replay` against real brokers on both log backends (real Kafka and real Postgres), with the
// Trigger dispatchers running: through the broker (dry run, then the replay, to one Trigger only), and with
// --direct (the log itself: refused on Kafka while another process' dispatcher holds the group, applied once
// it stopped; unknown Triggers named).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  type BrokerLog,
  createBrokerLog,
  parseResources,
  type ReplayResponse,
  type RunningBroker,
  startBroker,
} from '@tributary/eventing';
import { createCloudEvent, createLogger } from '@tributary/shared';
import { testEnv, uniqueName } from '@tributary/testing';
import { main } from '../index.js';
import { captureIo } from './capture-io.test-util.js';

jest.setTimeout(150_000);

const logger = createLogger({ name: 'replay-cli-test', level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface TestSubscriber {
  url: string;
  /** `ce-id` of every event received, in arrival order. */
  received: string[];
  waitFor(n: number): Promise<void>;
  close(): Promise<void>;
}

/** A subscriber that answers 202 and records the id of each (binary-mode) event. */
async function startSubscriber(): Promise<TestSubscriber> {
  const received: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push(String(req.headers['ce-id']));
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    received,
    async waitFor(n) {
      const deadline = Date.now() + 30_000;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} events, got ${received.length}`);
        await sleep(50);
      }
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const backends = [
  { name: 'kafka', env: () => ({ KAFKA_BROKERS: testEnv().kafkaBrokers.join(',') }) },
  { name: 'postgres', env: () => ({ DATABASE_URL: testEnv().databaseUrl }) },
] as const;

describe.each(backends)('tributary replay on the $name log', ({ env }) => {
  const namespace = uniqueName('replaycli').replace(/_/g, '-');
  let log: BrokerLog;
  let broker: RunningBroker | undefined;
  let a: TestSubscriber;
  let b: TestSubscriber;
  let yaml: string;
  let middle: Date;

  const append = (ids: string[]) =>
    log.append(
      { namespace, name: 'default' },
      ids.map((id) => createCloudEvent({ type: 'dev.tributary.test', source: '/replay-cli', id })),
    );

  beforeAll(async () => {
    const e: Record<string, string> = env();
    log = createBrokerLog({ kafkaBrokers: e.KAFKA_BROKERS?.split(','), databaseUrl: e.DATABASE_URL, logger });
    a = await startSubscriber();
    b = await startSubscriber();
    const trigger = (name: string, uri: string) => `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${name}
  namespace: ${namespace}
  annotations: { tributary.dev/initial-offset: earliest }
spec:
  broker: default
  subscriber: { uri: "${uri}" }`;
    yaml = [
      `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: { name: default, namespace: ${namespace} }`,
      trigger('a', a.url),
      trigger('b', b.url),
    ].join('\n---\n');
    broker = await startBroker({
      resources: parseResources([{ file: 'r.yaml', text: yaml }]),
      log,
      logger,
      port: 0,
    });
    await append(['e1', 'e2', 'e3', 'e4']);
    await sleep(100);
    middle = new Date();
    await sleep(100);
    await append(['e5', 'e6', 'e7']);
    await a.waitFor(7);
    await b.waitFor(7);
  });

  afterAll(async () => {
    await broker?.close();
    await a.close();
    await b.close();
    await log.close();
  });

  async function replay(...args: string[]) {
    const t = captureIo({ LOG_LEVEL: 'silent', ...env() });
    const code = await main(['replay', ...args], t.io);
    return { code, ...t };
  }

  it('previews and replays through the running broker, to that Trigger only', async () => {
    const url = broker!.url;
    const dry = await replay(`${namespace}/a`, '--from', middle.toISOString(), '--dry-run', '--url', url);
    expect(dry.err).toEqual([]);
    expect(dry.code).toBe(0);
    expect(dry.out[0]).toContain(`Trigger ${namespace}/a (consumer group knative-trigger-${namespace}-a)`);
    expect(dry.out.at(-1)).toBe('dry run: nothing moved; 3 event(s) would be delivered again.');
    await sleep(300);
    expect(a.received).toHaveLength(7);

    const done = await replay(`${namespace}/a`, '--from', middle.toISOString(), '--url', url, '--json');
    expect(done.code).toBe(0);
    const result = JSON.parse(done.out.join('\n')) as ReplayResponse;
    expect(result).toMatchObject({ events: 3, dryRun: false, trigger: `${namespace}/a` });
    await a.waitFor(10);
    await sleep(500);
    expect(a.received.slice(7).sort()).toEqual(['e5', 'e6', 'e7']);
    expect(b.received).toHaveLength(7);

    const unknown = await replay(`${namespace}/nope`, '--from', 'earliest', '--url', url);
    expect(unknown.code).toBe(1);
    expect(unknown.err[0]).toContain(`no Trigger ${namespace}/nope on this broker`);
  });

  it('--direct: names an unknown Trigger; applies to the stored position when no dispatcher runs', async () => {
    const missing = await replay(`${namespace}/nope`, '--from', 'earliest', '--direct');
    expect(missing.code).toBe(1);
    expect(missing.err[0]).toContain(`has no position on broker ${namespace}/default`);

    if (log.kind === 'kafka') {
      // The broker's dispatcher (another Kafka client) holds the group: Kafka refuses, and so do we.
      const busy = await replay(`${namespace}/b`, '--from', 'earliest', '--direct');
      expect(busy.code).toBe(1);
      expect(busy.err[0]).toContain('has members in another process');
    }

    await broker!.close();
    broker = undefined;
    await sleep(log.kind === 'kafka' ? 1000 : 0);
    const count = b.received.length;
    let done = await replay(`${namespace}/b`, '--from', 'earliest', '--direct');
    for (let i = 0; i < 10 && done.code !== 0 && /members in another process/.test(done.err[0] ?? ''); i++) {
      await sleep(1000); // the coordinator has not seen the stopped consumer leave yet
      done = await replay(`${namespace}/b`, '--from', 'earliest', '--direct');
    }
    expect(done.err).toEqual([]);
    expect(done.out.at(-1)).toBe('replayed: 7 event(s) will be delivered again.');
    broker = await startBroker({
      resources: parseResources([{ file: 'r.yaml', text: yaml }]),
      log,
      logger,
      port: 0,
    });
    await b.waitFor(count + 7);
    expect(b.received.slice(count).sort()).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7']);
  });
});
