import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createFunctionHost, type FunctionModule, loadFunction } from '@tributary/function-runtime';
import { createLogger } from '@tributary/shared';
import { testEnv, uniqueSchema } from '@tributary/testing';
import { CloudEvent, HTTP } from 'cloudevents';
import pg from 'pg';
import type { EmailRequested } from './index.js';

// Real Postgres; the HTTP test runs the function in the real function runtime host
// (@tributary/function-runtime), POSTing a binary-mode CloudEvent as Knative's broker would.

const schemaName = uniqueSchema('send_auth_email');
const log = createLogger({ name: 't', level: 'silent' });
let admin: pg.Pool;
let fn: FunctionModule<EmailRequested>;

function emailEvent(overrides: Partial<EmailRequested['email_data']> = {}) {
  const userId = randomUUID();
  return new CloudEvent<EmailRequested>({
    id: randomUUID(),
    source: '/auth',
    type: 'dev.tributary.auth.email.requested',
    subject: userId,
    datacontenttype: 'application/json',
    data: {
      user: { id: userId, email: `${userId.slice(0, 8)}@example.com` },
      email_data: {
        token: '305805',
        token_hash: 'hash-1',
        redirect_to: '',
        email_action_type: 'magiclink',
        site_url: 'http://localhost:9999/auth/v1',
        token_new: '',
        token_hash_new: '',
        ...overrides,
      },
    },
  });
}

const outbox = async (eventId: string) =>
  (
    await admin.query(
      `select recipient, user_id, sender, subject, action_type, link, sent_at from ${schemaName}.email_outbox
        where event_id = $1`,
      [eventId],
    )
  ).rows;

beforeAll(async () => {
  admin = new pg.Pool({ connectionString: testEnv().databaseUrl, max: 2 });
  fn = (await loadFunction(
    new URL('./index.ts', import.meta.url).pathname,
  )) as FunctionModule<EmailRequested>;
  await (fn.init as (env: Record<string, string>) => Promise<void>)({
    DATABASE_URL: testEnv().databaseUrl,
    EMAIL_OUTBOX_TABLE: `${schemaName}.email_outbox`,
    EMAIL_FROM: 'auth@example.com',
  });
});

afterAll(async () => {
  await fn.shutdown?.();
  await admin.query(`drop schema if exists ${schemaName} cascade`);
  await admin.end();
});

describe('send-auth-email against real Postgres', () => {
  it('handle(context, event) writes the email to the outbox, once per event id', async () => {
    const event = emailEvent();
    const context = {
      log,
      headers: {},
      method: 'POST',
      query: {},
      body: event.data,
      cloudevent: event,
      functionName: 'send-auth-email',
    };
    await expect(fn.handle(context, event)).resolves.toBeUndefined();
    await fn.handle(context, event); // a redelivery
    const rows = await outbox(event.id);
    expect(rows).toEqual([
      {
        recipient: event.data!.user.email,
        user_id: event.data!.user.id,
        sender: 'auth@example.com',
        subject: 'Your sign-in link',
        action_type: 'magiclink',
        link: 'http://localhost:9999/auth/v1/verify?token=hash-1&type=magiclink',
        sent_at: null,
      },
    ]);
  });

  it('answers a binary CloudEvent POST with 204, and a bad one with 400', async () => {
    const app = createFunctionHost({ name: 'send-auth-email', fn: fn as FunctionModule, logger: log });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const event = emailEvent({ email_action_type: 'recovery', token_hash: 'hash-2' });
      const msg = HTTP.binary(event);
      const res = await fetch(url, {
        method: 'POST',
        headers: msg.headers as Record<string, string>,
        body: msg.body as string,
      });
      expect(res.status).toBe(204);
      expect((await outbox(event.id)).map((r) => [r.subject, r.action_type])).toEqual([
        ['Reset your password', 'recovery'],
      ]);

      const bad = HTTP.binary(
        new CloudEvent({
          id: 'x',
          source: '/auth',
          type: 'dev.tributary.auth.email.requested',
          data: { user: {} },
        }),
      );
      const res2 = await fetch(url, {
        method: 'POST',
        headers: bad.headers as Record<string, string>,
        body: bad.body as string,
      });
      expect(res2.status).toBe(400);
    } finally {
      await app.close();
    }
  });
});
