// The broker's replay endpoint (POST /-/replay/<namespace>/<trigger>) on a running broker over the real
// Postgres log: operator auth, client errors that say what is wrong, dry run, and the replay itself.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createCloudEvent, createLogger } from '@tributary/shared';
import { testEnv, uniqueName, uniqueSchema, waitFor } from '@tributary/testing';
import { SignJWT } from 'jose';
import { type RunningBroker, startBroker } from '../broker.js';
import { startSubscriber, type TestSubscriber } from '../dispatcher/test-subscriber.js';
import { createPostgresLog, type PostgresBrokerLog } from '../log/postgres/postgres-log.js';
import { parseResources } from '../resources/load.js';
import type { ReplayResponse } from './route.js';

jest.setTimeout(90_000);

const logger = createLogger({ name: 'replay-route-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const SECRET = 'replay-route-test-secret-of-at-least-32-bytes';
const token = (role: string) =>
  new SignJWT({ role })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(SECRET));

describe('broker replay endpoint', () => {
  let log: PostgresBrokerLog;
  let broker: RunningBroker;
  let sub: TestSubscriber;
  const name = uniqueName('rr').replace(/_/g, '-');

  beforeAll(async () => {
    log = createPostgresLog({
      databaseUrl: testEnv().databaseUrl,
      schema: uniqueSchema('replay_route'),
      logger,
      pollIntervalMs: 250,
    });
    sub = await startSubscriber();
    const text = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: ${name}, namespace: ns }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: t
  namespace: ns
  annotations: { tributary.dev/initial-offset: earliest }
spec:
  broker: ${name}
  subscriber: { uri: "${sub.url}" }`;
    broker = await startBroker({
      resources: parseResources([{ file: 'r.yaml', text }]),
      log,
      logger,
      port: 0,
      auth: { jwtSecret: SECRET },
      dispatch: { lagIntervalMs: 0 },
    });
    await log.append(
      { namespace: 'ns', name },
      [1, 2, 3].map((i) => createCloudEvent({ type: 'dev.tributary.test', source: '/r', id: `e${i}` })),
    );
    await sub.waitFor(3);
  });
  afterAll(async () => {
    await broker.close();
    await sub.close();
    await log.close();
  });

  const post = async (path: string, body: unknown, role: string | null = 'service_role') =>
    broker.app.inject({
      method: 'POST',
      url: path,
      headers: role ? { authorization: `Bearer ${await token(role)}` } : {},
      payload: body as object,
    });

  it('needs an operator token', async () => {
    const none = await post('/-/replay/ns/t', { from: 'earliest' }, null);
    expect(none.statusCode).toBe(401);
    const publisher = await post('/-/replay/ns/t', { from: 'earliest' }, 'authenticated');
    expect(publisher.statusCode).toBe(403);
    expect(publisher.json().message).toMatch(/service_role/);
  });

  it('says what is wrong with a request', async () => {
    const unknown = await post('/-/replay/ns/nope', { from: 'earliest' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'TRIGGER_NOT_FOUND' });
    expect(unknown.json().message).toContain('ns/t');
    const badTime = await post('/-/replay/ns/t', { from: 'yesterday' });
    expect(badTime.statusCode).toBe(400);
    expect(badTime.json().message).toMatch(/RFC 3339/);
    const badDry = await post('/-/replay/ns/t', { from: 'earliest', dryRun: 'yes' });
    expect(badDry.statusCode).toBe(400);
  });

  it('previews, then replays', async () => {
    // The dispatcher commits a delivered event's position just after the subscriber's reply: wait for the third.
    const dry = await waitFor(
      async () => {
        const res = await post('/-/replay/ns/t', { from: 'earliest', dryRun: true });
        return res.statusCode !== 200 || (res.json() as ReplayResponse).events === 3 ? res : undefined;
      },
      { message: 'the third position committed' },
    );
    expect(dry.statusCode).toBe(200);
    const plan = dry.json() as ReplayResponse;
    expect(plan).toMatchObject({ trigger: 'ns/t', broker: `ns/${name}`, dryRun: true, applied: 'none' });
    expect(plan.events).toBe(3);
    expect(plan.partitions).toEqual([{ partition: 0, current: '3', target: '0', events: 3 }]);
    const done = await post('/-/replay/ns/t', { from: 'earliest' });
    expect(done.statusCode).toBe(200);
    expect((done.json() as ReplayResponse).applied).toBe('offsets');
    const again = await sub.waitFor(6);
    expect(
      again
        .slice(3)
        .map((r) => r.event.id)
        .sort(),
    ).toEqual(['e1', 'e2', 'e3']);
  });
});
