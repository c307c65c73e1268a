import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Pool } from './fetch-pool.js';

const server = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => {
    body += d;
  });
  req.on('end', () => {
    if (req.url === '/echo')
      res.writeHead(400, { 'x-seen': String(req.headers['ce-id']) }).end(`${req.method} ${body}`);
    else res.writeHead(202).end();
  });
});
let origin = '';
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

describe('Pool over fetch (the CLI build’s stand-in for undici)', () => {
  it('answers with the status, the headers and the body as undici does', async () => {
    const pool = new Pool(origin);
    const res = await pool.request({
      method: 'POST',
      path: '/echo',
      headers: { 'ce-id': 'e-1' },
      body: 'hi',
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['x-seen']).toBe('e-1');
    let text = '';
    for await (const chunk of res.body) text += Buffer.from(chunk).toString();
    expect(text).toBe('POST hi');
    const ok = await pool.request({ method: 'POST', path: '/', body: new Uint8Array([1]) });
    expect(ok.statusCode).toBe(202);
    await ok.body.dump();
    await pool.close();
  });

  it('throws the network error itself, as undici does (ECONNREFUSED, not "fetch failed")', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const pool = new Pool(`http://127.0.0.1:${port}`);
    await expect(pool.request({ method: 'POST', path: '/' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
