import { resolve } from 'node:path';
import {
  type BrokerLog,
  type BrokerRef,
  createBrokerLog,
  loadResources,
  parseRfc3339,
  type ReplayResponse,
  type ReplayResult,
  replayResponse,
  triggerGroupId,
} from '@tributary/eventing';
import { createLogger, redactUrl } from '@tributary/shared';
import {
  type Command,
  type CommandIo,
  parseOptions,
  ServiceUnavailableError,
  UsageError,
} from '../command.js';
import { DEV_DATABASE_URL, parseBrokerRef } from './tail.js';

/** The broker of `tributary dev` (and `tributary broker`'s default port). */
export const DEFAULT_REPLAY_URL = 'http://127.0.0.1:8080';

const usage = `usage: tributary replay <namespace>/<trigger> --from <RFC 3339 time | earliest> [--dry-run]
                        [--url <broker>] [--token <jwt>] [--json]
       tributary replay <namespace>/<trigger> --from <...> --direct [--broker <ns/name> | --config <dir>]

Moves one Trigger's position back, so that every event stored at or after --from (or every event still
stored, with "earliest") is delivered to that Trigger's subscriber again. Only that Trigger moves: its
consumer group knative-trigger-<namespace>-<trigger> (Kafka: the group's offsets for that time; Postgres: its
stored position). A replay never moves a position forward, so nothing is skipped; a partition already before
--from keeps its position. The running dispatcher picks the new position up: deliveries in flight may finish
(and be delivered again), every later event is delivered again once, in log order per partition.

By default the replay goes through the broker that runs the Trigger (POST <url>/-/replay/<ns>/<trigger>),
which applies it to its running dispatcher. Outside \`tributary dev\` the broker checks BROKER_JWT_SECRET and
takes only a service_role token (\`tributary keys\` makes one).

Options:
      --from <when>       an RFC 3339 time (2026-01-31T09:00:00Z, or with an offset) or "earliest" (required)
      --dry-run           print, per partition, the current and target positions and how many events
                          would be delivered again; move nothing
  -u, --url <url>         the broker (default: ${DEFAULT_REPLAY_URL}, the broker of \`tributary dev\`)
      --token <jwt>       bearer token (service_role) when the broker checks JWTs
      --json              print the result as JSON
      --direct            move the position in the log itself (KAFKA_BROKERS or DATABASE_URL) instead of
                          through a broker: for a broker that is not running, or the Knative Kafka broker
                          in a cluster. On Kafka a group whose consumers run elsewhere is refused: stop them
                          first (Kafka does not let anyone else move a live group)
  -b, --broker <ns/name>  with --direct: the Trigger's Broker (default: <namespace>/default)
  -c, --config <dir>      with --direct: Trigger YAML, to find the Trigger's Broker and check it exists
  -h, --help              show this help

Environment (--direct):
  KAFKA_BROKERS           the Kafka log (topic knative-broker-<namespace>-<broker>)
  DATABASE_URL            else the Postgres log (default: the Postgres of \`tributary dev\`)

Examples:
  tributary replay default/send-welcome-email --from 2026-01-31T09:00:00Z --dry-run
  tributary replay default/send-welcome-email --from earliest
  KAFKA_BROKERS=kafka:9092 tributary replay shop/orders --from 2026-01-31T09:00:00+01:00 --direct --broker shop/default`;

export const replayCommand: Command = {
  name: 'replay',
  summary: 'move one Trigger back to a time (or the log start) to deliver its events again',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseOptions(argv, {
      from: { type: 'string' },
      'dry-run': { type: 'boolean' },
      url: { type: 'string', short: 'u' },
      token: { type: 'string' },
      json: { type: 'boolean' },
      direct: { type: 'boolean' },
      broker: { type: 'string', short: 'b' },
      config: { type: 'string', short: 'c', multiple: true },
    });
    if (positionals.length === 0) throw new UsageError('which Trigger? give <namespace>/<trigger>');
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
    const { namespace, name } = parseTriggerRef(positionals[0]!);
    if (values.from === undefined) throw new UsageError('--from <RFC 3339 time | earliest> is required');
    const from = parseFrom(values.from);
    const dryRun = values['dry-run'] === true;
    if (!values.direct && (values.broker !== undefined || values.config !== undefined))
      throw new UsageError('--broker and --config go with --direct');
    if (values.direct && (values.url !== undefined || values.token !== undefined))
      throw new UsageError('--url and --token do not go with --direct');

    const result = values.direct
      ? await viaLog(io, { namespace, name }, from, dryRun, values.broker, values.config)
      : await viaBroker(values.url ?? DEFAULT_REPLAY_URL, values.token, { namespace, name }, from, dryRun);
    if (values.json) io.stdout(JSON.stringify(result, null, 2));
    else for (const line of formatReplay(result)) io.stdout(line);
    return 0;
  },
};

/** `<namespace>/<trigger>`, both lowercase DNS labels. */
export function parseTriggerRef(value: string): { namespace: string; name: string } {
  const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
  const parts = value.split('/');
  const [namespace, name] = parts;
  if (parts.length !== 2 || !namespace || !name || !label.test(namespace) || !label.test(name))
    throw new UsageError(`expected <namespace>/<trigger> (lowercase DNS labels), got "${value}"`);
  return { namespace, name };
}

/** `earliest` or an RFC 3339 time, not in the future. */
export function parseFrom(value: string): 'earliest' | Date {
  if (value === 'earliest') return value;
  const time = parseRfc3339(value);
  if (!time)
    throw new UsageError(
      `--from takes "earliest" or an RFC 3339 time such as 2026-01-31T09:00:00Z (seconds and a zone are required), got "${value}"`,
    );
  if (time.getTime() > Date.now() + 60_000)
    throw new UsageError(`--from ${value} is in the future: there is nothing to replay yet`);
  return time;
}

async function viaBroker(
  url: string,
  token: string | undefined,
  trigger: { namespace: string; name: string },
  from: 'earliest' | Date,
  dryRun: boolean,
): Promise<ReplayResponse> {
  const base = URL.canParse(url) ? new URL(url) : undefined;
  if (base?.protocol !== 'http:' && base?.protocol !== 'https:') {
    throw new UsageError(`--url must be an http(s) URL, got "${url}"`);
  }
  const endpoint = new URL(
    `${base.pathname.replace(/\/$/, '')}/-/replay/${trigger.namespace}/${trigger.name}`,
    base,
  );
  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ from: from === 'earliest' ? from : from.toISOString(), dryRun }),
      signal: AbortSignal.timeout(60_000),
    });
  } catch (err) {
    throw new ServiceUnavailableError(
      'The broker',
      base.origin,
      'Start it with `tributary dev` or `tributary broker --config <dir>`, pass --url, or use --direct to move the position in the log itself.',
      (err as { cause?: unknown }).cause ?? err,
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const message = (body as { message?: unknown } | undefined)?.message;
    const hint =
      res.status === 401
        ? ' (pass --token <service_role JWT>)'
        : res.status === 404 && !(body as { code?: unknown } | undefined)?.code
          ? ' (is this a Tributary broker of this version?)'
          : '';
    throw new ReplayFailedError(
      `the broker answered HTTP ${res.status}: ${typeof message === 'string' ? message : text.slice(0, 300)}${hint}`,
    );
  }
  return body as ReplayResponse;
}

async function viaLog(
  io: CommandIo,
  trigger: { namespace: string; name: string },
  from: 'earliest' | Date,
  dryRun: boolean,
  brokerOption: string | undefined,
  configs: string[] | undefined,
): Promise<ReplayResponse> {
  if (brokerOption !== undefined && configs !== undefined)
    throw new UsageError('give --broker or --config, not both');
  let broker: BrokerRef = brokerOption
    ? parseBrokerRef(brokerOption)
    : { namespace: trigger.namespace, name: 'default' };
  if (configs) {
    const resources = await loadResources(configs.map((c) => resolve(c)));
    const t = resources.triggers.find((x) => x.namespace === trigger.namespace && x.name === trigger.name);
    if (!t) {
      const known = resources.triggers.map((x) => `${x.namespace}/${x.name}`);
      throw new ReplayFailedError(
        `no Trigger ${trigger.namespace}/${trigger.name} in ${configs.join(', ')} (known: ${known.join(', ') || 'none'})`,
      );
    }
    broker = { namespace: t.namespace, name: t.broker };
  }
  const kafkaBrokers = (io.env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  const databaseUrl = io.env.DATABASE_URL || DEV_DATABASE_URL;
  const where =
    kafkaBrokers.length > 0 ? `Kafka at ${kafkaBrokers.join(',')}` : `Postgres at ${redactUrl(databaseUrl)}`;
  const logger = createLogger({ name: 'tributary-replay', level: io.env.LOG_LEVEL ?? 'silent' });
  const log: BrokerLog = createBrokerLog({ kafkaBrokers, databaseUrl, logger });
  const groupId = triggerGroupId(trigger.namespace, trigger.name);
  try {
    let plan: ReplayResult;
    try {
      plan = await log.replay(broker, groupId, { from, dryRun: true });
    } catch (err) {
      if (isUnreachable(err))
        throw new ServiceUnavailableError(
          'The broker log',
          where,
          'Start `tributary dev`, or set KAFKA_BROKERS / DATABASE_URL to the log of the broker.',
          err,
        );
      throw err;
    }
    // Without YAML, a group that never stored a position is most likely a typo: refuse to invent one.
    if (!configs && plan.partitions.every((p) => p.current === null))
      throw new ReplayFailedError(
        `Trigger ${trigger.namespace}/${trigger.name} has no position on broker ${broker.namespace}/${broker.name} ` +
          `(consumer group ${groupId}, ${where}): check the name and --broker, or give --config`,
      );
    const result = dryRun ? plan : await log.replay(broker, groupId, { from, dryRun: false });
    return replayResponse(result, trigger, broker, { from, dryRun });
  } finally {
    await log.close();
  }
}

/** The table `tributary replay` prints. */
export function formatReplay(r: ReplayResponse): string[] {
  const rows = r.partitions.map((p) => [String(p.partition), p.current ?? '-', p.target, String(p.events)]);
  const head = ['partition', 'current', 'target', 'events'];
  const all = [head, ...rows, ['total', '', '', String(r.events)]];
  const widths = head.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    `  ${row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`;
  const out = [
    `Trigger ${r.trigger} (consumer group ${r.groupId}) on broker ${r.broker}, from ${r.from}:`,
    ...all.map(line),
  ];
  if (r.dryRun) out.push(`dry run: nothing moved; ${r.events} event(s) would be delivered again.`);
  else if (r.applied === 'none') out.push('nothing to replay: every partition is already before that point.');
  else out.push(`replayed: ${r.events} event(s) will be delivered again.`);
  return out;
}

/** A replay the broker or the log refused; the message says why. */
export class ReplayFailedError extends Error {
  override name = 'UserInputError';
}

function isUnreachable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 6; depth++) {
    const x = e as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown[] };
    if (
      x.code === 'ECONNREFUSED' ||
      x.name === 'KafkaJSConnectionError' ||
      x.name === 'KafkaJSNumberOfRetriesExceeded'
    )
      return true;
    if (Array.isArray(x.errors) && x.errors.some(isUnreachable)) return true;
    if (/ECONNREFUSED|Connection error|connect ECONN/.test(String(x.message))) return true;
    e = x.cause ?? (x as { originalError?: unknown }).originalError;
  }
  return false;
}
