import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { buildApp } from './app.js';
import { EmailDomainPolicy } from './policies/index.js';
import { parseSecrets } from './signature.js';
import {
  newSecret,
  payloads,
  publisherFor,
  REQUIRED_CLAIMS,
  RecordingBroker,
  signedHeaders,
  silentLogger,
} from './testing/fixtures.js';

// Events are captured by a local HTTP server recording CloudEvents (eventing's ingress is not committed
// yet); requests are signed for real with the `standardwebhooks` package.

const current = newSecret();
const previous = newSecret();
const broker = new RecordingBroker();
let publisher: ReturnType<typeof publisherFor>;

function makeApp(
  opts: { deliveryTimeoutMs?: number; publishBudgetMs?: number; replayCacheSize?: number } = {},
) {
  return buildApp({
    logger: silentLogger,
    secrets: parseSecrets(`${current} | ${previous}`),
    publisher,
    policies: {
      emailDomains: new EmailDomainPolicy({
        allow: ['example.com', '*.example.org'],
        deny: ['spam.example.com'],
        message: 'Only example.com sign-ups.',
      }),
    },
    deliveryTimeoutMs: opts.deliveryTimeoutMs ?? 2000,
    publishBudgetMs: opts.publishBudgetMs ?? 2000,
    maxPendingEvents: 100,
    replayCacheSize: opts.replayCacheSize ?? 1000,
  });
}

let h: ReturnType<typeof makeApp>;

async function call(hook: string, payload: unknown, headers?: Record<string, string>, rawBody?: string) {
  const body = rawBody ?? JSON.stringify(payload);
  const res = await h.app.inject({
    method: 'POST',
    url: `/hooks/${hook}`,
    headers: headers ?? signedHeaders([current], body),
    payload: body,
  });
  return { status: res.statusCode, body: res.json() as Record<string, unknown>, headers: res.headers };
}

async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = await h.app.metrics.getSingleMetric(name)?.get();
  const v = metric?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

beforeAll(async () => {
  await broker.start();
  publisher = publisherFor(broker.url);
});
afterAll(async () => {
  await publisher.close();
  await broker.stop();
});
beforeEach(async () => {
  broker.behaviour = 'accept';
  h = makeApp();
  await h.app.ready();
});
afterEach(async () => {
  await h.app.close();
  // Stops background retries for events the tests left hanging.
  await h.sink.drain(50);
});

describe('hook answers and events', () => {
  it('custom-access-token answers { claims } with the full required set and publishes token.issued', async () => {
    const p = payloads()['custom-access-token'];
    const res = await call('custom-access-token', p);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['claims']);
    const claims = res.body.claims as Record<string, unknown>;
    for (const c of REQUIRED_CLAIMS) expect(claims).toHaveProperty(c);
    expect(claims).toEqual(p.claims);
    const event = await broker.event(p.metadata.uuid);
    expect(event.type).toBe('dev.tributary.auth.token.issued');
    expect(event.source).toBe('/auth');
    expect(event.subject).toBe(p.user_id);
    expect(event.time).toBe(new Date(p.metadata.time).toISOString());
    expect(event.data).toMatchObject({ user_id: p.user_id, authentication_method: 'password' });
  });

  it('answers 400 to a signed body nested deeper than 256 levels', async () => {
    const body = `{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    const r = await call('send-email', undefined, undefined, body);
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toMatch(/nested more than 256/);
  });

  it('send-email answers {} only after the broker has email.requested', async () => {
    const p = payloads()['send-email'];
    const res = await call('send-email', p);
    expect(res).toMatchObject({ status: 200, body: {} });
    // Already recorded when the answer came: the broker accepted it before we answered.
    const event = broker.events.find((e) => e.id === p.metadata.uuid);
    expect(event?.type).toBe('dev.tributary.auth.email.requested');
    expect(event?.subject).toBe(p.user.id);
    expect(event?.data).toEqual(p);
    expect(event?.datacontenttype).toBe('application/json');
  });

  it('regression (fuzz): a signed payload that cannot become a valid event is a 400, not a 503 retried for ever', async () => {
    const p = payloads()['send-email'];
    for (const id of ['a\u0000b', '\ud800', 'k'.repeat(20_000)]) {
      const res = await call('send-email', { ...p, user: { ...p.user, id } });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toMatch(/cannot be published/);
    }
  });

  it('send-sms answers {} after the broker has sms.requested', async () => {
    const p = payloads()['send-sms'];
    const res = await call('send-sms', p);
    expect(res).toMatchObject({ status: 200, body: {} });
    const event = broker.events.find((e) => e.id === p.metadata.uuid);
    expect(event?.type).toBe('dev.tributary.auth.sms.requested');
    expect(event?.subject).toBe(p.user.id);
    expect(event?.data).toMatchObject({ sms: { otp: '561166' } });
  });

  it('mfa-verification-attempt answers a decision and publishes mfa.attempted', async () => {
    const p = payloads()['mfa-verification-attempt'];
    const res = await call('mfa-verification-attempt', p);
    expect(res).toMatchObject({ status: 200, body: { decision: 'continue' } });
    const event = await broker.event(p.metadata.uuid);
    expect(event.type).toBe('dev.tributary.auth.mfa.attempted');
    expect(event.subject).toBe(p.user_id);
    expect(event.data).toMatchObject({ factor_type: 'totp', valid: true, result: { decision: 'continue' } });
  });

  it('password-verification-attempt answers decision + should_logout_user and publishes password.attempted', async () => {
    const p = payloads()['password-verification-attempt'];
    const res = await call('password-verification-attempt', p);
    expect(res).toMatchObject({ status: 200, body: { decision: 'continue', should_logout_user: false } });
    const event = await broker.event(p.metadata.uuid);
    expect(event.type).toBe('dev.tributary.auth.password.attempted');
    expect(event.subject).toBe(p.user_id);
  });

  it('before-user-created answers {} for an allowed domain and publishes user.creating', async () => {
    const p = payloads()['before-user-created'];
    const res = await call('before-user-created', p);
    expect(res).toMatchObject({ status: 200, body: {} });
    const event = await broker.event(p.metadata.uuid);
    expect(event.type).toBe('dev.tributary.auth.user.creating');
    expect(event.subject).toBe(p.user.id);
    expect(event.data).toMatchObject({ result: { decision: 'continue' } });
  });

  it('before-user-created rejects a denied or unlisted domain with the error body (200, http_code 403)', async () => {
    for (const email of ['eve@spam.example.com', 'eve@elsewhere.net']) {
      const p = payloads()['before-user-created'];
      p.user.email = email;
      const res = await call('before-user-created', p);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ error: { http_code: 403, message: 'Only example.com sign-ups.' } });
      const event = await broker.event(p.metadata.uuid);
      expect(event.data).toMatchObject({ result: { decision: 'reject' } });
    }
    const sub = payloads()['before-user-created'];
    sub.user.email = 'ok@eu.example.org';
    expect((await call('before-user-created', sub)).body).toEqual({});
  });

  it('after-user-created answers {} and publishes user.created', async () => {
    const p = payloads()['after-user-created'];
    const res = await call('after-user-created', p);
    expect(res).toMatchObject({ status: 200, body: {} });
    const event = await broker.event(p.metadata.uuid);
    expect(event.type).toBe('dev.tributary.auth.user.created');
    expect(event.subject).toBe(p.user.id);
    expect(event.data).toEqual(p);
  });

  it('gives a payload without metadata.uuid a deterministic id, the same on each Auth retry', async () => {
    const { metadata: _m, ...p } = payloads()['after-user-created'];
    const body = JSON.stringify(p);
    const first = await call('after-user-created', p, signedHeaders([current], body), body);
    const retry = await call('after-user-created', p, signedHeaders([current], body), body);
    expect(first.status).toBe(200);
    expect(retry.status).toBe(200);
    const ids = broker.events.filter((e) => (e.data as { user?: { id?: string } }).user?.id === p.user.id);
    expect(ids).toHaveLength(2);
    expect(ids[0]!.id).toMatch(/^sha256-[0-9a-f]{64}$/);
    expect(ids[1]!.id).toBe(ids[0]!.id);
  });

  it('counts calls by hook and outcome', async () => {
    await call('after-user-created', payloads()['after-user-created']);
    expect(await metricValue('auth_hooks_calls_total', { hook: 'after-user-created', outcome: 'ok' })).toBe(
      1,
    );
    const durations = await h.app.metrics.getSingleMetric('auth_hooks_duration_seconds')?.get();
    expect(durations?.values.some((v) => v.labels.hook === 'after-user-created')).toBe(true);
  });
});

describe('signatures', () => {
  it('accepts either rotated secret, and several signatures joined by ", ", "," or " "', async () => {
    for (const secrets of [[current], [previous], [newSecret(), previous], [newSecret(), current]]) {
      for (const joiner of [', ', ',', ' ']) {
        const p = payloads()['after-user-created'];
        const body = JSON.stringify(p);
        const res = await call('after-user-created', p, signedHeaders(secrets, body, { joiner }), body);
        expect(res.status).toBe(200);
      }
    }
  });

  it('refuses a tampered body, a wrong secret, stale/future timestamps and missing headers with 401', async () => {
    const p = payloads()['send-email'];
    const body = JSON.stringify(p);
    const now = Math.floor(Date.now() / 1000);
    const tampered = body.replace('305805', '305806');
    const cases: [string, Record<string, string>, string, string][] = [
      ['tampered body', signedHeaders([current], body), tampered, 'no_matching_signature'],
      ['wrong secret', signedHeaders([newSecret()], body), body, 'no_matching_signature'],
      [
        'stale timestamp',
        signedHeaders([current], body, { timestamp: now - 6 * 60 }),
        body,
        'stale_timestamp',
      ],
      [
        'future timestamp',
        signedHeaders([current], body, { timestamp: now + 6 * 60 }),
        body,
        'future_timestamp',
      ],
      [
        'garbage timestamp',
        { ...signedHeaders([current], body), 'webhook-timestamp': 'soon' },
        body,
        'invalid_timestamp',
      ],
      [
        'no signature',
        { ...signedHeaders([current], body), 'webhook-signature': 'v2,abc' },
        body,
        'no_matching_signature',
      ],
    ];
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const headers = signedHeaders([current], body);
      delete headers[name];
      cases.push([`missing ${name}`, headers, body, 'missing_headers']);
    }
    for (const [name, headers, sent, reason] of cases) {
      const before = await metricValue('auth_hooks_signature_failures_total', { reason });
      const res = await call('send-email', p, headers, sent);
      expect({ name, status: res.status }).toEqual({ name, status: 401 });
      expect(res.body).toEqual({ error: { http_code: 401, message: expect.any(String) } });
      expect(await metricValue('auth_hooks_signature_failures_total', { reason })).toBe(before + 1);
    }
    expect(broker.events.some((e) => e.id === p.metadata.uuid)).toBe(false);
    expect(await metricValue('auth_hooks_calls_total', { hook: 'send-email', outcome: 'unauthorized' })).toBe(
      cases.length,
    );
  });

  it('refuses a replayed webhook-id with 401', async () => {
    const p = payloads()['password-verification-attempt'];
    const body = JSON.stringify(p);
    const headers = signedHeaders([current], body);
    expect((await call('password-verification-attempt', p, headers, body)).status).toBe(200);
    const replay = await call('password-verification-attempt', p, headers, body);
    expect(replay.status).toBe(401);
    expect(replay.body).toEqual({ error: { http_code: 401, message: 'webhook-id was already used' } });
    expect(await metricValue('auth_hooks_signature_failures_total', { reason: 'replayed' })).toBe(1);
  });
});

describe('bad payloads and an unavailable broker', () => {
  it('answers 400 with the error body for signed non-JSON and for a wrong shape', async () => {
    const notJson = '{"user": ';
    const res = await call('after-user-created', undefined, signedHeaders([current], notJson), notJson);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { http_code: 400, message: 'request body is not valid JSON' } });

    const wrong = JSON.stringify({ metadata: { uuid: 'x' }, user_id: 'u', claims: { sub: 'u' } });
    const res2 = await call('custom-access-token', undefined, signedHeaders([current], wrong), wrong);
    expect(res2.status).toBe(400);
    expect((res2.body.error as { message: string }).message).toMatch(
      /^invalid custom-access-token payload: claims\.aud/,
    );

    const arr = '[]';
    expect((await call('send-sms', undefined, signedHeaders([current], arr), arr)).status).toBe(400);
  });

  it('send-email answers 503 + Retry-After when the broker is down, 400 when it refuses the event as invalid', async () => {
    broker.behaviour = 'unavailable';
    const res = await call('send-email', payloads()['send-email']);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body).toEqual({ error: { http_code: 503, message: expect.any(String) } });
    expect(await metricValue('auth_hooks_calls_total', { hook: 'send-email', outcome: 'unavailable' })).toBe(
      1,
    );
    // A 400 from the broker is about the event: retrying the same call cannot help (issue 15).
    broker.behaviour = 'reject';
    const refused = await call('send-email', payloads()['send-email']);
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      error: { http_code: 400, message: expect.stringContaining('cannot be published') },
    });
  });

  it('send-sms answers 503 when the broker does not answer within the delivery deadline', async () => {
    h = makeApp({ deliveryTimeoutMs: 100 });
    broker.behaviour = 'hang';
    const res = await call('send-sms', payloads()['send-sms']);
    expect(res.status).toBe(503);
  });

  it('other hooks still answer when the broker hangs: publishing continues in the background', async () => {
    h = makeApp({ publishBudgetMs: 20 });
    broker.behaviour = 'hang';
    const p = payloads()['after-user-created'];
    const res = await call('after-user-created', p);
    expect(res).toMatchObject({ status: 200, body: {} });
    expect(h.sink.pendingCount).toBe(1);
  });

  it('answers 404 with the error body for an unknown hook', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/hooks/nope', payload: '{}' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { http_code: 404, message: 'no hook at POST /hooks/nope' } });
  });
});
