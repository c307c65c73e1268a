// Trigger dispatch conformance against both log backends (real Kafka, real Postgres), with local HTTP
// subscribers: filters, retries and delays, timeouts, dead letters, replies, ordering, offsets.
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { type CloudEvent, createCloudEvent, createLogger, encodeHttpBinary } from '@tributary/shared';
import { freePort, testEnv, uniqueName, uniqueSchema } from '@tributary/testing';
import { request } from 'undici';
import { type RunningBroker, startBroker } from '../broker.js';
import { createKafkaLog } from '../log/kafka/kafka-log.js';
import { createPostgresLog } from '../log/postgres/postgres-log.js';
import { collect } from '../log/testing.js';
import type { BrokerLog, BrokerRef } from '../log/types.js';
import { parseResources } from '../resources/load.js';
import { type Received, startSubscriber, type TestSubscriber } from './test-subscriber.js';

jest.setTimeout(120_000);

const logger = createLogger({ name: 'dispatch-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

interface Backend {
  name: 'kafka' | 'postgres';
  create(): BrokerLog;
}

const backends: Backend[] = [
  {
    name: 'kafka',
    create: () =>
      createKafkaLog({ brokers: testEnv().kafkaBrokers, partitions: 3, logger, maxWaitTimeMs: 100 }),
  },
  {
    name: 'postgres',
    create: () =>
      createPostgresLog({
        databaseUrl: testEnv().databaseUrl,
        schema: uniqueSchema('dispatch'),
        logger,
        pollIntervalMs: 250,
      }),
  },
];

function ev(id: string, extra: Record<string, unknown> = {}): CloudEvent<unknown> {
  return createCloudEvent({
    type: 'dev.tributary.test',
    source: '/dispatch-test',
    id,
    data: { id },
    ...extra,
  });
}

function brokerYaml(name: string, delivery = ''): string {
  return `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: ${name}
  namespace: ns
${delivery ? `spec:\n  delivery:\n${delivery}` : ''}`;
}

interface TriggerDef {
  name: string;
  uri: string;
  filter?: string;
  delivery?: string;
  order?: 'ordered' | 'unordered';
  initialOffset?: 'earliest' | 'latest';
}

function triggerYaml(broker: string, t: TriggerDef): string {
  return `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${t.name}
  namespace: ns
  annotations:
    kafka.eventing.knative.dev/delivery.order: ${t.order ?? 'unordered'}
    tributary.dev/initial-offset: ${t.initialOffset ?? 'earliest'}
spec:
  broker: ${broker}
${t.filter ?? ''}
  subscriber:
    uri: ${t.uri}
${t.delivery ? `  delivery:\n${t.delivery}` : ''}`;
}

const ids = (rs: Received[]) => rs.map((r) => r.event.id).sort();

describe.each(backends)('dispatch conformance ($name)', (backend) => {
  let log: BrokerLog;
  const running: RunningBroker[] = [];
  const subscribers: TestSubscriber[] = [];

  beforeAll(() => {
    log = backend.create();
  });
  afterEach(async () => {
    for (const b of running.splice(0)) await b.close();
    for (const s of subscribers.splice(0)) await s.close();
  });
  afterAll(async () => {
    await log.close();
  });

  async function subscriber(...args: Parameters<typeof startSubscriber>) {
    const s = await startSubscriber(...args);
    subscribers.push(s);
    return s;
  }

  async function start(brokerName: string, docs: string[]): Promise<RunningBroker> {
    const resources = parseResources([{ file: 'test.yaml', text: docs.join('\n---\n') }]);
    const b = await startBroker({
      resources,
      log,
      logger,
      port: 0,
      dispatch: { lagIntervalMs: 0, closeGraceMs: 2000 },
    });
    running.push(b);
    void brokerName;
    return b;
  }

  /** Waits until the trigger's group has committed everything (all events delivered or filtered out). */
  async function drained(ref: BrokerRef, trigger: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lag = await log.lag(ref, `knative-trigger-ns-${trigger}`);
      if (lag.reduce((s, p) => s + p.events, 0) === 0) return;
      if (Date.now() > deadline) throw new Error(`trigger ${trigger} not drained: ${JSON.stringify(lag)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  function metric(b: RunningBroker, name: string, labels: Record<string, string>): Promise<number> {
    return (
      b.registry
        .getSingleMetric(name)
        ?.get()
        .then((m) =>
          m.values
            .filter((v) => Object.entries(labels).every(([k, val]) => String(v.labels[k]) === val))
            .reduce((s, v) => s + v.value, 0),
        ) ?? Promise.resolve(0)
    );
  }

  it('delivers through the ingress in binary mode with Prefer: reply and Kn-Namespace, without the broker TTL', async () => {
    const name = uniqueName('b');
    const sub = await subscriber();
    const b = await start(name, [brokerYaml(name), triggerYaml(name, { name: 'all', uri: sub.url })]);
    const msg = encodeHttpBinary(ev('e1', { partitionkey: 'k1', color: 'blue' }));
    const res = await request(b.brokerUrl({ namespace: 'ns', name }), {
      method: 'POST',
      headers: msg.headers,
      body: msg.body,
    });
    await res.body.dump();
    expect(res.statusCode).toBe(202);
    const [got] = await sub.waitFor(1);
    expect(got?.event.id).toBe('e1');
    expect(got?.headers['ce-specversion']).toBe('1.0');
    expect(got?.headers['ce-color']).toBe('blue');
    expect(got?.headers.prefer).toBe('reply');
    expect(got?.headers['ce-knativebrokerttl']).toBeUndefined();
    // Regression (issue 17, differences 5 and 6): Kn-Namespace as the Kafka broker sends it; nothing added.
    expect(got?.headers['kn-namespace']).toBe('ns');
    expect(got?.headers['ce-knativearrivaltime']).toBeUndefined();
    expect(got?.event.data).toEqual({ id: 'e1' });
  });

  it('applies every filter dialect, nested, with missing attributes and the "" rule', async () => {
    const name = uniqueName('b');
    const sub = await subscriber();
    const t = (n: string, filter: string): TriggerDef => ({ name: n, uri: `${sub.url}${n}`, filter });
    const triggers = [
      t(
        'attrs',
        '  filter:\n    attributes:\n      type: dev.tributary.test\n      color: ""\n      size: big',
      ),
      t('exact', '  filters:\n    - exact:\n        color: blue'),
      t('prefix', '  filters:\n    - prefix:\n        subject: orders/'),
      t('suffix', '  filters:\n    - suffix:\n        subject: .png'),
      t(
        'nested',
        [
          '  filters:',
          '    - all:',
          '        - any:',
          '            - exact:',
          '                color: red',
          '            - exact:',
          '                color: green',
          '        - not:',
          '            prefix:',
          '              subject: orders/',
        ].join('\n'),
      ),
      t('cesql', "  filters:\n    - cesql: \"color IN ('blue', 'red') AND NOT (size = 'big')\""),
      t('notmissing', '  filters:\n    - not:\n        exact:\n          color: blue'),
    ];
    await start(name, [brokerYaml(name), ...triggers.map((x) => triggerYaml(name, x))]);
    const events = [
      ev('blue-big', { color: 'blue', size: 'big', subject: 'orders/1' }),
      ev('red-small', { color: 'red', size: 'small', subject: 'img.png' }),
      ev('green', { color: 'green', subject: 'misc' }),
      ev('plain'),
      ev('big-nocolor', { size: 'big', subject: 'orders/2.png' }),
    ];
    await log.append({ namespace: 'ns', name }, events);
    for (const x of triggers) await drained({ namespace: 'ns', name }, x.name);
    const by = (path: string) => ids(sub.received.filter((r) => r.path === `/${path}`));
    expect(by('attrs')).toEqual(['big-nocolor', 'blue-big']);
    expect(by('exact')).toEqual(['blue-big']);
    expect(by('prefix')).toEqual(['big-nocolor', 'blue-big']);
    expect(by('suffix')).toEqual(['big-nocolor', 'red-small']);
    expect(by('nested')).toEqual(['green', 'red-small']);
    expect(by('cesql')).toEqual(['red-small']);
    expect(by('notmissing')).toEqual(['big-nocolor', 'green', 'plain', 'red-small']);
  });

  it('retries retryable codes with exponential delays, then dead-letters with the error extensions', async () => {
    const name = uniqueName('b');
    const sub = await subscriber(() => ({
      status: 503,
      body: 'try later',
      headers: { 'kne-reason': 'busy' },
    }));
    const dls = await subscriber();
    const delivery = `    retry: 3\n    backoffPolicy: exponential\n    backoffDelay: PT0.1S\n    deadLetterSink:\n      uri: ${dls.url}`;
    const b = await start(name, [
      brokerYaml(name, delivery),
      triggerYaml(name, { name: 'r', uri: `${sub.url}hook` }),
    ]);
    await log.append({ namespace: 'ns', name }, [ev('x1')]);
    const [dead] = await dls.waitFor(1);
    expect(sub.received).toHaveLength(4); // 1 attempt + retry: 3
    const gaps = sub.received.slice(1).map((r, i) => r.at - (sub.received[i] as Received).at);
    // backoffDelay * 2^n: 200, 400, 800 ms (measured with a tolerance; the floor is what matters)
    expect(gaps[0]).toBeGreaterThanOrEqual(180);
    expect(gaps[1]).toBeGreaterThanOrEqual(360);
    expect(gaps[2]).toBeGreaterThanOrEqual(720);
    expect((gaps[1] as number) / (gaps[0] as number)).toBeGreaterThan(1.5);
    expect((gaps[2] as number) / (gaps[1] as number)).toBeGreaterThan(1.5);
    const ext = dead?.event as unknown as Record<string, unknown>;
    expect(dead?.event.id).toBe('x1');
    expect(ext.knativeerrordest).toBe(`${sub.url}hook`);
    expect(ext.knativeerrorcode).toBe('503');
    expect(Buffer.from(String(ext.knativeerrordata), 'base64').toString()).toBe('try later');
    expect(ext.reason).toBe('busy');
    await drained({ namespace: 'ns', name }, 'r');
    expect(
      await metric(b, 'tributary_trigger_retries_total', { trigger: 'r', destination: 'subscriber' }),
    ).toBe(3);
    expect(await metric(b, 'tributary_trigger_dead_letters_total', { trigger: 'r' })).toBe(1);
  });

  it('uses linear delays, and never retries a non-retryable 4xx', async () => {
    const name = uniqueName('b');
    const linear = await subscriber(() => ({ status: 429 }));
    const bad = await subscriber(() => ({ status: 400, body: 'no' }));
    const dls = await subscriber();
    const delivery = `    retry: 2\n    backoffPolicy: linear\n    backoffDelay: PT0.2S\n    deadLetterSink:\n      uri: ${dls.url}`;
    await start(name, [
      brokerYaml(name, delivery),
      triggerYaml(name, {
        name: 'lin',
        uri: linear.url,
        filter: '  filters:\n    - exact:\n        subject: lin',
      }),
      triggerYaml(name, {
        name: 'bad',
        uri: bad.url,
        filter: '  filters:\n    - exact:\n        subject: bad',
      }),
    ]);
    await log.append({ namespace: 'ns', name }, [ev('l', { subject: 'lin' }), ev('b', { subject: 'bad' })]);
    const dead = await dls.waitFor(2);
    expect(linear.received).toHaveLength(3);
    const g1 = (linear.received[1] as Received).at - (linear.received[0] as Received).at;
    const g2 = (linear.received[2] as Received).at - (linear.received[1] as Received).at;
    expect(g1).toBeGreaterThanOrEqual(180); // 200 ms
    expect(g2).toBeGreaterThanOrEqual(360); // 400 ms
    expect(bad.received).toHaveLength(1);
    const codes = Object.fromEntries(
      dead.map((d) => [d.event.id, (d.event as unknown as Record<string, unknown>).knativeerrorcode]),
    );
    expect(codes).toEqual({ l: '429', b: '400' });
  });

  it('times out slow subscribers per request and dead-letters with knativeerrordest only', async () => {
    const name = uniqueName('b');
    const slow = await subscriber(() => ({ status: 202, delayMs: 3000 }));
    const dls = await subscriber();
    const delivery = `    retry: 1\n    backoffDelay: PT0.05S\n    timeout: PT0.3S\n    deadLetterSink:\n      uri: ${dls.url}`;
    await start(name, [brokerYaml(name), triggerYaml(name, { name: 't', uri: slow.url, delivery })]);
    await log.append({ namespace: 'ns', name }, [ev('slow')]);
    const [dead] = await dls.waitFor(1);
    expect(slow.received).toHaveLength(2);
    const ext = dead?.event as unknown as Record<string, unknown>;
    expect(ext.knativeerrordest).toBe(slow.url);
    expect(ext.knativeerrorcode).toBeUndefined();
    expect(ext.knativeerrordata).toBeUndefined();
  });

  it('keeps retrying a dead letter while the sink is down, and delivers it once it is up', async () => {
    const name = uniqueName('b');
    const sub = await subscriber(() => ({ status: 500 }));
    const dlsPort = await freePort();
    const delivery = `    retry: 0\n    backoffDelay: PT0.05S\n    backoffMax: PT0.2S\n    deadLetterSink:\n      uri: http://127.0.0.1:${dlsPort}/`;
    const b = await start(name, [brokerYaml(name, delivery), triggerYaml(name, { name: 'd', uri: sub.url })]);
    await log.append({ namespace: 'ns', name }, [ev('kept')]);
    const deadline = Date.now() + 30_000;
    while (
      (await metric(b, 'tributary_trigger_retries_total', { trigger: 'd', destination: 'dead_letter' })) < 3
    ) {
      if (Date.now() > deadline) throw new Error('no dead-letter retries seen');
      await new Promise((r) => setTimeout(r, 50));
    }
    const lag = await log.lag({ namespace: 'ns', name }, 'knative-trigger-ns-d');
    expect(lag.reduce((s, p) => s + p.events, 0)).toBe(1); // not committed while undeliverable
    const dls = await subscriber(undefined, { port: dlsPort });
    const [dead] = await dls.waitFor(1);
    expect(dead?.event.id).toBe('kept');
    await drained({ namespace: 'ns', name }, 'd');
  });

  it('routes a CloudEvent reply back into the broker with the TTL decremented, and drops it at TTL 0', async () => {
    const name = uniqueName('b');
    const replier = await subscriber((e) => ({
      status: 200,
      headers: {
        'ce-specversion': '1.0',
        'ce-id': `reply-${e.id}`,
        'ce-source': '/replier',
        'ce-type': 'dev.tributary.reply',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ to: e.id }),
    }));
    const sink = await subscriber();
    const b = await start(name, [
      brokerYaml(name),
      triggerYaml(name, {
        name: 'req',
        uri: replier.url,
        filter: '  filters:\n    - exact:\n        type: dev.tributary.test',
      }),
      triggerYaml(name, {
        name: 'resp',
        uri: sink.url,
        filter: '  filters:\n    - exact:\n        type: dev.tributary.reply',
      }),
    ]);
    const ref = { namespace: 'ns', name };
    const watcher = await collect(log, ref, uniqueName('watch'), { initialOffset: 'earliest' });
    try {
      await log.append(ref, [ev('q1', { knativebrokerttl: 255 }), ev('q2', { knativebrokerttl: 1 })]);
      const [reply] = await sink.waitFor(1);
      expect(reply?.event.id).toBe('reply-q1');
      expect(reply?.event.data).toEqual({ to: 'q1' });
      await drained(ref, 'req');
      await drained(ref, 'resp');
      const records = await watcher.waitFor(3);
      const stored = records.find((r) => r.event.id === 'reply-q1')?.event as unknown as Record<
        string,
        unknown
      >;
      expect(Number(stored.knativebrokerttl)).toBe(254);
      expect(records.map((r) => r.event.id)).not.toContain('reply-q2');
      expect(
        await metric(b, 'tributary_trigger_replies_total', { trigger: 'req', result: 'ttl_exceeded' }),
      ).toBe(1);
    } finally {
      await watcher.close();
    }
  });

  it('ordered delivery keeps per-key order under concurrency; unordered runs in parallel', async () => {
    const name = uniqueName('b');
    const perKey = new Map<string, number>();
    let maxPerKey = 0;
    const ordered = await subscriber((e) => {
      const k = String((e as unknown as Record<string, unknown>).partitionkey);
      const n = (perKey.get(k) ?? 0) + 1;
      perKey.set(k, n);
      maxPerKey = Math.max(maxPerKey, n);
      setTimeout(() => perKey.set(k, (perKey.get(k) ?? 1) - 1), 5);
      return { status: 202, delayMs: 5 + (e.id.charCodeAt(e.id.length - 1) % 4) * 3 };
    });
    const unordered = await subscriber(() => ({ status: 202, delayMs: 100 }));
    await start(name, [
      brokerYaml(name),
      triggerYaml(name, { name: 'ord', uri: ordered.url, order: 'ordered' }),
      triggerYaml(name, { name: 'unord', uri: unordered.url, order: 'unordered' }),
    ]);
    const ref = { namespace: 'ns', name };
    const keys = ['k-a', 'k-b', 'k-c', 'k-d'];
    // Four producers appending concurrently, interleaving keys.
    await Promise.all(
      keys.map(async (k) => {
        for (let i = 0; i < 15; i++)
          await log.append(ref, [ev(`${k}-${String(i).padStart(2, '0')}`, { partitionkey: k })]);
      }),
    );
    await ordered.waitFor(60);
    await unordered.waitFor(60);
    for (const k of keys) {
      const seq = ordered.received.filter((r) => r.event.id.startsWith(k)).map((r) => r.event.id);
      expect(seq).toEqual([...seq].sort());
      expect(seq).toHaveLength(15);
    }
    expect(maxPerKey).toBe(1);
    expect(unordered.maxConcurrent).toBeGreaterThan(1);
  });

  it('starts a new Trigger at earliest or latest, and resumes its group when recreated', async () => {
    const name = uniqueName('b');
    const ref = { namespace: 'ns', name };
    const early = await subscriber();
    const late = await subscriber();
    const docs = [
      brokerYaml(name),
      triggerYaml(name, { name: 'early', uri: early.url, initialOffset: 'earliest' }),
      triggerYaml(name, { name: 'late', uri: late.url, initialOffset: 'latest' }),
    ];
    await log.ensureBroker(ref);
    await log.append(ref, [ev('before')]);
    const b1 = await start(name, docs);
    await log.append(ref, [ev('after')]);
    await early.waitFor(2);
    await late.waitFor(1);
    await drained(ref, 'late');
    expect(ids(early.received)).toEqual(['after', 'before']);
    expect(ids(late.received)).toEqual(['after']);

    await b1.close();
    await log.append(ref, [ev('while-down-1'), ev('while-down-2')]);
    await start(name, docs);
    await early.waitFor(4);
    await late.waitFor(3);
    await drained(ref, 'early');
    await drained(ref, 'late');
    expect(ids(early.received)).toEqual(['after', 'before', 'while-down-1', 'while-down-2']);
    expect(ids(late.received)).toEqual(['after', 'while-down-1', 'while-down-2']);
  });

  it('loses no accepted event when the broker restarts mid-stream', async () => {
    const name = uniqueName('b');
    const ref = { namespace: 'ns', name };
    const sub = await subscriber(() => ({ status: 202, delayMs: 20 }));
    const docs = [brokerYaml(name), triggerYaml(name, { name: 'r', uri: sub.url, order: 'ordered' })];
    const b1 = await start(name, docs);
    const all = Array.from({ length: 60 }, (_, i) =>
      ev(`m${String(i).padStart(2, '0')}`, { partitionkey: `k${i % 3}` }),
    );
    await log.append(ref, all);
    await sub.waitFor(10);
    await b1.close();
    await start(name, docs);
    await drained(ref, 'r');
    const got = new Set(sub.received.map((r) => r.event.id));
    expect([...got].sort()).toEqual(all.map((e) => e.id).sort());
  });
});
