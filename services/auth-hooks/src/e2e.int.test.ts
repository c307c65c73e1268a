import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createBrokerLog, parseResources, type RunningBroker, startBroker } from '@tributary/eventing/broker';
import { createFunctionHost, type FunctionModule, loadFunction } from '@tributary/function-runtime';
import { createPublisher, type Publisher } from '@tributary/shared';
import { testEnv, uniqueName, uniqueSchema, waitFor } from '@tributary/testing';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { buildApp } from './app.js';
import { EmailDomainPolicy } from './policies/index.js';
import { parseSecrets } from './signature.js';
import { newSecret, payloads, RecordingBroker, signedHeaders, silentLogger } from './testing/fixtures.js';

// End to end with the real broker: auth-hooks -> eventing's ingress (Postgres log, catalog validation) ->
// Trigger dispatchers -> (1) the send-auth-email function in the function runtime, wired by the function's
// own trigger.yaml, writing its outbox row to real Postgres, and (2) a local server recording every /auth event.

jest.setTimeout(60_000);

const functionDir = new URL('../../functions/send-auth-email/', import.meta.url);
const namespace = uniqueName('authhooks').replace(/_/g, '-');
const outboxSchema = uniqueSchema('auth_outbox');
const secret = newSecret();
const recorder = new RecordingBroker();

let fn: FunctionModule;
let fnHost: FastifyInstance;
let broker: RunningBroker;
let log: ReturnType<typeof createBrokerLog>;
let publisher: Publisher;
let hooks: ReturnType<typeof buildApp>;
let admin: pg.Pool;

beforeAll(async () => {
  admin = new pg.Pool({ connectionString: testEnv().databaseUrl, max: 2 });
  await recorder.start();

  fn = await loadFunction(new URL('src/index.ts', functionDir).pathname);
  await (fn.init as (env: Record<string, string>) => Promise<void>)({
    DATABASE_URL: testEnv().databaseUrl,
    EMAIL_OUTBOX_TABLE: `${outboxSchema}.email_outbox`,
  });
  fnHost = createFunctionHost({ name: 'send-auth-email', fn, logger: silentLogger });
  const fnUrl = await fnHost.listen({ port: 0, host: '127.0.0.1' });

  const trigger = readFileSync(new URL('trigger.yaml', functionDir), 'utf8').replaceAll(
    'namespace: default',
    `namespace: ${namespace}`,
  );
  const resources = parseResources([
    {
      file: 'broker.yaml',
      text: `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n  namespace: ${namespace}\n`,
    },
    { file: 'send-auth-email/trigger.yaml', text: trigger },
    {
      file: 'recorder.yaml',
      text: [
        'apiVersion: eventing.knative.dev/v1',
        'kind: Trigger',
        'metadata:',
        '  name: all-auth-events',
        `  namespace: ${namespace}`,
        '  annotations:',
        '    tributary.dev/initial-offset: earliest',
        'spec:',
        '  broker: default',
        '  filters:',
        '    - prefix: { type: dev.tributary.auth. }',
        '  subscriber:',
        `    uri: ${recorder.url}`,
      ].join('\n'),
    },
  ]);
  log = createBrokerLog({ databaseUrl: testEnv().databaseUrl, logger: silentLogger });
  broker = await startBroker({
    resources,
    log,
    logger: silentLogger,
    port: 0,
    resolver: { resolve: () => fnUrl },
  });
  publisher = createPublisher({
    url: broker.brokerUrl({ namespace, name: 'default' }),
    timeoutMs: 5000,
    retries: 2,
  });
  hooks = buildApp({
    logger: silentLogger,
    secrets: parseSecrets(secret),
    publisher,
    policies: { emailDomains: new EmailDomainPolicy({ allow: [], deny: ['blocked.test'], message: 'no' }) },
    deliveryTimeoutMs: 4000,
    publishBudgetMs: 4000,
    maxPendingEvents: 100,
    replayCacheSize: 1000,
  });
});

afterAll(async () => {
  await hooks?.app.close();
  await publisher?.close();
  await broker?.close();
  await log?.close();
  await fnHost?.close();
  await fn?.shutdown?.();
  await recorder.stop();
  await admin.query(`drop schema if exists ${outboxSchema} cascade`);
  await admin.end();
});

async function call(hook: string, payload: unknown) {
  const body = JSON.stringify(payload);
  const res = await hooks.app.inject({
    method: 'POST',
    url: `/hooks/${hook}`,
    headers: signedHeaders([secret], body),
    payload: body,
  });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

describe('auth-hooks with the real broker', () => {
  it('send-email: the event reaches send-auth-email through its Trigger, which queues the email', async () => {
    const p = payloads()['send-email'];
    expect(await call('send-email', p)).toEqual({ status: 200, body: {} });
    const rows = await waitFor(
      async () => {
        const r = await admin.query(
          `select recipient, user_id, action_type, link from ${outboxSchema}.email_outbox where event_id = $1`,
          [p.metadata.uuid],
        );
        return r.rowCount ? r.rows : undefined;
      },
      { timeoutMs: 30_000, message: 'the outbox row' },
    );
    expect(rows).toEqual([
      {
        recipient: p.user.email,
        user_id: p.user.id,
        action_type: 'signup',
        link: `http://localhost:9999/verify?token=${p.email_data.token_hash}&type=signup&redirect_to=http%3A%2F%2Flocalhost%3A3000%2F`,
      },
    ]);
  });

  it('every hook event passes the ingress (catalog validation) and is delivered with its type and id', async () => {
    const all = payloads();
    const blocked = payloads()['before-user-created'];
    blocked.user.email = 'x@blocked.test';
    const calls: [string, { metadata: { uuid: string } }][] = [
      ...Object.entries(all),
      ['before-user-created', blocked],
    ];
    for (const [hook, payload] of calls) expect((await call(hook, payload)).status).toBe(200);
    const types: Record<string, string> = {
      'custom-access-token': 'dev.tributary.auth.token.issued',
      'send-email': 'dev.tributary.auth.email.requested',
      'send-sms': 'dev.tributary.auth.sms.requested',
      'mfa-verification-attempt': 'dev.tributary.auth.mfa.attempted',
      'password-verification-attempt': 'dev.tributary.auth.password.attempted',
      'before-user-created': 'dev.tributary.auth.user.creating',
      'after-user-created': 'dev.tributary.auth.user.created',
    };
    for (const [hook, payload] of calls) {
      const event = await recorder.event(payload.metadata.uuid, 30_000);
      expect({ hook, type: event.type, source: event.source }).toEqual({
        hook,
        type: types[hook],
        source: '/auth',
      });
    }
  });
});
