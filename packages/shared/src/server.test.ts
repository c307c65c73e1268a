// The shared server base against real sockets: time limits (slowloris), NUL bytes in URLs, over-deep JSON,
// and no internal error codes in answers.
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { jsonDepth, jsonTooDeep } from './json-depth.js';
import { createLogger } from './logging.js';
import { createServer, DEFAULT_HTTP_LIMITS } from './server.js';

const logger = createLogger({ name: 'server-test', level: 'silent' });
const apps: FastifyInstance[] = [];

async function start(limits = {}): Promise<{ app: FastifyInstance; port: number }> {
  const app = createServer({ name: 'test', logger, limits });
  app.post('/echo', async (req) => ({ got: req.body }));
  app.get('/boom', async () => {
    throw Object.assign(new Error('relation "x" does not exist'), { code: '42P01' });
  });
  app.get('/pg-range', async () => {
    // What node-postgres throws for `WHERE id = '9223372036854775808'` on a bigint column.
    throw Object.assign(new Error('value "9223372036854775808" is out of range for type bigint'), {
      code: '22003',
      severity: 'ERROR',
    });
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  apps.push(app);
  return { app, port: (app.server.address() as { port: number }).port };
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

/** Opens a raw socket and resolves when the server closes it, with everything it sent. */
function rawClient(port: number): { socket: Socket; closed: Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  let data = '';
  socket.on('data', (d) => {
    data += d.toString('latin1');
  });
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(data)));
  socket.on('error', () => {});
  return { socket, closed };
}

describe('jsonDepth', () => {
  it('counts nesting outside strings only, and stops early', () => {
    expect(jsonDepth('{"a":[1,{"b":2}]}')).toBe(3);
    expect(jsonDepth('"[[[[{{{{"')).toBe(0);
    expect(jsonDepth('{"a":"\\"[[[[","b":[]}')).toBe(2);
    expect(jsonDepth('[]')).toBe(1);
    expect(jsonDepth('1')).toBe(0);
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    expect(jsonDepth(deep, 10)).toBe(11);
    expect(jsonTooDeep(deep)).toBe(true);
    expect(jsonTooDeep(Buffer.from('{"a":{"b":{"c":[1,2,3]}}}'))).toBe(false);
  });
});

describe('createServer', () => {
  it('has time limits by default (Fastify has none for request bodies)', async () => {
    const { app } = await start();
    expect(app.server.requestTimeout).toBe(DEFAULT_HTTP_LIMITS.requestTimeoutMs);
    expect(app.server.headersTimeout).toBe(DEFAULT_HTTP_LIMITS.headersTimeoutMs);
    expect(app.server.keepAliveTimeout).toBe(DEFAULT_HTTP_LIMITS.keepAliveTimeoutMs);
  });

  it('regression: a body dribbled a byte at a time is cut off (408) instead of holding the socket', async () => {
    const { port } = await start({ headersTimeoutMs: 300, requestTimeoutMs: 600 });
    const { socket, closed } = rawClient(port);
    socket.write(
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n',
    );
    let sent = 0;
    const dribble = setInterval(() => {
      if (!socket.destroyed) socket.write('a');
      sent++;
    }, 100);
    const answer = await closed;
    clearInterval(dribble);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    // Closed long before the 1000 bytes could have arrived.
    expect(sent).toBeLessThan(1000);
  });

  it('regression: headers dribbled a line at a time are cut off too', async () => {
    const { port } = await start({ headersTimeoutMs: 300, requestTimeoutMs: 600 });
    const { socket, closed } = rawClient(port);
    socket.write('GET /healthz HTTP/1.1\r\n');
    let n = 0;
    const dribble = setInterval(() => {
      if (!socket.destroyed) socket.write(`X-Slow-${n++}: 1\r\n`);
    }, 100);
    const answer = await closed;
    clearInterval(dribble);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(n).toBeLessThan(1000);
  });

  it('closes an idle kept-alive connection after the keep-alive timeout', async () => {
    const { port } = await start({ keepAliveTimeoutMs: 200 });
    const { socket, closed } = rawClient(port);
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const answer = await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer.toLowerCase()).toMatch(/keep-alive: timeout=\d/);
  });

  it('refuses a NUL byte in the URL with 400 and a message', async () => {
    const { app } = await start();
    const res = await app.inject({ method: 'GET', url: '/healthz?x=a%00b' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'NUL_IN_URL', message: expect.stringContaining('NUL') });
  });

  it('refuses JSON nested deeper than the limit with 400, before parsing it', async () => {
    const { app } = await start();
    const deep = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    const res = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: deep,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'JSON_TOO_DEEP' });
    const ok = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"a":{"b":[1]}}',
    });
    expect(ok.json()).toEqual({ got: { a: { b: [1] } } });
    const poisoned = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"__proto__":{"admin":true}}',
    });
    expect(poisoned.statusCode).toBe(400);
  });

  it("answers Fastify's body failures with the catalogue's codes (docs/ERRORS.md)", async () => {
    const { app } = await start();
    const post = (contentType: string, payload: string) =>
      app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': contentType }, payload });
    const broken = await post('application/json', '{"a":');
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toMatchObject({ code: 'INVALID_JSON' });
    const xml = await post('application/xml', '<a/>');
    expect(xml.statusCode).toBe(415);
    expect(xml.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    for (const res of [broken, xml]) expect(res.body).not.toContain('FST_ERR');
  });

  it('never puts a driver error code in a 5xx answer; a Postgres data exception is a 400', async () => {
    const { app } = await start();
    const boom = await app.inject({ method: 'GET', url: '/boom' });
    expect(boom.statusCode).toBe(500);
    expect(boom.json()).toEqual({
      error: 'Internal Server Error',
      code: 'INTERNAL',
      message: 'internal error',
    });
    const range = await app.inject({ method: 'GET', url: '/pg-range' });
    expect(range.statusCode).toBe(400);
    expect(range.body).not.toContain('22003');
    expect(range.json()).toMatchObject({ code: 'INVALID_INPUT' });
  });
});
