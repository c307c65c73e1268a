// Starts auth-hooks: Supabase Auth hooks -> answers + CloudEvents (README.md). Only starts; see app.ts.
import { createLogger, createPublisher, Lifecycle, listen, loadServiceEnv } from '@tributary/shared';
import { buildApp, createPoliciesFromEnv } from './app.js';
import { loadEnv } from './env.js';

const env = loadServiceEnv(
  'auth-hooks',
  'usage: node services/auth-hooks/dist/index.js\n\nAnswers Supabase Auth hooks (POST /hooks/<hook>) and publishes each call as a CloudEvent.\nConfigured by environment variables only: AUTH_HOOK_SECRETS, K_SINK, DATABASE_URL, AUTH_HOOKS_* (services/auth-hooks/README.md).',
  loadEnv,
);
const logger = createLogger({ name: 'auth-hooks', level: env.LOG_LEVEL });
const lifecycle = new Lifecycle(logger);
lifecycle.installSignalHandlers();

try {
  const publisher = createPublisher({
    url: env.K_SINK,
    ...(env.AUTH_HOOKS_BROKER_TOKEN ? { token: env.AUTH_HOOKS_BROKER_TOKEN } : {}),
    mode: 'binary',
    // One quick retry (e.g. a reset keep-alive connection) inside the delivery deadline; longer outages are
    // retried by Auth (send-email/sms answer 503) or by the background queue (other hooks).
    timeoutMs: env.AUTH_HOOKS_DELIVERY_TIMEOUT_MS,
    retries: 1,
    minBackoffMs: 50,
    logger: logger.child({ component: 'publisher' }),
  });
  lifecycle.add('publisher', () => publisher.close());

  const policies = await createPoliciesFromEnv(env, logger);
  lifecycle.add('policies', () => policies.close());

  const { app, sink } = buildApp({
    logger,
    secrets: env.AUTH_HOOK_SECRETS,
    publisher,
    policies: policies.policies,
    deliveryTimeoutMs: env.AUTH_HOOKS_DELIVERY_TIMEOUT_MS,
    publishBudgetMs: env.AUTH_HOOKS_PUBLISH_BUDGET_MS,
    maxPendingEvents: env.AUTH_HOOKS_PUBLISH_MAX_PENDING,
    replayCacheSize: env.AUTH_HOOKS_REPLAY_CACHE_SIZE,
  });
  // Closed after the HTTP server stopped taking requests: background events get a few seconds to land.
  lifecycle.add('events', () => sink.drain(5000));
  const address = await listen(app, { port: env.PORT, host: env.HOST, lifecycle });
  logger.info(
    {
      address,
      sink: env.K_SINK,
      secrets: env.AUTH_HOOK_SECRETS.length,
      claims: Boolean(policies.policies.claims),
      passwordLockout: Boolean(policies.policies.passwordLockout),
      emailDomains: policies.policies.emailDomains.enabled,
    },
    'auth-hooks listening',
  );
} catch (err) {
  logger.fatal({ err }, 'auth-hooks failed to start');
  await lifecycle.shutdown('start failed');
  process.exit(1);
}
