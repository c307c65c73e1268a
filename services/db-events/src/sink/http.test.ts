/** The HTTP sink against a local receiver: batch mode, keep-alive, retries, and refused events skipped. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { CloudEvent } from 'cloudevents';
import { HttpSink } from './http.js';

const ev = (i: number, extra: Record<string, unknown> = {}) =>
  new CloudEvent<unknown>({ id: `0/1-${i}`, type: 't', source: '/s', data: { i }, ...extra }, false);

describe('HttpSink', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    if (server) await new Promise((r) => server?.close(r));
  });

  async function receiver(answer: (batch: { id: string; bad?: boolean }[], n: number) => number) {
    const got: { id: string }[][] = [];
    const sockets = new Set<unknown>();
    let requests = 0;
    server = createServer((req, res) => {
      sockets.add(req.socket);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        expect(req.headers['content-type']).toMatch(/^application\/cloudevents-batch\+json/);
        const batch = JSON.parse(Buffer.concat(chunks).toString()) as { id: string; bad?: boolean }[];
        const status = answer(batch, ++requests);
        if (status < 300) got.push(batch);
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ns/default`, got, sockets };
  }

  it('sends batches over reused keep-alive connections', async () => {
    const r = await receiver(() => 202);
    const sink = new HttpSink({ url: r.url });
    await sink.send([ev(1), ev(2)]);
    await sink.send([ev(3)]);
    for (let i = 4; i < 12; i++) await sink.send([ev(i)]);
    expect(r.got.slice(0, 2).map((b) => b.map((e) => e.id))).toEqual([['0/1-1', '0/1-2'], ['0/1-3']]);
    expect(r.got).toHaveLength(10);
    // Ten requests, at most the pool's two connections.
    expect(r.sockets.size).toBeLessThanOrEqual(2);
    await sink.close();
  });

  it('retries a 503 until the batch is accepted', async () => {
    const r = await receiver((_b, n) => (n <= 2 ? 503 : 202));
    const sink = new HttpSink({ url: r.url });
    await sink.send([ev(1), ev(2)]);
    expect(r.got.map((b) => b.map((e) => e.id))).toEqual([['0/1-1', '0/1-2']]);
    await sink.close();
  });

  it('skips only the events the receiver refuses for good', async () => {
    const r = await receiver((b) => (b.some((e) => e.bad) ? 400 : 202));
    const rejected: string[] = [];
    const sink = new HttpSink({ url: r.url, onRejected: (e) => rejected.push(e.id) });
    await sink.send([ev(1), ev(2, { bad: true }), ev(3), ev(4)]);
    expect(rejected).toEqual(['0/1-2']);
    expect(r.got.flat().map((e) => e.id)).toEqual(['0/1-1', '0/1-3', '0/1-4']);
    await sink.close();
  });

  it('cuts requests under the size limit', async () => {
    const r = await receiver(() => 202);
    const sink = new HttpSink({ url: r.url, maxRequestBytes: 10_000 });
    await sink.send(Array.from({ length: 30 }, (_, i) => ev(i, { pad: 'x'.repeat(1000) })));
    expect(r.got.length).toBeGreaterThan(2);
    expect(r.got.flat()).toHaveLength(30);
    await sink.close();
  });
});
