// A broker ingress process SIGKILLed mid-stream loses no accepted event: every id answered with 202 is in
// the log afterwards, on both backends (real Kafka, real Postgres, a real HTTP client over keep-alive).
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { createCloudEvent, createLogger, encodeHttpBinary } from '@tributary/shared';
import { freePort, testEnv, uniqueName, uniqueSchema } from '@tributary/testing';
import { Pool } from 'undici';
import { createKafkaLog } from '../log/kafka/kafka-log.js';
import { createPostgresLog } from '../log/postgres/postgres-log.js';
import { collect } from '../log/testing.js';
import type { BrokerLog, BrokerRef } from '../log/types.js';

jest.setTimeout(180_000);

const logger = createLogger({ name: 'restart-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const fixture = fileURLToPath(new URL('./testing/ingress-process.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

function startIngress(config: Record<string, unknown>): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', fixture, JSON.stringify(config)],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  children.add(child);
  child.on('exit', () => children.delete(child));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`ingress did not start:\n${stderr}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('LISTENING')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ingress exited with ${code}:\n${stderr}`));
    });
  });
}

const backends = [
  {
    name: 'kafka',
    config: () => ({ backend: 'kafka', kafkaBrokers: testEnv().kafkaBrokers }),
    log: (): BrokerLog => createKafkaLog({ brokers: testEnv().kafkaBrokers, partitions: 3, logger }),
  },
  {
    name: 'postgres',
    config: () => ({
      backend: 'postgres',
      databaseUrl: testEnv().databaseUrl,
      schema: uniqueSchema('restart'),
    }),
    log: (schema: string): BrokerLog =>
      createPostgresLog({ databaseUrl: testEnv().databaseUrl, schema, logger, pollIntervalMs: 250 }),
  },
];

describe.each(backends)('ingress process restart on the $name log', ({ config, log: createLog }) => {
  it('keeps every event answered with 202 across a SIGKILL', async () => {
    const broker: BrokerRef = { namespace: 'default', name: uniqueName('restart').replace(/_/g, '-') };
    const port = await freePort();
    const cfg = { ...config(), port, broker };
    let child = await startIngress(cfg);

    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 8, pipelining: 1 });
    const accepted: string[] = [];
    let failures = 0;
    let stop = false;
    const publisher = async (n: number) => {
      let seq = 0;
      while (!stop) {
        const id = `p${n}-${seq++}`;
        const msg = encodeHttpBinary(
          createCloudEvent({ type: 'dev.tributary.test', source: '/restart', id, data: { n, seq } }),
        );
        try {
          const res = await pool.request({
            path: `/${broker.namespace}/${broker.name}`,
            method: 'POST',
            headers: msg.headers,
            body: msg.body,
          });
          await res.body.dump();
          if (res.statusCode === 202) accepted.push(id);
          else failures++;
        } catch {
          failures++;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const until = async (predicate: () => boolean) => {
      while (!predicate()) await new Promise((r) => setTimeout(r, 10));
    };

    const loops = Array.from({ length: 8 }, (_, i) => publisher(i));
    await until(() => accepted.length >= 300);
    child.kill('SIGKILL'); // mid-stream: requests are in flight
    const atKill = accepted.length;
    child = await startIngress(cfg);
    await until(() => accepted.length >= atKill + 300);
    stop = true;
    await Promise.all(loops);
    await pool.close();
    child.kill('SIGTERM');

    expect(failures).toBeGreaterThan(0); // the kill did interrupt requests
    const log = createLog(String((cfg as { schema?: string }).schema));
    try {
      const c = await collect(log, broker, uniqueName('verify'), { initialOffset: 'earliest' });
      const seen = new Set<string>();
      const want = new Set(accepted);
      const allSeen = () => [...want].every((id) => seen.has(id));
      // Read until every accepted id showed up, or nothing new arrives for 20 s.
      for (let n = want.size; !allSeen(); n = c.records.length + 1) {
        try {
          await c.waitFor(n, 20_000);
        } catch {
          break;
        }
        for (const r of c.records) seen.add(r.event.id);
      }
      await c.close();
      const missing = accepted.filter((id) => !seen.has(id));
      expect(missing).toEqual([]);
    } finally {
      await log.close();
    }
  });
});
