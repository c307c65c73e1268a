// Regression: after a crash (kill -9) and restart of `tributary broker` on Kafka the ingress was down for 28 s: it
// listened only once the dispatchers had rejoined their consumer groups, which waits out the dead member's
// session. Now it accepts as soon as it listens, on both backends (real Kafka, real Postgres, the real CLI).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it, jest } from '@jest/globals';
import { createCloudEvent, encodeHttpBinary } from '@tributary/shared';
import { freePort, testEnv, uniqueName } from '@tributary/testing';
import { request } from 'undici';

jest.setTimeout(240_000);

const cli = resolve(import.meta.dirname, '..', 'index.ts');

interface Running {
  child: ChildProcess;
  output: () => string;
  /** Date.now() when a log line containing `text` first appeared. */
  seen: (text: string, timeoutMs: number) => Promise<number>;
}

function startBroker(dir: string, port: number, env: Record<string, string>): Running {
  const child = spawn(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', cli, 'broker', '--config', dir, '--port', String(port)],
    { env: { PATH: process.env.PATH, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const firstSeen = new Map<string, number>();
  const watch = ['"broker listening on', '"msg":"broker ready"'];
  const onData = (d: Buffer) => {
    output += d.toString();
    for (const w of watch) if (!firstSeen.has(w) && output.includes(w)) firstSeen.set(w, Date.now());
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return {
    child,
    output: () => output,
    async seen(text, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const at = firstSeen.get(text);
        if (at !== undefined) return at;
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`no "${text}" from the broker:\n${output}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

const backends = [
  { name: 'kafka', env: () => ({ KAFKA_BROKERS: testEnv().kafkaBrokers.join(',') }) },
  { name: 'postgres', env: () => ({ DATABASE_URL: testEnv().databaseUrl }) },
];

describe.each(backends)('tributary broker restart after kill -9 ($name)', ({ name, env }) => {
  it('accepts events as soon as it listens, before its dispatchers have rejoined', async () => {
    const ns = uniqueName('restart').replace(/_/g, '-');
    const received = new Set<string>();
    const sub = createServer((req, res) => {
      received.add(String(req.headers['ce-id']));
      req.resume();
      res.writeHead(202).end();
    });
    await new Promise<void>((r) => sub.listen(0, '127.0.0.1', r));
    const subUrl = `http://127.0.0.1:${(sub.address() as AddressInfo).port}/`;
    const dir = await mkdtemp(join(tmpdir(), 'tributary-cli-restart-'));
    await writeFile(
      join(dir, 'broker.yaml'),
      `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n  namespace: ${ns}\n---\napiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: all\n  namespace: ${ns}\n  annotations:\n    tributary.dev/initial-offset: earliest\nspec:\n  broker: default\n  subscriber:\n    uri: ${subUrl}\n`,
    );
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/${ns}/default`;
    const publish = async (id: string) => {
      const msg = encodeHttpBinary(createCloudEvent({ type: 'dev.tributary.test', source: '/restart', id }));
      const res = await request(url, { method: 'POST', headers: msg.headers, body: msg.body });
      await res.body.dump();
      return res.statusCode;
    };
    const delivered = async (id: string) => {
      const deadline = Date.now() + 60_000;
      while (!received.has(id)) {
        if (Date.now() > deadline) throw new Error(`${id} not delivered`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    let broker = startBroker(dir, port, env());
    try {
      await broker.seen('"msg":"broker ready"', 120_000);
      expect(await publish('before')).toBe(202);
      await delivered('before');

      broker.child.kill('SIGKILL'); // no clean shutdown: the consumer group keeps a dead member
      await new Promise((r) => broker.child.once('exit', r));
      broker = startBroker(dir, port, env());
      const listening = await broker.seen('"broker listening on', 120_000);
      let acceptedAt: number | undefined;
      while (acceptedAt === undefined && Date.now() - listening < 30_000) {
        if ((await publish('after').catch(() => 0)) === 202) acceptedAt = Date.now();
        else await new Promise((r) => setTimeout(r, 20));
      }
      expect(acceptedAt).toBeDefined();
      expect((acceptedAt as number) - listening).toBeLessThanOrEqual(5000);
      if (name === 'kafka') {
        // The rejoin waits for the dead member's session to time out; the ingress did not wait for it.
        const ready = await broker.seen('"msg":"broker ready"', 120_000);
        expect(acceptedAt as number).toBeLessThan(ready);
      }
      await delivered('after');
    } finally {
      broker.child.kill('SIGKILL');
      sub.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
