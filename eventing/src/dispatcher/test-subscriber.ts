import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CloudEvent, decodeHttpEvent } from '@tributary/shared';

/**
 * Test helper (integration tests and benchmarks, not the broker): a local HTTP subscriber that records
 * the CloudEvents it receives, when, and how many requests were in flight at once.
 */
export interface Received {
  event: CloudEvent<unknown>;
  headers: IncomingHttpHeaders;
  /** performance.now() when the request arrived. */
  at: number;
  path: string;
}

export interface SubscriberResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  delayMs?: number;
}

export type SubscriberHandler = (
  event: CloudEvent<unknown>,
  info: { n: number; path: string; headers: IncomingHttpHeaders },
) => SubscriberResponse | undefined;

export interface TestSubscriber {
  url: string;
  port: number;
  received: Received[];
  /** Highest number of requests in flight at the same time. */
  maxConcurrent: number;
  setHandler(handler: SubscriberHandler): void;
  /** Resolves once `n` events arrived (optionally only those matching `where`). */
  waitFor(n: number, where?: (r: Received) => boolean, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startSubscriber(
  handler: SubscriberHandler = () => ({ status: 202 }),
  options: { port?: number; record?: boolean } = {},
): Promise<TestSubscriber> {
  let current = handler;
  const received: Received[] = [];
  let inFlight = 0;
  let n = 0;
  let waiters: (() => void)[] = [];
  const record = options.record ?? true;
  const state = { maxConcurrent: 0 };
  const server: Server = createServer((req, res) => {
    const at = performance.now();
    inFlight++;
    state.maxConcurrent = Math.max(state.maxConcurrent, inFlight);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let event: CloudEvent<unknown>;
      try {
        event = decodeHttpEvent(req.headers, Buffer.concat(chunks));
      } catch (err) {
        inFlight--;
        res.writeHead(400).end(String(err));
        return;
      }
      const path = req.url ?? '/';
      if (record) received.push({ event, headers: req.headers, at, path });
      const r = current(event, { n: n++, path, headers: req.headers }) ?? {};
      const finish = () => {
        inFlight--;
        res.writeHead(r.status ?? 202, r.headers ?? {});
        res.end(r.body ?? '');
        const w = waiters;
        waiters = [];
        for (const f of w) f();
      };
      if (r.delayMs) setTimeout(finish, r.delayMs);
      else finish();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    received,
    get maxConcurrent() {
      return state.maxConcurrent;
    },
    setHandler(h) {
      current = h;
    },
    async waitFor(count, where = () => true, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = received.filter(where);
        if (got.length >= count) return got;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`expected ${count} events, got ${got.length} after ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 100));
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
