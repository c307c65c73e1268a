// Test support (not part of the build): a broker stand-in that records CloudEvents as the ingress would
// (decodes binary/structured/batch, answers 202), and can be switched to answer 503 or stop listening.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeHttp } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';

export type BrokerMode = 'accept' | 'unavailable';

export interface RecordingBroker {
  /** The ingress URL to use as K_SINK. */
  url: string;
  port: number;
  readonly events: CloudEvent<unknown>[];
  /** How many events arrived (without building them: cheap to poll). */
  readonly count: number;
  /** Requests answered 503. */
  readonly refused: number;
  /** Resolves once requests get answers of that mode. */
  setMode(mode: BrokerMode): Promise<void>;
  /** Stops listening (connections are refused); `start()` listens again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startRecordingBroker(path = '/default/default', port = 0): Promise<RecordingBroker> {
  const events: CloudEvent<unknown>[] = [];
  let mode: BrokerMode = 'accept';
  let refused = 0;
  let server: Server | undefined;
  const listen = async (p: number): Promise<number> => {
    const s = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== path) {
          res.writeHead(404).end();
          return;
        }
        if (mode === 'unavailable') {
          refused++;
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"unavailable"}');
          return;
        }
        try {
          events.push(...decodeHttp(req.headers, Buffer.concat(chunks)));
          res.writeHead(202).end();
        } catch (err) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err));
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(p, '127.0.0.1', () => resolve());
    });
    server = s;
    return (s.address() as AddressInfo).port;
  };
  const actualPort = await listen(port);
  return {
    url: `http://127.0.0.1:${actualPort}${path}`,
    port: actualPort,
    events,
    get count() {
      return events.length;
    },
    get refused() {
      return refused;
    },
    async setMode(m) {
      mode = m;
    },
    async stop() {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async start() {
      if (!server) await listen(actualPort);
    },
  };
}

/**
 * The real broker: the eventing ingress (`createIngress`) over a real log backend (Postgres by default,
 * Kafka with `backend: 'kafka'`), read back through a consumer group as a Trigger would. "unavailable"
 * swaps in an ingress whose log backend is unreachable, which answers 503 as the real one does then.
 */
export async function startIngressBroker(opts: {
  backend?: 'postgres' | 'kafka';
  databaseUrl?: string;
  kafkaBrokers?: string[];
  port?: number;
}): Promise<RecordingBroker & { close(): Promise<void> }> {
  // Imported when used, through the eventing package's exports (a devDependency: only tests and benches).
  const { createIngress, createKafkaLog, createPostgresLog, knownBrokers } = await import(
    '@tributary/eventing'
  );
  const { collect } = await import('@tributary/eventing/testing/log');
  const { createLogger } = await import('@tributary/shared');
  const { freePort, uniqueName, uniqueSchema } = await import('@tributary/testing');

  const logger = createLogger({ name: 'broker', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const ref = { namespace: 'default', name: uniqueName('storage') };
  const backend = opts.backend ?? 'postgres';
  const log =
    backend === 'kafka'
      ? createKafkaLog({ brokers: opts.kafkaBrokers ?? [], partitions: 1, logger })
      : createPostgresLog({
          databaseUrl: opts.databaseUrl,
          schema: uniqueSchema('storage_broker'),
          logger,
          pollIntervalMs: 100,
        });
  const downLog =
    backend === 'kafka'
      ? createKafkaLog({ brokers: ['127.0.0.1:1'], logger, appendTimeoutMs: 500 })
      : createPostgresLog({
          databaseUrl: 'postgres://postgres:postgres@127.0.0.1:1/postgres',
          logger,
          appendTimeoutMs: 500,
        });
  await log.ensureBroker(ref);
  const collector = await collect(log, ref, `knative-trigger-default-${uniqueName('t')}`, {
    initialOffset: 'earliest',
  });
  // Commits as a Trigger's dispatcher does (eventing/src/dispatcher/dispatcher.ts markDone): at most once
  // per 20 ms, not once per record, which would add a Kafka request to every notification.
  let committedCount = 0;
  const committer = setInterval(() => {
    const records = collector.records;
    if (records.length === committedCount) return;
    const last = new Map<number, string>();
    for (let i = committedCount; i < records.length; i++) last.set(records[i]!.partition, records[i]!.offset);
    committedCount = records.length;
    for (const [partition, offset] of last) {
      collector.subscription.commit(partition, String(BigInt(offset) + 1n)).catch(() => {});
    }
  }, 20);
  committer.unref();
  const port = opts.port ?? (await freePort());
  const brokers = knownBrokers([ref]);
  let mode: BrokerMode = 'accept';
  let refused = 0;
  let app: Awaited<ReturnType<typeof createIngress>> | undefined;
  const listen = async () => {
    const a = createIngress({ log: mode === 'accept' ? log : downLog, brokers, logger });
    a.addHook('onResponse', async (_req, reply) => {
      if (reply.statusCode === 503) refused++;
    });
    await a.listen({ port, host: '127.0.0.1' });
    app = a;
  };
  const stop = async () => {
    const a = app;
    app = undefined;
    await a?.close();
  };
  await listen();
  return {
    url: `http://127.0.0.1:${port}/${ref.namespace}/${ref.name}`,
    port,
    get events() {
      return collector.records.map((r) => r.event);
    },
    get count() {
      return collector.records.length;
    },
    get refused() {
      return refused;
    },
    async setMode(m) {
      if (m === mode) return;
      mode = m;
      // Re-listen with the ingress of that mode (if currently listening).
      if (app) {
        await stop();
        await listen();
      }
    },
    stop,
    async start() {
      if (!app) await listen();
    },
    async close() {
      await stop();
      clearInterval(committer);
      await collector.close();
      await log.close();
      await downLog.close();
    },
  };
}
