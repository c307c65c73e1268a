import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { CloudEvent } from 'cloudevents';
import { InvalidCloudEventError } from '../cloudevents/errors.js';
import { createCloudEvent } from '../cloudevents/event.js';
import { decodeHttp } from '../cloudevents/http.js';
import {
  backoffDelay,
  createPublisher,
  isRetryableStatus,
  type Publisher,
  PublishFailedError,
  PublishRejectedError,
} from './publisher.js';

interface Received {
  headers: IncomingMessage['headers'];
  events: CloudEvent<unknown>[];
}

type Reply = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/** A real HTTP server on 127.0.0.1 that decodes every request and answers with `replies[n]` (last one repeats). */
async function startSink(
  replies: Reply[],
): Promise<{ url: string; received: Received[]; server: Server; sockets: Set<unknown> }> {
  const received: Received[] = [];
  const sockets = new Set<unknown>();
  let n = 0;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    received.push({ headers: req.headers, events: decodeHttp(req.headers, Buffer.concat(chunks)) });
    const reply = replies[Math.min(n, replies.length - 1)]!;
    reply(req, res, n++);
  });
  server.on('connection', (s) => sockets.add(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  servers.push(server);
  return { url: `http://127.0.0.1:${port}/default/default`, received, server, sockets };
}

const status =
  (code: number, body = '', headers: Record<string, string> = {}): Reply =>
  (_req, res) => {
    res.writeHead(code, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  };

const servers: Server[] = [];
const publishers: Publisher[] = [];

function publisher(opts: Parameters<typeof createPublisher>[0]): Publisher {
  const p = createPublisher({ minBackoffMs: 5, maxBackoffMs: 20, ...opts });
  publishers.push(p);
  return p;
}

afterEach(async () => {
  await Promise.all(publishers.splice(0).map((p) => p.close()));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

function event(i = 1) {
  return createCloudEvent({
    type: 'com.example.thing',
    source: '/test',
    id: `e-${i}`,
    subject: 'a b%"é',
    data: { i },
  });
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the publish to fail');
}

describe('createPublisher', () => {
  it('sends binary mode with a bearer token over keep-alive connections', async () => {
    const sink = await startSink([status(202)]);
    const p = publisher({ url: sink.url, token: 'secret-token' });
    await p.publish(event(1));
    await p.publish([2, 3, 4, 5, 6, 7, 8, 9, 10].map(event));
    expect(sink.received.map((r) => r.events[0]!.id)).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => `e-${i}`),
    );
    expect(sink.received[0]!.headers.authorization).toBe('Bearer secret-token');
    expect(sink.received[0]!.headers['ce-subject']).toBe('a%20b%25%22%C3%A9');
    expect(sink.received[0]!.events[0]!.subject).toBe('a b%"é');
    expect(sink.sockets.size).toBeLessThanOrEqual(2);
  });

  it('sends batch mode in chunks of maxBatchSize', async () => {
    const sink = await startSink([status(202)]);
    const p = publisher({ url: sink.url, mode: 'batch', maxBatchSize: 2 });
    await p.publish([event(1), event(2), event(3)]);
    expect(sink.received.map((r) => r.headers['content-type'])).toEqual([
      'application/cloudevents-batch+json; charset=utf-8',
      'application/cloudevents-batch+json; charset=utf-8',
    ]);
    expect(sink.received.map((r) => r.events.map((e) => e.id))).toEqual([['e-1', 'e-2'], ['e-3']]);
  });

  it('sends structured mode', async () => {
    const sink = await startSink([status(202)]);
    const p = publisher({ url: sink.url, mode: 'structured' });
    await p.publish(event(1));
    expect(sink.received[0]!.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
    expect(sink.received[0]!.events[0]!.data).toEqual({ i: 1 });
  });

  it('retries 503, 429, 404 and a dropped connection, then succeeds', async () => {
    const sink = await startSink([
      status(503, 'busy'),
      status(429, '', { 'retry-after': '0' }),
      status(404),
      (req) => req.socket.destroy(),
      status(202),
    ]);
    const p = publisher({ url: sink.url, retries: 5 });
    await p.publish(event(1));
    expect(sink.received).toHaveLength(5);
    expect(new Set(sink.received.map((r) => r.events[0]!.id))).toEqual(new Set(['e-1']));
  });

  it('gives up after N retries with the last status and body', async () => {
    const sink = await startSink([status(500, 'backend down')]);
    const p = publisher({ url: sink.url, retries: 2 });
    const err = await rejection(p.publish(event(1)));
    expect(err).toBeInstanceOf(PublishFailedError);
    const e = err as PublishFailedError;
    expect(e.retriable).toBe(true);
    expect(e.attempts).toBe(3);
    expect(e.status).toBe(500);
    expect(e.body).toBe('backend down');
    expect(e.message).toBe('publishing event e-1 failed after 3 attempts: HTTP 500');
    expect(sink.received).toHaveLength(3);
  });

  it('does not retry a 400 and carries its body', async () => {
    const sink = await startSink([status(400, 'data.record.id: expected string, got number')]);
    const p = publisher({ url: sink.url, retries: 5 });
    const err = await rejection(p.publish(event(1)));
    expect(err).toBeInstanceOf(PublishRejectedError);
    const e = err as PublishRejectedError;
    expect(e.status).toBe(400);
    expect(e.retriable).toBe(false);
    expect(e.body).toBe('data.record.id: expected string, got number');
    expect(e.eventIds).toEqual(['e-1']);
    expect(e.message).toContain('HTTP 400: data.record.id: expected string');
    expect(sink.received).toHaveLength(1);
  });

  it('times out a request that gets no answer and retries it', async () => {
    const sink = await startSink([() => {}, status(202)]); // the first request is never answered
    const p = publisher({ url: sink.url, timeoutMs: 200, retries: 1 });
    await p.publish(event(1));
    expect(sink.received).toHaveLength(2);

    const silent = await startSink([() => {}]);
    const q = publisher({ url: silent.url, timeoutMs: 100, retries: 0 });
    const err = (await rejection(q.publish(event(2)))) as PublishFailedError;
    expect(err).toBeInstanceOf(PublishFailedError);
    expect(err.message).toBe('publishing event e-2 failed after 1 attempts: no answer within 100 ms');
  });

  it('retries when nothing listens and stops when closed', async () => {
    const sink = await startSink([status(202)]);
    const url = sink.url;
    sink.server.close();
    await once(sink.server, 'close');
    const p = publisher({ url, retries: 50, minBackoffMs: 50, maxBackoffMs: 50 });
    const pending = rejection(p.publish(event(1)));
    await new Promise((r) => setTimeout(r, 120));
    await p.close();
    const err = (await pending) as PublishFailedError;
    expect(err).toBeInstanceOf(PublishFailedError);
    expect(err.message).toBe('publishing event e-1 stopped: the publisher was closed');
    expect(err.attempts).toBeGreaterThan(1);
  });

  it('refuses an invalid event before sending it', async () => {
    const sink = await startSink([status(202)]);
    const p = publisher({ url: sink.url });
    const err = await rejection(
      p.publish({ specversion: '1.0', id: '', source: '/s', type: 't', Bad_Name: 1 }),
    );
    expect(err).toBeInstanceOf(InvalidCloudEventError);
    expect((err as InvalidCloudEventError).issues).toEqual([
      'attribute `id` must be a non-empty string',
      'extension name `Bad_Name` must match [a-z0-9]{1,20}',
    ]);
    expect(sink.received).toHaveLength(0);
  });
});

describe('retry policy', () => {
  it('retries the Knative data-plane statuses only', () => {
    expect([500, 502, 503, 504, 404, 408, 409, 429].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 405, 413, 415, 422].some(isRetryableStatus)).toBe(false);
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(backoffDelay(1, 100, 10_000, () => 0)).toBe(50);
    expect(backoffDelay(1, 100, 10_000, () => 1)).toBe(100);
    expect(backoffDelay(4, 100, 10_000, () => 1)).toBe(800);
    expect(backoffDelay(20, 100, 10_000, () => 1)).toBe(10_000);
  });
});
