import { describe, expect, it } from '@jest/globals';
import { createLogger, NonRetriableError } from '@tributary/shared';
import { CloudEvent, HTTP } from 'cloudevents';
import { z } from 'zod';
import { createFunctionHost } from './host.js';
import type { FunctionModule } from './types.js';

const logger = createLogger({ name: 'test', level: 'silent' });

function host(fn: FunctionModule) {
  return createFunctionHost({ name: 'fn-test', fn, logger });
}

const incoming = new CloudEvent({
  id: 'abc-1',
  source: '/db/app/public/users',
  type: 'dev.tributary.db.row.inserted',
  datacontenttype: 'application/json',
  data: { record: { id: 7, email: 'ada@example.com' } },
});

function binary(event: CloudEvent<unknown>) {
  const msg = HTTP.binary(event);
  const body = typeof msg.body === 'string' ? msg.body : JSON.stringify(msg.body);
  return { headers: msg.headers as Record<string, string>, payload: body };
}

describe('function host', () => {
  it('answers 204 when the handler returns nothing, and passes the Knative context', async () => {
    const seen: unknown[] = [];
    const app = host({
      handle: (ctx, event) => {
        seen.push({
          method: ctx.method,
          id: event.id,
          data: event.data,
          same: ctx.cloudevent === event,
          fn: ctx.functionName,
        });
      },
    });
    const res = await app.inject({ method: 'POST', url: '/', ...binary(incoming) });
    expect(res.statusCode).toBe(204);
    expect(seen).toEqual([
      {
        method: 'POST',
        id: 'abc-1',
        data: { record: { id: 7, email: 'ada@example.com' } },
        same: true,
        fn: 'fn-test',
      },
    ]);
  });

  it('accepts structured mode too', async () => {
    const ids: string[] = [];
    const app = host({ handle: (_c, e) => void ids.push(e.id) });
    const msg = HTTP.structured(incoming);
    const res = await app.inject({
      method: 'POST',
      url: '/',
      headers: msg.headers as Record<string, string>,
      payload: msg.body as string,
    });
    expect(res.statusCode).toBe(204);
    expect(ids).toEqual(['abc-1']);
  });

  it('replies 200 in binary mode with the returned CloudEvent', async () => {
    const app = host({
      handle: async (_c, e) =>
        new CloudEvent({
          source: '/fn/welcome',
          type: 'dev.tributary.app.welcome.requested',
          id: `welcome-${e.id}`,
          data: { to: 7 },
        }),
    });
    const res = await app.inject({ method: 'POST', url: '/', ...binary(incoming) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['ce-type']).toBe('dev.tributary.app.welcome.requested');
    expect(res.headers['ce-id']).toBe('welcome-abc-1');
    expect(res.json()).toEqual({ to: 7 });
  });

  it('answers 400 with the zod issues when data fails the schema, without calling handle', async () => {
    let called = false;
    const app = host({
      schema: z.object({ record: z.object({ id: z.string() }) }),
      handle: () => {
        called = true;
      },
    });
    const res = await app.inject({ method: 'POST', url: '/', ...binary(incoming) });
    expect(res.statusCode).toBe(400);
    expect(called).toBe(false);
    const body = res.json();
    expect(body.code).toBe('EVENT_SCHEMA');
    expect(body.issues).toEqual([expect.objectContaining({ path: 'record.id' })]);
  });

  it('maps NonRetriableError to 400 and other errors to 500', async () => {
    const app = host({
      handle: (_c, e) => {
        if (e.subject === 'bad') throw new NonRetriableError('user 7 does not exist');
        // A driver's error with its own code (a Postgres SQLSTATE): the code must not leave the process.
        throw Object.assign(new Error('database down'), { code: '57P01' });
      },
    });
    const bad = binary(incoming.cloneWith({ subject: 'bad' }));
    const r1 = await app.inject({ method: 'POST', url: '/', ...bad });
    expect(r1.statusCode).toBe(400);
    expect(r1.json()).toMatchObject({ code: 'NON_RETRIABLE', message: 'user 7 does not exist' });
    const r2 = await app.inject({ method: 'POST', url: '/', ...binary(incoming) });
    expect(r2.statusCode).toBe(500);
    expect(r2.json()).toMatchObject({ code: 'HANDLER_ERROR', message: 'database down' });
  });

  it('rejects a request that is not a CloudEvent with 400', async () => {
    const app = host({ handle: () => undefined });
    const res = await app.inject({
      method: 'POST',
      url: '/',
      headers: { 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('CLOUDEVENT_DECODE');
  });

  it('answers 400 to JSON nested deeper than 256 levels, without calling handle', async () => {
    let called = false;
    const app = host({
      handle: () => {
        called = true;
      },
    });
    const { headers } = binary(incoming);
    const res = await app.inject({
      method: 'POST',
      url: '/',
      headers,
      payload: `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('JSON_TOO_DEEP');
    expect(called).toBe(false);
  });

  it('serves Knative health endpoints and function metrics', async () => {
    const app = host({ handle: () => undefined });
    await app.ready();
    expect((await app.inject({ method: 'GET', url: '/health/liveness' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/health/readiness' })).statusCode).toBe(200);
    await app.inject({ method: 'POST', url: '/', ...binary(incoming) });
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('function_invocations_total{function="fn-test",outcome="ok"');
    expect(metrics).toContain('function_execution_seconds_bucket');
    await app.close();
  });
});
