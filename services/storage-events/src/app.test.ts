import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { createLogger, NonRetriableError, PublishRejectedError, TributaryError } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import { buildApp, checkBearer, type EventSink } from './app.js';
import type { DeadLetterReason, DeadLetterSink } from './dead-letters.js';
import { minioRecord } from './mapping.test.js';

const TOKEN = 'secret-token';

function setup(fail?: Error) {
  const published: CloudEvent<unknown>[][] = [];
  const sink: EventSink = {
    async publish(events) {
      if (fail) throw fail;
      published.push(events);
    },
  };
  const app = buildApp({ logger: createLogger({ name: 'test', level: 'silent' }), token: TOKEN, sink });
  return { app, published };
}

const notification = () => {
  const record = minioRecord({ key: 'a+b%2Fc.txt' });
  return { EventName: record.eventName, Key: 'uploads/a b/c.txt', Records: [record] };
};

const post = (app: ReturnType<typeof setup>['app'], body: unknown, authorization?: string) =>
  app.inject({
    method: 'POST',
    url: '/webhooks/minio',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('checkBearer', () => {
  const digest = createHash('sha256').update(TOKEN).digest();
  it.each([
    [`Bearer ${TOKEN}`, true],
    [`bearer ${TOKEN}`, true],
    [`Bearer  ${TOKEN} `, true],
    [`Bearer ${TOKEN}x`, false],
    [TOKEN, false],
    ['Bearer ', false],
    [undefined, false],
  ])('%s -> %s', (header, ok) => {
    expect(checkBearer(header, digest)).toBe(ok);
  });

  it('rejects an empty presented token even against an empty expected one', () => {
    expect(checkBearer('Bearer ', createHash('sha256').update('').digest())).toBe(false);
  });
});

describe('POST /webhooks/minio', () => {
  it('publishes the mapped event and answers 200 with its id', async () => {
    const { app, published } = setup();
    const res = await post(app, notification(), `Bearer ${TOKEN}`);
    expect(res.statusCode).toBe(200);
    expect(published).toHaveLength(1);
    const [event] = published[0]!;
    expect(event?.subject).toBe('a b/c.txt');
    expect(res.json()).toEqual({ published: 1, ids: [event?.id] });
  });

  it('answers 401 without publishing when the token is missing or wrong', async () => {
    const { app, published } = setup();
    expect((await post(app, notification())).statusCode).toBe(401);
    expect((await post(app, notification(), 'Bearer nope')).statusCode).toBe(401);
    // Checked before the body: even an unparseable body gets 401.
    expect((await post(app, '{not json', 'Bearer nope')).statusCode).toBe(401);
    expect(published).toHaveLength(0);
  });

  it.each([
    [''],
    ['{}'],
    ['{"Event":"s3:TestEvent","Service":"Amazon S3"}'],
    ['{"Records":[]}'],
  ])('answers 200 to a connectivity check %j', async (body) => {
    const { app, published } = setup();
    const res = await post(app, body, `Bearer ${TOKEN}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ published: 0, ids: [] });
    expect(published).toHaveLength(0);
  });

  it('answers 400 to malformed JSON and to JSON that is not a notification', async () => {
    const { app } = setup();
    const bad = await post(app, '{"Records": [', `Bearer ${TOKEN}`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/not valid JSON/);
    const wrong = await post(app, { Records: [{ eventName: 'x' }] }, `Bearer ${TOKEN}`);
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().issues).toEqual(expect.arrayContaining([expect.stringMatching(/^Records\.0\.s3/)]));
  });

  it('answers 503 when the broker is unavailable, so MinIO redelivers', async () => {
    const { app } = setup(new TributaryError('broker down', { retriable: true }));
    expect((await post(app, notification(), `Bearer ${TOKEN}`)).statusCode).toBe(503);
  });

  it('answers 422, not 5xx, when the broker rejects the event and no dead-letter sink is set', async () => {
    const { app } = setup(new NonRetriableError('rejected'));
    const res = await post(app, notification(), `Bearer ${TOKEN}`);
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      error: 'unpublishable',
      message: expect.stringContaining('rejected'),
    });
  });

  it('regression: records an event the broker refuses for good as a dead letter, then answers 200', async () => {
    const recorded: { ids: string[]; reason: DeadLetterReason }[] = [];
    const deadLetters: DeadLetterSink = {
      async record(events, reason) {
        recorded.push({ ids: events.map((e) => e.id), reason });
      },
    };
    const app = buildApp({
      logger: createLogger({ name: 'test', level: 'silent' }),
      token: TOKEN,
      sink: {
        async publish() {
          throw new PublishRejectedError(400, '{"code":"EVENT_SCHEMA"}', ['x']);
        },
      },
      deadLetters,
      sinkUrl: 'http://broker/default/default',
    });
    const res = await post(app, notification(), `Bearer ${TOKEN}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ published: 0, deadLettered: 1 });
    expect(recorded).toEqual([
      {
        ids: [expect.any(String)],
        reason: {
          destination: 'http://broker/default/default',
          status: 400,
          message: expect.stringContaining('EVENT_SCHEMA'),
        },
      },
    ]);
    const metrics = await (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/storage_events_dead_letters_total\{[^}]*reason="refused"[^}]*\} 1/);
  });

  it('answers 503 when the dead-letter sink cannot take it either, so nothing is dropped', async () => {
    const app = buildApp({
      logger: createLogger({ name: 'test', level: 'silent' }),
      token: TOKEN,
      sink: {
        async publish() {
          throw new NonRetriableError('rejected');
        },
      },
      deadLetters: {
        async record() {
          throw new Error('sink down');
        },
      },
    });
    expect((await post(app, notification(), `Bearer ${TOKEN}`)).statusCode).toBe(503);
  });

  it('answers 400 to JSON nested deeper than 256 levels', async () => {
    const { app } = setup();
    const res = await post(app, `${'['.repeat(20_000)}${']'.repeat(20_000)}`, `Bearer ${TOKEN}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/nested more than 256/);
  });

  it('counts notifications, rejections, published events and publish latency', async () => {
    const { app } = setup();
    await post(app, notification(), `Bearer ${TOKEN}`);
    await post(app, notification());
    await post(app, { nope: 1 }, `Bearer ${TOKEN}`);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/storage_events_notifications_received_total\{[^}]*\} 3/);
    expect(metrics).toMatch(
      /storage_events_notifications_rejected_total\{[^}]*reason="unauthorized"[^}]*\} 1/,
    );
    expect(metrics).toMatch(
      /storage_events_notifications_rejected_total\{[^}]*reason="invalid_body"[^}]*\} 1/,
    );
    expect(metrics).toMatch(
      /storage_events_events_published_total\{[^}]*type="dev.tributary.storage.object.created"[^}]*\} 1/,
    );
    expect(metrics).toMatch(/storage_events_publish_duration_seconds_count\{[^}]*outcome="ok"[^}]*\} 1/);
  });
});
