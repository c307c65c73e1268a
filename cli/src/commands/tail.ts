import { resolve } from 'node:path';
import {
  type BrokerRef,
  compileTailFilter,
  createBrokerLog,
  loadResources,
  TailFilterError,
  tailEvents,
  topicSettings,
} from '@tributary/eventing';
import { type CloudEvent, createLogger, redactUrl, toJsonFormat } from '@tributary/shared';
import { type Command, parseOptions, UsageError } from '../command.js';

/** The Postgres `tributary dev` runs (it prints this URL when it starts); the log used when no env is set. */
export const DEV_DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:54322/tributary';

const usage = `usage: tributary tail [--filter <cesql>] [--from earliest|latest] [--broker <namespace>/<name>]
                      [--config <dir>] [--json] [--count <n>]

Follows the events of a broker as they are appended to its log, like \`kubectl logs -f\`: one line per
event (time, type, source, subject, id), or the whole event as JSON with --json. Reads through an
ephemeral consumer group that commits nothing, so no Trigger's position moves; Ctrl-C stops it.

Options:
  -f, --filter <cesql>   only events for which this CESQL v1 expression is true,
                         e.g. "type LIKE 'dev.tributary.db.%' AND table = 'users'"
      --from <where>     latest (default: events appended from now on) or earliest (the stored log first)
  -b, --broker <ns/name> the broker to follow (default: default/default; a bare name means default/<name>)
  -c, --config <dir>     Broker YAML (repeatable): checks the broker exists and uses its Kafka topic layout
      --json             print each event in the CloudEvents JSON format, one per line
  -n, --count <n>        stop after <n> events
  -h, --help             show this help

Environment:
  KAFKA_BROKERS          follow the Kafka log (topic knative-broker-<namespace>-<name>)
  DATABASE_URL           else follow the Postgres log (default: the Postgres of \`tributary dev\`,
                         ${DEV_DATABASE_URL})

Examples:
  tributary tail
  tributary tail --filter "source LIKE '/storage/%'" --from earliest --json`;

export const tailCommand: Command = {
  name: 'tail',
  summary: 'follow the events of a broker live, optionally filtered with CESQL',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseOptions(argv, {
      filter: { type: 'string', short: 'f' },
      from: { type: 'string' },
      broker: { type: 'string', short: 'b' },
      config: { type: 'string', short: 'c', multiple: true },
      json: { type: 'boolean' },
      count: { type: 'string', short: 'n' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const from = values.from ?? 'latest';
    if (from !== 'latest' && from !== 'earliest')
      throw new UsageError(`--from takes "earliest" or "latest", got "${from}"`);
    const broker = parseBrokerRef(values.broker ?? 'default/default');
    let count: number | undefined;
    if (values.count !== undefined) {
      count = Number(values.count);
      if (!Number.isInteger(count) || count < 1) throw new UsageError(`invalid --count "${values.count}"`);
    }
    // An invalid filter is reported before anything connects (exit 2, with the caret excerpt).
    try {
      compileTailFilter(values.filter);
    } catch (err) {
      if (err instanceof TailFilterError) {
        io.stderr(`tributary tail: ${err.message}`);
        return 2;
      }
      throw err;
    }

    let topic: ReturnType<typeof topicSettings> = {};
    if (values.config) {
      const resources = await loadResources(values.config.map((c) => resolve(c)));
      const known = resources.brokers.map((b) => `${b.namespace}/${b.name}`);
      if (!known.includes(`${broker.namespace}/${broker.name}`)) {
        io.stderr(
          `tributary tail: no Broker ${broker.namespace}/${broker.name} in ${values.config.join(', ')}` +
            (known.length ? ` (known: ${known.join(', ')})` : ''),
        );
        return 1;
      }
      topic = topicSettings(resources);
    }

    const kafkaBrokers = (io.env.KAFKA_BROKERS ?? '')
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean);
    const databaseUrl = io.env.DATABASE_URL || DEV_DATABASE_URL;
    const backend = kafkaBrokers.length > 0 ? 'kafka' : 'postgres';
    const logger = createLogger({ name: 'tributary-tail', level: io.env.LOG_LEVEL ?? 'warn' });
    const log = createBrokerLog({ kafkaBrokers, databaseUrl, logger, ...topic });

    const ac = new AbortController();
    const onSignal = () => ac.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      let events: AsyncIterableIterator<CloudEvent<unknown>>;
      try {
        events = await tailEvents({ log, broker, filter: values.filter, from, signal: ac.signal });
      } catch (err) {
        if (!isConnectionRefused(err)) throw err;
        io.stderr(
          `tributary tail: cannot reach the ${backend} log at ` +
            `${backend === 'kafka' ? kafkaBrokers.join(',') : redactUrl(databaseUrl)}: is \`tributary dev\` running?` +
            ' (set KAFKA_BROKERS or DATABASE_URL to follow another broker log)',
        );
        return 1;
      }
      io.stderr(
        `tributary tail: following ${broker.namespace}/${broker.name} on the ${backend} log` +
          ` (${backend === 'kafka' ? kafkaBrokers.join(',') : redactUrl(databaseUrl)}), from ${from}` +
          `${values.filter ? `, filter: ${values.filter}` : ''}; Ctrl-C stops`,
      );
      let seen = 0;
      for await (const event of events) {
        io.stdout(values.json ? toJsonFormat(event) : formatEventLine(event));
        seen++;
        if (count !== undefined && seen >= count) break;
      }
      return 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await log.close();
    }
  },
};

/** `ns/name` or `name` (namespace `default`). */
export function parseBrokerRef(value: string): BrokerRef {
  const parts = value.split('/');
  const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
  const [namespace, name] = parts.length === 1 ? ['default', parts[0]] : parts;
  if (parts.length > 2 || !namespace || !name || !label.test(namespace) || !label.test(name))
    throw new UsageError(`--broker expects <namespace>/<name> (lowercase DNS labels), got "${value}"`);
  return { namespace, name };
}

/** One line per event: time, type, source, subject (`-` when absent), id; separated by two spaces. */
export function formatEventLine(event: CloudEvent<unknown>): string {
  const time = event.time ? String(event.time) : '-';
  return [time, event.type, event.source, event.subject ?? '-', event.id].join('  ');
}

function isConnectionRefused(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ECONNREFUSED') return true;
    if (e instanceof AggregateError && e.errors.some(isConnectionRefused)) return true;
    if (/ECONNREFUSED|Connection error/.test(String((e as Error).message))) return true;
  }
  return false;
}
