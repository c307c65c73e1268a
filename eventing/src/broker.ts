import { setTimeout as sleep } from 'node:timers/promises';
import { isRetriable, type Logger, TributaryError } from '@tributary/shared';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import type { Dispatcher } from 'undici';
import { TriggerDispatcher } from './dispatcher/dispatcher.js';
import { createHttpAgent } from './dispatcher/http.js';
import { createIngress, knownBrokers } from './ingress/app.js';
import type { JwtAuthOptions } from './ingress/auth.js';
import { createKafkaLog } from './log/kafka/kafka-log.js';
import { createPostgresLog } from './log/postgres/postgres-log.js';
import type { BrokerLog, BrokerRef } from './log/types.js';
import { dispatchMetrics } from './metrics/dispatch.js';
import { replayRoutes } from './replay/route.js';
import { loadResources } from './resources/load.js';
import { type DestinationResolver, noResolver, resolveDestination } from './resources/resolver.js';
import type { LoadedResources, TriggerResource } from './resources/types.js';

/**
 * A broker process: the ingress and one dispatcher per Trigger for a folder of Knative YAML, over one
 * log backend. Start order: resources are loaded and every destination resolved (so a bad folder fails
 * before anything runs), the ingress listens, then the brokers' storage is ensured and the dispatchers
 * start. Accepting events does not wait for the dispatchers: after a crash on Kafka a consumer group only
 * rebalances once the dead member's session times out, and the ingress needs none of that. Retriable
 * start-up errors (Kafka or Postgres not reachable yet, a topic's leader not elected yet) are retried with
 * backoff until the broker closes. `close()` stops in reverse: ingress first (no new events), then
 * dispatchers (commit progress, leave their consumer groups). The log belongs to the caller, who closes it.
 */
export interface StartBrokerOptions {
  /** Folder(s) or file(s) of Broker/Trigger YAML; or give `resources`. */
  configDir?: string | string[];
  resources?: LoadedResources;
  log: BrokerLog;
  logger: Logger;
  /** Ingress port (default 8080; 0 picks a free one). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Resolves `subscriber.ref` / `deadLetterSink.ref`; the default refuses refs. */
  resolver?: DestinationResolver;
  registry?: Registry;
  /** JWT auth at the ingress (BROKER_JWT_SECRET). */
  auth?: JwtAuthOptions;
  /**
   * Bearer token the dispatchers send to dead-letter sinks, e.g. `deadLetterTokenSource(BROKER_JWT_SECRET)`:
   * the dashboard's sink takes only such callers.
   */
  deadLetterToken?: () => Promise<string>;
  /** Per-dispatcher tuning. */
  dispatch?: { maxInFlight?: number; lagIntervalMs?: number; closeGraceMs?: number };
  /**
   * Resolve only once every dispatcher runs (default true, what tests want: a `latest` Trigger then sees
   * every event published after). `false` resolves as soon as the ingress listens; see `ready`.
   */
  waitForDispatchers?: boolean;
}

export interface RunningBroker {
  /** Base URL of the ingress, e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  app: FastifyInstance;
  resources: LoadedResources;
  dispatchers: TriggerDispatcher[];
  /** Resolves once every dispatcher runs; rejects if one cannot start (a non-retriable error). */
  ready: Promise<void>;
  registry: Registry;
  /** Ingress URL of one broker: `<url>/<namespace>/<name>`. */
  brokerUrl(ref: BrokerRef): string;
  close(): Promise<void>;
}

export async function startBroker(options: StartBrokerOptions): Promise<RunningBroker> {
  const logger = options.logger;
  const resources =
    options.resources ??
    (options.configDir !== undefined
      ? await loadResources(options.configDir)
      : (() => {
          throw new TributaryError('startBroker needs configDir or resources', { code: 'CONFIG_INVALID' });
        })());
  for (const w of resources.warnings) logger.warn(w);
  const registry = options.registry ?? new Registry();
  const metrics = dispatchMetrics(registry);
  const resolver = options.resolver ?? noResolver;

  const plans = await planTriggers(resources.triggers, resolver);

  const brokers: BrokerRef[] = resources.brokers.map((b) => ({ namespace: b.namespace, name: b.name }));
  const app = createIngress({
    log: options.log,
    brokers: knownBrokers(brokers),
    logger,
    registry,
    ...(options.auth ? { auth: options.auth } : {}),
  });
  // POST /-/replay/<namespace>/<trigger>: operators move a Trigger back (see replay/route.ts).
  app.register(replayRoutes, { log: options.log, triggers: resources.triggers, auth: options.auth, logger });
  const address = await app.listen({ port: options.port ?? 8080, host: options.host ?? '127.0.0.1' });

  const port = (app.server.address() as { port: number }).port;
  const url = address.replace('[::1]', 'localhost');
  logger.info(
    {
      url,
      brokers: brokers.map((b) => `${b.namespace}/${b.name}`),
      triggers: plans.length,
      backend: options.log.kind,
    },
    `broker listening on ${url}`,
  );

  const { dispatchers, ready, stop: stopDispatchers } = startDispatchers(options, brokers, plans, metrics);
  if (options.waitForDispatchers ?? true) {
    try {
      await ready;
    } catch (err) {
      await app.close();
      await stopDispatchers();
      throw err;
    }
  }
  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    app,
    resources,
    dispatchers,
    ready,
    registry,
    brokerUrl: (ref) => `${url}/${ref.namespace}/${ref.name}`,
    close() {
      closed ??= (async () => {
        await app.close();
        await stopDispatchers();
      })();
      return closed;
    },
  };
}

/** A Trigger with its subscriber and dead-letter sink resolved to URLs. */
interface TriggerPlan {
  trigger: TriggerResource;
  subscriberUrl: string;
  deadLetterUrl: string | undefined;
}

async function planTriggers(
  triggers: readonly TriggerResource[],
  resolver: DestinationResolver,
): Promise<TriggerPlan[]> {
  const plans: TriggerPlan[] = [];
  for (const t of triggers) {
    plans.push({
      trigger: t,
      subscriberUrl: await resolveDestination(t.subscriber, t.namespace, resolver),
      deadLetterUrl: t.delivery.deadLetterSink
        ? await resolveDestination(t.delivery.deadLetterSink, t.namespace, resolver)
        : undefined,
    });
  }
  return plans;
}

/**
 * Ensures the brokers' storage, then starts one dispatcher per Trigger (each step retried while the log is
 * unreachable). `ready` resolves once all run; `stop` stops them (also while they are still starting).
 */
function startDispatchers(
  options: StartBrokerOptions,
  brokers: readonly BrokerRef[],
  plans: readonly TriggerPlan[],
  metrics: ReturnType<typeof dispatchMetrics>,
): { dispatchers: TriggerDispatcher[]; ready: Promise<void>; stop: () => Promise<void> } {
  const logger = options.logger;
  const agent: Dispatcher = createHttpAgent();
  const dispatchers: TriggerDispatcher[] = [];
  const stopping = new AbortController();
  const retry = <T>(what: string, step: () => Promise<T>) =>
    retryStartup(what, step, logger, stopping.signal);
  const ready = (async () => {
    for (const b of brokers)
      await retry(`ensure broker ${b.namespace}/${b.name}`, () => options.log.ensureBroker(b));
    const started = await Promise.allSettled(
      plans.map(async (p) => {
        const d = new TriggerDispatcher({
          log: options.log,
          broker: { namespace: p.trigger.namespace, name: p.trigger.broker },
          trigger: dispatcherTrigger(p.trigger),
          subscriberUrl: p.subscriberUrl,
          deadLetterUrl: p.deadLetterUrl,
          deadLetterToken: options.deadLetterToken,
          logger,
          metrics,
          agent,
          ...options.dispatch,
        });
        await retry(`start trigger ${p.trigger.namespace}/${p.trigger.name}`, () => d.start());
        dispatchers.push(d);
      }),
    );
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  })();
  ready.catch(() => {}); // reported to whoever awaits it
  const stop = async () => {
    stopping.abort();
    await ready.catch(() => {});
    await Promise.allSettled(dispatchers.map((d) => d.close()));
    await agent.close();
  };
  return { dispatchers, ready, stop };
}

/**
 * Runs one start-up step, retrying retriable errors with backoff (250 ms doubling to 5 s) until it succeeds
 * or the broker stops; a non-retriable error fails at once.
 */
async function retryStartup<T>(
  what: string,
  step: () => Promise<T>,
  logger: Logger,
  signal: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted)
      throw new TributaryError(`broker stopped before it could ${what}`, { code: 'NOT_READY' });
    try {
      return await step();
    } catch (err) {
      if (!isRetriable(err) || signal.aborted) throw err;
      const delay = Math.min(5000, 250 * 2 ** (attempt - 1));
      logger.warn({ err, attempt, retryInMs: delay }, `could not ${what}; retrying`);
      await sleep(delay, undefined, { signal }).catch(() => {});
    }
  }
}

/** The dispatcher's view of a loaded Trigger. */
export function dispatcherTrigger(t: TriggerResource) {
  return {
    namespace: t.namespace,
    name: t.name,
    groupId: t.groupId,
    initialOffset: t.initialOffset,
    deliveryOrder: t.deliveryOrder,
    delivery: t.delivery,
    predicate: t.filter.predicate,
  };
}

export interface BrokerLogConfig {
  /** KAFKA_BROKERS: chooses the kafka backend when set. */
  kafkaBrokers?: string[] | undefined;
  /** DATABASE_URL: the postgres backend, when no Kafka is configured. */
  databaseUrl?: string | undefined;
  logger: Logger;
  registry?: Registry | undefined;
  /** Topic layout from the Broker's `kafka-broker-config` ConfigMap. */
  partitions?: number | undefined;
  replicationFactor?: number | undefined;
  /** BROKER_KAFKA_LINGER_MS: how long an append waits for others to share its produce request. */
  kafkaLingerMs?: number | undefined;
}

/** The log backend DESIGN.md §4 prescribes: kafka when KAFKA_BROKERS is set, else postgres. */
export function createBrokerLog(config: BrokerLogConfig): BrokerLog {
  if (config.kafkaBrokers && config.kafkaBrokers.length > 0) {
    return createKafkaLog({
      brokers: config.kafkaBrokers,
      logger: config.logger,
      ...(config.registry ? { registry: config.registry } : {}),
      ...(config.partitions ? { partitions: config.partitions } : {}),
      ...(config.replicationFactor ? { replicationFactor: config.replicationFactor } : {}),
      ...(config.kafkaLingerMs !== undefined ? { lingerMs: config.kafkaLingerMs } : {}),
    });
  }
  if (config.databaseUrl) {
    return createPostgresLog({
      databaseUrl: config.databaseUrl,
      logger: config.logger,
      ...(config.registry ? { registry: config.registry } : {}),
    });
  }
  throw new TributaryError('no broker backend: set KAFKA_BROKERS (kafka) or DATABASE_URL (postgres)', {
    code: 'CONFIG_INVALID',
  });
}

/** Kafka topic settings for a folder: the first Broker's ConfigMap values. */
export function topicSettings(resources: LoadedResources): {
  partitions?: number;
  replicationFactor?: number;
} {
  const cfg = resources.brokers.find((b) => b.config.partitions || b.config.replicationFactor)?.config ?? {};
  return {
    ...(cfg.partitions ? { partitions: cfg.partitions } : {}),
    ...(cfg.replicationFactor ? { replicationFactor: cfg.replicationFactor } : {}),
  };
}
