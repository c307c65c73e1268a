import { resolve } from 'node:path';
import {
  createBrokerLog,
  deadLetterTokenSource,
  loadResources,
  startBroker,
  topicSettings,
} from '@tributary/eventing/broker';
import { createLogger, httpLimitsFromEnv, Lifecycle, setDefaultHttpLimits } from '@tributary/shared';
import { type Command, parseOptions, UsageError } from '../command.js';
import { backendOf, parseBrokerEnv } from '../env.js';

const usage = `usage: tributary broker --config <dir> [--port <n>]

Runs the broker ingress (POST /<namespace>/<broker>) and one dispatcher per Trigger for the Knative
Broker and Trigger YAML in <dir> (files or folders, read recursively; repeat --config for several).
It also answers \`tributary replay\` (POST /-/replay/<namespace>/<trigger>: moves one Trigger back; with
BROKER_JWT_SECRET only a service_role JWT may, without it only loopback clients).

Options:
  -c, --config <path>  folder or file of Broker/Trigger YAML (required)
  -p, --port <n>       ingress port (default: $PORT, else 8080; 0 = any free port)
  -h, --help           show this help

Environment:
  KAFKA_BROKERS        kafka backend (comma-separated host:port)
  DATABASE_URL         postgres backend, when KAFKA_BROKERS is unset
  BROKER_JWT_SECRET    require HS256 JWTs at the ingress (roles: BROKER_JWT_ROLES)
  BROKER_KAFKA_LINGER_MS  ms an idle Kafka producer waits to batch appends (default 5; 0 = none)
  HOST, LOG_LEVEL      bind address (default 127.0.0.1), log level (default info)

The ingress accepts events as soon as it listens; the dispatchers start meanwhile, retrying while Kafka or
Postgres is not reachable yet, and "broker ready" is logged once they run. Stops cleanly on SIGTERM/SIGINT:
the ingress closes, dispatchers commit their progress and leave their consumer groups.`;

export const brokerCommand: Command = {
  name: 'broker',
  summary: 'run the broker ingress and Trigger dispatchers for a folder of Knative YAML',
  usage,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      config: { type: 'string', short: 'c', multiple: true },
      port: { type: 'string', short: 'p' },
    });
    const configs = values.config ?? [];
    if (configs.length === 0) throw new UsageError('--config <dir> is required');
    let port: number | undefined;
    if (values.port !== undefined) {
      port = Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new UsageError(`invalid --port "${values.port}"`);
    }
    const env = parseBrokerEnv(io.env);
    setDefaultHttpLimits(httpLimitsFromEnv(env));
    const logger = createLogger({ name: 'tributary-broker', level: env.LOG_LEVEL });
    const resources = await loadResources(configs.map((c) => resolve(c)));
    const lifecycle = new Lifecycle(logger);
    const log = createBrokerLog({
      kafkaBrokers: env.KAFKA_BROKERS,
      databaseUrl: env.DATABASE_URL,
      logger,
      kafkaLingerMs: env.BROKER_KAFKA_LINGER_MS,
      ...topicSettings(resources),
    });
    lifecycle.add('log', () => log.close());
    let stop: ((code: number) => void) | undefined;
    let failed: Promise<void> | undefined;
    try {
      const broker = await startBroker({
        resources,
        log,
        logger,
        port: port ?? env.PORT,
        host: env.HOST,
        // Accept events as soon as the ingress listens; dispatchers join their groups meanwhile.
        waitForDispatchers: false,
        ...(env.BROKER_JWT_SECRET
          ? {
              auth: {
                jwtSecret: env.BROKER_JWT_SECRET,
                ...(env.BROKER_JWT_ROLES.length > 0 ? { allowedRoles: env.BROKER_JWT_ROLES } : {}),
              },
              // Dead letters go to the dashboard's sink with a token only dispatchers hold.
              deadLetterToken: deadLetterTokenSource(env.BROKER_JWT_SECRET),
            }
          : {}),
      });
      lifecycle.add('broker', () => broker.close());
      broker.ready.then(
        () => logger.info({ backend: backendOf(env), triggers: resources.triggers.length }, 'broker ready'),
        (err: unknown) => {
          logger.error({ err }, 'a trigger dispatcher cannot start');
          failed = lifecycle.shutdown('start failed').then(() => stop?.(1));
        },
      );
    } catch (err) {
      await lifecycle.shutdown('start failed');
      throw err;
    }
    return new Promise<number>((done) => {
      stop = done;
      if (failed) void failed.then(() => done(1));
      else lifecycle.installSignalHandlers((code) => done(code));
    });
  },
};
