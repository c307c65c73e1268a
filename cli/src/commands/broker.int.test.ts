// `tributary broker` as a process: real Postgres backend, a local subscriber, SIGTERM.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it, jest } from '@jest/globals';
import { createCloudEvent, encodeHttpBinary } from '@tributary/shared';
import { testEnv, uniqueName } from '@tributary/testing';
import { request } from 'undici';

jest.setTimeout(60_000);

describe('tributary broker', () => {
  it('serves the folder, logs where it listens, delivers, and stops cleanly on SIGTERM', async () => {
    const ns = uniqueName('cli').replace(/_/g, '-');
    const received: string[] = [];
    const sub = createServer((req, res) => {
      received.push(String(req.headers['ce-id']));
      req.resume();
      res.writeHead(202).end();
    });
    await new Promise<void>((r) => sub.listen(0, '127.0.0.1', r));
    const subUrl = `http://127.0.0.1:${(sub.address() as AddressInfo).port}/`;
    const dir = await mkdtemp(join(tmpdir(), 'tributary-cli-'));
    await writeFile(
      join(dir, 'broker.yaml'),
      `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n  namespace: ${ns}\n---\napiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: all\n  namespace: ${ns}\n  annotations:\n    tributary.dev/initial-offset: earliest\nspec:\n  broker: default\n  subscriber:\n    uri: ${subUrl}\n`,
    );
    const cli = resolve(import.meta.dirname, '..', 'index.ts');
    const child = spawn(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', cli, 'broker', '--config', dir, '--port', '0'],
      {
        env: { PATH: process.env.PATH, DATABASE_URL: testEnv().databaseUrl, LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 30_000;
      let url: string | undefined;
      while (!url) {
        url = /broker listening on (http:\/\/\S+?)"/.exec(output)?.[1];
        if (Date.now() > deadline) throw new Error(`broker did not start:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const msg = encodeHttpBinary(
        createCloudEvent({ type: 'dev.tributary.test', source: '/cli', id: 'cli-1' }),
      );
      const res = await request(`${url}/${ns}/default`, {
        method: 'POST',
        headers: msg.headers,
        body: msg.body,
      });
      await res.body.dump();
      expect(res.statusCode).toBe(202);
      while (received.length === 0) {
        if (Date.now() > deadline) throw new Error('event not delivered');
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(received).toEqual(['cli-1']);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output).toContain('"msg":"stopped"');
    } finally {
      child.kill('SIGKILL');
      sub.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
