/**
 * A start-up check that the Kafka brokers accept every request kafkajs will send.
 *
 * kafkajs picks, for each API, the highest version both sides support (`lookup` in
 * `kafkajs/src/protocol/requests/index.js`) and never looks at the broker's *minimum*. A broker that has
 * dropped the versions kafkajs speaks (as Kafka 4 did for the oldest ones, KIP-896) would then fail each such
 * request only when it is first sent. This asks the broker for its ranges (ApiVersions v0, which every broker
 * answers) and refuses to start, naming the API, when kafkajs's highest version is below the broker's lowest.
 */
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { TributaryError } from '@tributary/client';

export interface ApiVersionRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

/** What kafkajs implements, per API: `{ name, apiKey, versions }` (versions ascending). */
export interface ClientApi {
  name: string;
  apiKey: number;
  versions: number[];
}

/**
 * The APIs every Tributary Kafka client relies on (producer, consumer groups, admin); a broker that lacks one
 * of these is refused as well. Names are kafkajs's (`GroupCoordinator` is FindCoordinator).
 */
export const REQUIRED_KAFKA_APIS: readonly string[] = [
  'Produce',
  'Fetch',
  'ListOffsets',
  'Metadata',
  'OffsetCommit',
  'OffsetFetch',
  'GroupCoordinator',
  'JoinGroup',
  'Heartbeat',
  'LeaveGroup',
  'SyncGroup',
  'DescribeGroups',
  'ApiVersions',
  'CreateTopics',
  'InitProducerId',
];

interface KafkajsRequests {
  requests: Record<string, { versions: string[] }>;
}

/**
 * The request versions this kafkajs build sends. Reads kafkajs's request table, which it does not export:
 * `kafka-compat.test.ts` fails if a kafkajs upgrade moves or reshapes it.
 */
export function kafkajsApis(): ClientApi[] {
  const require = createRequire(import.meta.url);
  const kafkajsMain = require.resolve('kafkajs');
  const local = createRequire(kafkajsMain);
  const { requests } = local('./src/protocol/requests/index.js') as KafkajsRequests;
  const apiKeys = local('./src/protocol/requests/apiKeys.js') as Record<string, number>;
  const apis: ClientApi[] = [];
  for (const [name, definition] of Object.entries(requests)) {
    const apiKey = apiKeys[name];
    if (apiKey === undefined || definition.versions.length === 0) continue;
    apis.push({ name, apiKey, versions: definition.versions.map(Number).sort((a, b) => a - b) });
  }
  return apis;
}

/** One incompatibility between the client and a broker, in words an operator can act on. */
export interface KafkaIncompatibility {
  api: string;
  apiKey: number;
  reason: string;
}

/** Compares kafkajs's versions with a broker's ranges; empty when every request can be sent. */
export function compareApiVersions(
  client: readonly ClientApi[],
  broker: readonly ApiVersionRange[],
  required: readonly string[] = REQUIRED_KAFKA_APIS,
): KafkaIncompatibility[] {
  const ranges = new Map(broker.map((r) => [r.apiKey, r]));
  const problems: KafkaIncompatibility[] = [];
  for (const api of client) {
    const range = ranges.get(api.apiKey);
    if (!range) {
      if (required.includes(api.name)) {
        problems.push({ api: api.name, apiKey: api.apiKey, reason: 'the broker does not offer this API' });
      }
      continue;
    }
    const usable = api.versions.filter((v) => v >= range.minVersion && v <= range.maxVersion);
    if (usable.length === 0) {
      const highest = api.versions[api.versions.length - 1];
      problems.push({
        api: api.name,
        apiKey: api.apiKey,
        reason: `the broker accepts v${range.minVersion}-v${range.maxVersion}, kafkajs sends at most v${highest}`,
      });
    }
  }
  return problems;
}

/** Encodes an ApiVersions v0 request (request header v1: api key, version, correlation id, client id). */
function apiVersionsRequest(clientId: string, correlationId: number): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + id.length);
  body.writeInt16BE(18, 0); // ApiVersions
  body.writeInt16BE(0, 2); // v0
  body.writeInt32BE(correlationId, 4);
  body.writeInt16BE(id.length, 8);
  id.copy(body, 10);
  const frame = Buffer.alloc(4 + body.length);
  frame.writeInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** Decodes an ApiVersions v0 response body (after the size): correlation id, error code, [key, min, max]. */
export function decodeApiVersionsV0(body: Buffer): { errorCode: number; ranges: ApiVersionRange[] } {
  const errorCode = body.readInt16BE(4);
  const count = body.readInt32BE(6);
  const ranges: ApiVersionRange[] = [];
  let offset = 10;
  for (let i = 0; i < count && offset + 6 <= body.length; i++, offset += 6) {
    ranges.push({
      apiKey: body.readInt16BE(offset),
      minVersion: body.readInt16BE(offset + 2),
      maxVersion: body.readInt16BE(offset + 4),
    });
  }
  return { errorCode, ranges };
}

/** Asks one broker (`host:port`) for its API version ranges. */
export function fetchApiVersions(
  broker: string,
  { timeoutMs = 5_000, clientId = 'tributary' }: { timeoutMs?: number; clientId?: string } = {},
): Promise<ApiVersionRange[]> {
  const colon = broker.lastIndexOf(':');
  const host = broker.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(broker.slice(colon + 1));
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let received = Buffer.alloc(0);
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () =>
      fail(new Error(`no ApiVersions answer from ${broker} in ${timeoutMs} ms`)),
    );
    socket.once('error', fail);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const size = received.readInt32BE(0);
      if (received.length < 4 + size) return;
      socket.destroy();
      const { errorCode, ranges } = decodeApiVersionsV0(received.subarray(4, 4 + size));
      if (errorCode !== 0) reject(new Error(`ApiVersions from ${broker} answered error code ${errorCode}`));
      else resolve(ranges);
    });
    socket.connect(port, host, () => socket.write(apiVersionsRequest(clientId, 1)));
  });
}

/**
 * Refuses to go on when any reachable bootstrap broker cannot take what kafkajs sends, naming each API. Brokers that
 * cannot be reached are skipped (the client's own connect and retry handle them), so this never turns an
 * outage into a start-up failure; only a definite version mismatch throws.
 */
export async function assertKafkaCompatible(
  brokers: readonly string[],
  options: { timeoutMs?: number; clientId?: string } = {},
): Promise<void> {
  const client = kafkajsApis();
  for (const broker of brokers) {
    let ranges: ApiVersionRange[];
    try {
      ranges = await fetchApiVersions(broker, options);
    } catch {
      continue;
    }
    const problems = compareApiVersions(client, ranges);
    if (problems.length > 0) {
      throw new TributaryError(
        `Kafka broker ${broker} cannot take the requests of this kafkajs build:\n  ${problems
          .map((p) => `${p.api} (api key ${p.apiKey}): ${p.reason}`)
          .join('\n  ')}`,
        { code: 'KAFKA_INCOMPATIBLE' },
      );
    }
  }
}
