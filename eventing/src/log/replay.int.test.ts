// Trigger replay on both log backends (real Kafka, real Postgres), with the broker's dispatchers running:
// one Trigger moves back to a time (or the log start) and gets exactly the events from there again, while
// another Trigger of the same broker is unaffected; a dry run moves nothing; a new Trigger can start at a
// time (`tributary.dev/initial-offset: <RFC 3339>`).
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { type CloudEvent, createCloudEvent, createLogger } from '@tributary/shared';
import { testEnv, uniqueName, uniqueSchema } from '@tributary/testing';
import pg from 'pg';
import { type RunningBroker, startBroker } from '../broker.js';
import { type Received, startSubscriber, type TestSubscriber } from '../dispatcher/test-subscriber.js';
import { parseResources } from '../resources/load.js';
import { createKafkaLog } from './kafka/kafka-log.js';
import { createPostgresLog, PostgresBrokerLog } from './postgres/postgres-log.js';
import type { BrokerLog, BrokerRef, ReplayResult } from './types.js';

jest.setTimeout(180_000);

const logger = createLogger({ name: 'replay-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

const backends: { name: 'kafka' | 'postgres'; create(): BrokerLog }[] = [
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
        schema: uniqueSchema('replay'),
        logger,
        pollIntervalMs: 250,
      }),
  },
];

const ev = (id: string, partitionkey?: string): CloudEvent<unknown> =>
  createCloudEvent({
    type: 'dev.tributary.test',
    source: '/replay-test',
    id,
    data: { id },
    ...(partitionkey ? { partitionkey } : {}),
  });
const range = (prefix: string, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);
const ids = (rs: Received[]) => rs.map((r) => r.event.id).sort();
const sorted = (xs: string[]) => [...xs].sort();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const total = (r: ReplayResult) => r.partitions.reduce((s, p) => s + p.events, 0);

function yaml(broker: string, triggers: { name: string; uri: string; initial: string; order?: string }[]) {
  return [
    `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: ${broker}\n  namespace: ns`,
    ...triggers.map(
      (t) => `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${t.name}
  namespace: ns
  annotations:
    tributary.dev/initial-offset: "${t.initial}"
    kafka.eventing.knative.dev/delivery.order: ${t.order ?? 'unordered'}
spec:
  broker: ${broker}
  subscriber:
    uri: ${t.uri}`,
    ),
  ].join('\n---\n');
}

describe.each(backends)('trigger replay ($name)', (backend) => {
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

  async function subscriber(delayMs = 0) {
    const s = await startSubscriber(() => ({ status: 202, ...(delayMs ? { delayMs } : {}) }));
    subscribers.push(s);
    return s;
  }

  async function start(text: string) {
    const b = await startBroker({
      resources: parseResources([{ file: 'replay.yaml', text }]),
      log,
      logger,
      port: 0,
      dispatch: { lagIntervalMs: 0, closeGraceMs: 2000 },
    });
    running.push(b);
    return b;
  }

  async function drained(ref: BrokerRef, trigger: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const lag = await log.lag(ref, `knative-trigger-ns-${trigger}`);
      if (lag.reduce((s, p) => s + p.events, 0) === 0) return;
      if (Date.now() > deadline) throw new Error(`${trigger} not drained: ${JSON.stringify(lag)}`);
      await sleep(100);
    }
  }

  /** Appends, then leaves a gap, so a time between two batches falls between their log timestamps. */
  async function append(ref: BrokerRef, names: string[], key?: string): Promise<Date> {
    await log.append(
      ref,
      names.map((n) => ev(n, key)),
    );
    await sleep(60);
    const after = new Date();
    await sleep(60);
    return after;
  }

  it('re-delivers exactly the events after the time to one Trigger; the other is unaffected', async () => {
    const name = uniqueName('rp').replace(/_/g, '-');
    const ref = { namespace: 'ns', name };
    const a = await subscriber();
    const b = await subscriber();
    await start(
      yaml(name, [
        { name: 'a', uri: a.url, initial: 'earliest' },
        { name: 'b', uri: b.url, initial: 'earliest' },
      ]),
    );
    const t1 = await append(ref, range('one-', 1, 10));
    await append(ref, range('two-', 1, 10));
    await a.waitFor(20);
    await b.waitFor(20);
    await drained(ref, 'a');

    const groupA = 'knative-trigger-ns-a';
    const dry = await log.replay(ref, groupA, { from: t1, dryRun: true });
    expect(dry.applied).toBe('none');
    expect(total(dry)).toBe(10);
    for (const p of dry.partitions)
      expect(BigInt(p.current ?? '0') - BigInt(p.target)).toBe(BigInt(p.events));
    await sleep(500);
    expect(a.received).toHaveLength(20); // a dry run moves nothing

    const done = await log.replay(ref, groupA, { from: t1 });
    expect(done.applied).not.toBe('none');
    expect(done.partitions).toEqual(dry.partitions);
    await a.waitFor(30);
    await drained(ref, 'a');
    expect(ids(a.received.slice(20))).toEqual(sorted(range('two-', 1, 10)));

    // Both go on from there: new events once to each, nothing more to b.
    await append(ref, range('three-', 1, 5));
    await a.waitFor(35);
    await b.waitFor(25);
    await drained(ref, 'a');
    await drained(ref, 'b');
    await sleep(300);
    expect(ids(b.received)).toEqual(
      sorted([...range('one-', 1, 10), ...range('two-', 1, 10), ...range('three-', 1, 5)]),
    );
    expect(ids(a.received.slice(30))).toEqual(sorted(range('three-', 1, 5)));
    expect(a.received).toHaveLength(35);

    // From the log start: everything again, to a only. On Postgres, retention keeps consumed events for
    // the replay window (a day by default).
    if (log instanceof PostgresBrokerLog) expect(await log.runRetention()).toBe(0);
    const earliest = await log.replay(ref, groupA, { from: 'earliest' });
    expect(total(earliest)).toBe(25);
    await a.waitFor(60);
    await drained(ref, 'a');
    expect(ids(a.received.slice(35))).toEqual(
      sorted([...range('one-', 1, 10), ...range('two-', 1, 10), ...range('three-', 1, 5)]),
    );
    expect(b.received).toHaveLength(25);

    // A replay to a time after the position moves nothing (a replay never skips ahead).
    const ahead = await log.replay(ref, groupA, { from: new Date(Date.now() + 60_000) });
    expect(total(ahead)).toBe(0);
    expect(ahead.applied).toBe('none');
  });

  it('while deliveries are in flight: nothing after the target is skipped, and the position sticks', async () => {
    const name = uniqueName('rp').replace(/_/g, '-');
    const ref = { namespace: 'ns', name };
    const slow = await subscriber(40);
    const other = await subscriber();
    const text = yaml(name, [
      { name: 'slow', uri: slow.url, initial: 'earliest', order: 'ordered' },
      { name: 'other', uri: other.url, initial: 'earliest' },
    ]);
    const broker = await start(text);
    // One key, so one partition on Kafka too: ordered delivery is then one sequence.
    const t = await append(ref, range('old-', 1, 5), 'k');
    await append(ref, range('new-', 1, 60), 'k');
    await slow.waitFor(15); // ordered, 40 ms each: most of the batch is still queued or in flight
    const seen = slow.received.length;
    const result = await log.replay(ref, 'knative-trigger-ns-slow', { from: t });
    expect(total(result)).toBeGreaterThan(0);
    await drained(ref, 'slow');
    // Every event after the time arrives at least once after the replay took effect.
    const after = slow.received.slice(seen).map((r) => r.event.id);
    for (const id of range('new-', 1, 60)) expect(after).toContain(id);
    expect(after.filter((id) => id.startsWith('old-'))).toEqual([]);
    // Ordered: the replayed sequence arrives in log order, and what was queued (not yet sent) when the
    // replay took effect is dropped, not sent ahead of it: only the few in flight arrive twice.
    expect(after.slice(-60)).toEqual(range('new-', 1, 60));
    expect(after.length).toBeLessThanOrEqual(60 + 20); // without dropping the queue: about 60 + 50
    await drained(ref, 'other');
    expect(ids(other.received)).toEqual(sorted([...range('old-', 1, 5), ...range('new-', 1, 60)]));

    // The committed position is the replay's progress, not older progress: a restart redelivers nothing.
    await broker.close();
    running.splice(running.indexOf(broker), 1);
    const count = slow.received.length;
    await start(text);
    await append(ref, ['last-1']);
    await slow.waitFor(count + 1);
    await sleep(500);
    expect(slow.received.slice(count).map((r) => r.event.id)).toEqual(['last-1']);
  });

  it('starts a new Trigger at a time (tributary.dev/initial-offset: <RFC 3339>)', async () => {
    const name = uniqueName('rp').replace(/_/g, '-');
    const ref = { namespace: 'ns', name };
    await log.ensureBroker(ref);
    const t = await append(ref, range('before-', 1, 4));
    await append(ref, range('after-', 1, 6));
    const sub = await subscriber();
    await start(yaml(name, [{ name: 'late', uri: sub.url, initial: t.toISOString() }]));
    await sub.waitFor(6);
    await drained(ref, 'late');
    await sleep(300);
    expect(ids(sub.received)).toEqual(sorted(range('after-', 1, 6)));
  });

  it('refuses a broker that does not exist', async () => {
    const ref = { namespace: 'ns', name: uniqueName('none').replace(/_/g, '-') };
    await expect(log.replay(ref, 'knative-trigger-ns-x', { from: 'earliest' })).rejects.toMatchObject({
      code: 'BROKER_NOT_FOUND',
      statusCode: 404,
    });
  });
});

it('postgres: a replay on a database without the log creates nothing', async () => {
  const schema = uniqueSchema('replay_none');
  const log = createPostgresLog({ databaseUrl: testEnv().databaseUrl, schema, logger });
  try {
    await expect(
      log.replay({ namespace: 'ns', name: 'typo' }, 'knative-trigger-ns-x', { from: 'earliest' }),
    ).rejects.toMatchObject({ code: 'BROKER_NOT_FOUND' });
    const client = new pg.Client({ connectionString: testEnv().databaseUrl });
    await client.connect();
    const { rows } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    await client.end();
    expect(rows).toEqual([]);
  } finally {
    await log.close();
  }
});
