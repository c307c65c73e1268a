import { readFile } from 'node:fs/promises';
import {
  type CloudEvent,
  createCloudEvent,
  createPublisher,
  InvalidCloudEventError,
  PublishFailedError,
  PublishRejectedError,
} from '@tributary/shared';
import { type Command, parseOptions, UsageError } from '../command.js';

/** The ingress of the `default` Broker that `tributary dev` runs (broker port 8080, namespace `default`). */
export const DEFAULT_PUBLISH_URL = 'http://127.0.0.1:8080/default/default';
/** `source` of events published from the command line when `--source` is not given. */
export const DEFAULT_PUBLISH_SOURCE = '/tributary/cli';
/** Retries of a retryable answer (5xx, 404, 408, 409, 429, no connection) before giving up. */
const DEFAULT_RETRIES = 3;

const usage = `usage: tributary publish --type <type> [--url <broker-ingress-url>] [--source <s>] [--subject <s>]
                         [--id <id>] [--data <json> | --data-file <file>] [--ext <name>=<value>]...
                         [--token <jwt>]

Publishes one CloudEvent (HTTP binary mode) to a broker ingress with the SDK's publisher, and prints its
id once the broker has accepted it (202: the event is durable). A 4xx answer (an invalid event, a catalog
schema mismatch, a missing token) is printed with the broker's explanation, exit 1.

Options:
  -u, --url <url>        broker ingress, http://<host>/<namespace>/<broker>
                         (default: ${DEFAULT_PUBLISH_URL}, the broker of \`tributary dev\`)
  -t, --type <type>      the event type (required), e.g. com.example.order.placed
  -s, --source <s>       the event source (default: ${DEFAULT_PUBLISH_SOURCE})
      --subject <s>      the event subject
      --id <id>          the event id (default: a random UUID); the same source + id is a redelivery
  -d, --data <json>      the data, as JSON (datacontenttype application/json)
      --data-file <file> read the JSON data from a file
  -e, --ext <k>=<v>      an extension attribute (repeatable), e.g. --ext partitionkey=order-42
      --token <jwt>      bearer token, when the broker checks JWTs (BROKER_JWT_SECRET)
      --retries <n>      retries of a 5xx/404/429 or a refused connection (default: ${DEFAULT_RETRIES})
  -h, --help             show this help

Examples:
  tributary publish --type com.example.hello --data '{"hi":1}'
  tributary publish --url http://127.0.0.1:8080/default/default --type com.example.order.placed \\
    --subject order-42 --ext partitionkey=order-42 --data-file order.json`;

export const publishCommand: Command = {
  name: 'publish',
  summary: 'publish one CloudEvent to a broker ingress',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseOptions(argv, {
      url: { type: 'string', short: 'u' },
      type: { type: 'string', short: 't' },
      source: { type: 'string', short: 's' },
      subject: { type: 'string' },
      id: { type: 'string' },
      data: { type: 'string', short: 'd' },
      'data-file': { type: 'string' },
      ext: { type: 'string', short: 'e', multiple: true },
      token: { type: 'string' },
      retries: { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (!values.type) throw new UsageError('--type <type> is required');
    if (values.data !== undefined && values['data-file'] !== undefined)
      throw new UsageError('give --data or --data-file, not both');
    const url = values.url ?? DEFAULT_PUBLISH_URL;
    const protocol = URL.canParse(url) ? new URL(url).protocol : undefined;
    if (protocol !== 'http:' && protocol !== 'https:') {
      throw new UsageError(`--url must be an http(s) URL, got "${url}"`);
    }
    let retries = DEFAULT_RETRIES;
    if (values.retries !== undefined) {
      retries = Number(values.retries);
      if (!Number.isInteger(retries) || retries < 0)
        throw new UsageError(`invalid --retries "${values.retries}"`);
    }

    const extensions = parseExtensions(values.ext ?? []);
    let data: unknown;
    if (values.data !== undefined) data = parseJson(values.data, '--data');
    if (values['data-file'] !== undefined) {
      const file = values['data-file'];
      const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new UsageError(`--data-file: cannot read ${file} (${err.code ?? err.message})`);
      });
      data = parseJson(text, `--data-file ${file}`);
    }

    let event: CloudEvent<unknown>;
    try {
      event = createCloudEvent({
        ...extensions,
        type: values.type,
        source: values.source ?? DEFAULT_PUBLISH_SOURCE,
        ...(values.subject !== undefined ? { subject: values.subject } : {}),
        ...(values.id !== undefined ? { id: values.id } : {}),
        ...(data !== undefined ? { data } : {}),
      });
    } catch (err) {
      if (err instanceof InvalidCloudEventError) throw new UsageError(err.message);
      throw err;
    }

    const publisher = createPublisher({
      url,
      retries,
      ...(values.token !== undefined ? { token: values.token } : {}),
    });
    try {
      await publisher.publish(event);
      io.stdout(`accepted  ${event.id}  (${event.type} from ${event.source} -> ${url})`);
      return 0;
    } catch (err) {
      if (err instanceof PublishRejectedError) {
        io.stderr(`tributary publish: rejected with HTTP ${err.status} (event ${event.id})`);
        if (err.body.trim() !== '') io.stderr(indent(prettyBody(err.body)));
        return 1;
      }
      if (err instanceof PublishFailedError) {
        io.stderr(`tributary publish: ${err.message}`);
        if (err.body?.trim()) io.stderr(indent(prettyBody(err.body)));
        if (err.status === undefined && /ECONNREFUSED/.test(String(err.cause ?? err.message)))
          io.stderr(`  nothing listens at ${url}: is \`tributary dev\` (or \`tributary broker\`) running?`);
        return 1;
      }
      throw err;
    } finally {
      await publisher.close();
    }
  },
};

/** `--ext name=value` pairs; names are checked with the event (CloudEvents: `[a-z0-9]{1,20}`). */
export function parseExtensions(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--ext expects <name>=<value>, got "${pair}"`);
    const name = pair.slice(0, eq);
    if (['data', 'data_base64', 'specversion'].includes(name))
      throw new UsageError(`--ext cannot set "${name}"`);
    out[name] = pair.slice(eq + 1);
  }
  return out;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * The broker's error body (`{ error, code, message, details: { issues } }`) as readable lines: the code and
 * message, then one issue per line. Any other body is shown as it is.
 */
export function prettyBody(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body.trim();
  }
  const b = parsed as { code?: unknown; message?: unknown; details?: { issues?: unknown } } | null;
  if (b && typeof b === 'object' && typeof b.message === 'string') {
    const lines = [typeof b.code === 'string' ? `${b.code}: ${b.message}` : b.message];
    const issues = b.details?.issues;
    if (Array.isArray(issues)) for (const i of issues) lines.push(`  - ${String(i)}`);
    return lines.join('\n');
  }
  return JSON.stringify(parsed, null, 2);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
