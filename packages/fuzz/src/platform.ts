// Fuzz target (test support, run as its own process by fuzz.int.test.ts): the broker ingress, the dashboard
// (API and dead-letter sink) and a function host, on real Postgres, in one process whose RSS the suite
// watches. Configured by the test through FUZZ_* variables; prints one JSON line with its URLs when ready.
import { createDashboard } from '@tributary/dashboard';
import {
  createDeadLetterStore,
  createIngress,
  createPostgresLog,
  deadLetterTokenSource,
  knownBrokers,
  parseResources,
  replayRoutes,
} from '@tributary/eventing';
import { createFunctionHost } from '@tributary/function-runtime';
import {
  baseEnvShape,
  createLogger,
  httpLimitsFromEnv,
  parseEnv,
  setDefaultHttpLimits,
} from '@tributary/shared';
import { z } from 'zod';

const databaseUrl = process.env.FUZZ_DATABASE_URL as string;
const schema = process.env.FUZZ_SCHEMA as string;
const secret = process.env.FUZZ_JWT_SECRET as string;
const logger = createLogger({ name: 'fuzz-platform', level: process.env.FUZZ_LOG_LEVEL ?? 'silent' });

// HTTP_*_TIMEOUT_MS, as every service reads them.
setDefaultHttpLimits(httpLimitsFromEnv(parseEnv(z.object(baseEnvShape))));

const broker = { namespace: 'default', name: 'fuzz' };
const log = createPostgresLog({ databaseUrl, schema, logger, pollIntervalMs: 1000 });
await log.ensureBroker(broker);

const ingress = createIngress({
  log,
  brokers: knownBrokers([broker]),
  logger,
  auth: { jwtSecret: secret },
});
// The broker's operator endpoint for Trigger replay, on the same server as in `tributary broker`.
const { triggers } = parseResources([
  {
    file: 'fuzz.yaml',
    text: `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: fuzz, namespace: default }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: t, namespace: default }
spec: { broker: fuzz, subscriber: { uri: "http://127.0.0.1:9/" } }`,
  },
]);
ingress.register(replayRoutes, { log, triggers, auth: { jwtSecret: secret }, logger });
const ingressUrl = (await ingress.listen({ port: 0, host: '127.0.0.1' })).replace('[::1]', '127.0.0.1');
// The event sources (storage-events, auth-hooks) publish to an ingress without JWT auth, as in-cluster.
const sourcesIngress = createIngress({ log, brokers: knownBrokers([broker]), logger });
const sourcesUrl = (await sourcesIngress.listen({ port: 0, host: '127.0.0.1' })).replace(
  '[::1]',
  '127.0.0.1',
);

const store = createDeadLetterStore({
  databaseUrl,
  schema,
  logger,
  ingress: ingressUrl,
  token: await deadLetterTokenSource(secret)(),
});
const dashboard = await createDashboard({
  logger,
  auth: { mode: 'jwt', jwtSecret: secret },
  port: 0,
  log,
  deadLetters: store,
  intervalMs: 60_000,
});

const fn = createFunctionHost({
  name: 'fuzz',
  logger,
  fn: {
    schema: z.object({ total: z.number() }),
    // Never throws: any 5xx the fuzzer sees from this surface is the runtime's, not the function's.
    handle: () => undefined,
  },
});
const functionUrl = (await fn.listen({ port: 0, host: '127.0.0.1' })).replace('[::1]', '127.0.0.1');

process.stdout.write(
  `${JSON.stringify({ ingress: ingressUrl, sources: sourcesUrl, dashboard: dashboard.url, function: functionUrl, pid: process.pid })}\n`,
);

const stop = async () => {
  await Promise.allSettled([ingress.close(), sourcesIngress.close(), dashboard.close(), fn.close()]);
  await store.close();
  await log.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
