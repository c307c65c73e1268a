import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHttpAgent, MAX_RESPONSE_BYTES, postEvent, TransportError } from './http.js';

// postEvent against a real local HTTP server: what each kind of subscriber answer turns into.
describe('postEvent', () => {
  let server: Server;
  let base: string;
  const agent = createHttpAgent(16);
  const seen: { path: string; headers: IncomingMessage['headers']; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        seen.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString() });
        if (path.startsWith('/accepted')) res.writeHead(202).end();
        else if (path.startsWith('/reply'))
          res
            .writeHead(200, { 'ce-specversion': '1.0', 'ce-id': 'r1', 'Content-Type': 'text/plain' })
            .end('pong');
        else if (path.startsWith('/huge')) {
          res.writeHead(500, { 'content-type': 'application/octet-stream' });
          res.end(Buffer.alloc(MAX_RESPONSE_BYTES + 64 * 1024, 0x61));
        } else if (path.startsWith('/silent')) {
          // never answers: the client's timeout or abort ends it
        } else res.writeHead(404).end('no such path');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await agent.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('sends headers, body and query, and discards a body it was not asked to read', async () => {
    const r = await postEvent(agent, `${base}/accepted/x?a=1`, {
      headers: { 'ce-id': 'e1', 'content-type': 'application/json' },
      body: Buffer.from('{"n":1}'),
      timeoutMs: 5000,
      readBody: () => false,
    });
    expect(r.status).toBe(202);
    expect(r.body.length).toBe(0);
    const req = seen.find((s) => s.path === '/accepted/x?a=1');
    expect(req?.headers['ce-id']).toBe('e1');
    expect(req?.body).toBe('{"n":1}');
  });

  it('reads the body when asked, with lower-cased response headers', async () => {
    const r = await postEvent(agent, `${base}/reply`, {
      headers: {},
      body: Buffer.alloc(0),
      timeoutMs: 5000,
      readBody: (status, h) => status === 200 && h['ce-specversion'] === '1.0',
    });
    expect(r.status).toBe(200);
    expect(r.headers['ce-id']).toBe('r1');
    expect(r.headers['content-type']).toBe('text/plain');
    expect(r.body.toString()).toBe('pong');
  });

  it(`cuts a response body at MAX_RESPONSE_BYTES (${MAX_RESPONSE_BYTES})`, async () => {
    const r = await postEvent(agent, `${base}/huge`, {
      headers: {},
      body: Buffer.alloc(0),
      timeoutMs: 10_000,
      readBody: () => true,
    });
    expect(r.status).toBe(500);
    expect(r.body.length).toBe(MAX_RESPONSE_BYTES);
    expect(r.body[r.body.length - 1]).toBe(0x61);
  });

  it('fails with a TransportError marked timedOut when no response comes in time', async () => {
    const err = await postEvent(agent, `${base}/silent`, {
      headers: {},
      body: Buffer.alloc(0),
      timeoutMs: 200,
      readBody: () => false,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).timedOut).toBe(true);
    expect((err as TransportError).message).toBe('timed out after 200 ms');
  });

  it('fails with a TransportError (not timed out) when nothing listens', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const err = await postEvent(agent, `http://127.0.0.1:${port}/`, {
      headers: {},
      body: Buffer.alloc(0),
      timeoutMs: 5000,
      readBody: () => false,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).timedOut).toBe(false);
  });

  it('aborts every running request of a signal with its reason, through a single listener', async () => {
    const ac = new AbortController();
    const reason = new Error('shutting down');
    const running = Array.from({ length: 5 }, () =>
      postEvent(agent, `${base}/silent`, {
        headers: {},
        body: Buffer.alloc(0),
        timeoutMs: 60_000,
        signal: ac.signal,
        readBody: () => false,
      }).catch((e: unknown) => e),
    );
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 50));
    ac.abort(reason);
    for (const e of await Promise.all(running)) expect(e).toBe(reason);
    // An already aborted signal refuses new requests at once.
    await expect(
      postEvent(agent, `${base}/accepted`, {
        headers: {},
        body: Buffer.alloc(0),
        timeoutMs: 5000,
        signal: ac.signal,
        readBody: () => false,
      }),
    ).rejects.toBe(reason);
    // The pool still serves other requests.
    const ok = await postEvent(agent, `${base}/accepted`, {
      headers: {},
      body: Buffer.alloc(0),
      timeoutMs: 5000,
      readBody: () => false,
    });
    expect(ok.status).toBe(202);
  });
});
