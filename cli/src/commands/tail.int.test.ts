// `tributary publish` and `tributary tail` against a real broker, on both log backends (real Kafka and real
// Postgres): tail follows live with a CESQL filter, replays with --from earliest --json, and publish prints
// the broker's 400.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  type BrokerLog,
  createBrokerLog,
  parseResources,
  type RunningBroker,
  startBroker,
} from '@tributary/eventing';
import { createLogger } from '@tributary/shared';
import { testEnv, uniqueName, waitFor } from '@tributary/testing';
import { main } from '../index.js';

jest.setTimeout(120_000);

const logger = createLogger({ name: 'tail-cli-test', level: 'silent' });

function io(env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      env: { LOG_LEVEL: 'silent', ...env },
      stdout: (l: string) => out.push(l),
      stderr: (l: string) => err.push(l),
    },
  };
}

const backends = [
  { name: 'kafka', env: () => ({ KAFKA_BROKERS: testEnv().kafkaBrokers.join(',') }) },
  { name: 'postgres', env: () => ({ DATABASE_URL: testEnv().databaseUrl }) },
] as const;

describe.each(backends)('tributary tail and publish on the $name log', ({ env }) => {
  const namespace = uniqueName('tailcli').replace(/_/g, '-');
  let log: BrokerLog;
  let broker: RunningBroker;
  let url: string;

  beforeAll(async () => {
    const e: Record<string, string> = env();
    log = createBrokerLog({
      kafkaBrokers: e.KAFKA_BROKERS?.split(','),
      databaseUrl: e.DATABASE_URL,
      logger,
    });
    const resources = parseResources([
      {
        file: 'broker.yaml',
        text: `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n  namespace: ${namespace}\n`,
      },
    ]);
    broker = await startBroker({ resources, log, logger, port: 0 });
    url = broker.brokerUrl({ namespace, name: 'default' });
  });

  afterAll(async () => {
    await broker?.close();
    await log?.close();
  });

  async function publish(...args: string[]) {
    const t = io({});
    const code = await main(['publish', '--url', url, ...args], t.io);
    return { code, ...t };
  }

  it('follows live events that match the CESQL filter, one line each, and stops after --count', async () => {
    const t = io(env());
    const tail = main(
      ['tail', '--broker', `${namespace}/default`, '--filter', "subject = 'keep'", '--count', '2'],
      t.io,
    );
    await waitFor(() => t.err.some((l) => l.includes('following')) || t.err.length > 0);
    expect(t.err[0]).toContain(`following ${namespace}/default on the`);
    expect(t.err[0]).toContain("filter: subject = 'keep'");

    const a = await publish(
      '--type',
      'com.example.tail',
      '--subject',
      'keep',
      '--id',
      'live-1',
      '--data',
      '{"n":1}',
    );
    expect(a.code).toBe(0);
    expect(a.out[0]).toMatch(/^accepted {2}live-1 {2}\(com\.example\.tail from \/tributary\/cli -> http/);
    await publish('--type', 'com.example.tail', '--subject', 'drop', '--id', 'live-2');
    await publish('--type', 'com.example.tail', '--subject', 'keep', '--id', 'live-3', '--source', '/shop');

    expect(await tail).toBe(0);
    expect(t.out).toHaveLength(2);
    expect(t.out.map((l) => l.split('  ').slice(1))).toEqual(
      expect.arrayContaining([
        ['com.example.tail', '/tributary/cli', 'keep', 'live-1'],
        ['com.example.tail', '/shop', 'keep', 'live-3'],
      ]),
    );
    expect(t.out[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
  });

  it('replays the stored log with --from earliest, as CloudEvents JSON with --json', async () => {
    const t = io(env());
    const code = await main(
      ['tail', '--broker', `${namespace}/default`, '--from', 'earliest', '--json', '--count', '3'],
      t.io,
    );
    expect(code).toBe(0);
    const events = t.out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.id).sort()).toEqual(['live-1', 'live-2', 'live-3']);
    expect(events.find((e) => e.id === 'live-1')).toMatchObject({
      specversion: '1.0',
      type: 'com.example.tail',
      subject: 'keep',
      data: { n: 1 },
    });
  });

  it("prints the broker's 400 for an event that fails its catalog schema, exit 1", async () => {
    const r = await publish(
      '--type',
      'dev.tributary.db.row.inserted',
      '--id',
      'bad-1',
      '--data',
      '{"nope":1}',
    );
    expect(r.code).toBe(1);
    expect(r.err[0]).toBe('tributary publish: rejected with HTTP 400 (event bad-1)');
    // The broker's code and reason, indented under the status line.
    expect(r.err[1]).toMatch(
      /^ {2}EVENT_SCHEMA: event bad-1 \(dev\.tributary\.db\.row\.inserted\) does not match its schema: .*data\.record: required/,
    );
  });
});
