// Where one storage notification's time goes: the lone-event path, one request at a time (as MinIO's
// queue-backed webhook target sends), cut into its hops and timed per request, in the same run.
//   pnpm bench lone-event
// Stages (each BENCH_REQUESTS sequential requests per round, stages interleaved, rounds alternate):
//   http       undici POST of a MinIO notification body to a bare node:http server answering 200: one HTTP
//              round trip on loopback, the floor of every hop below.
//   append     `log.append(broker, [event])` straight into the broker log (no HTTP): the durable write.
//   ingress    publisher POST (binary mode) of the same CloudEvent to the broker ingress over that log:
//              HTTP + ingress + the durable write; minus `append` = the ingress' own part.
//   se-sink    POST of the MinIO body to storage-events publishing to a bare CloudEvents sink (answers 202,
//              stores nothing): storage-events' hop without a broker.
//   se-broker  POST of the MinIO body to storage-events publishing to the broker ingress: the whole
//              per-notification path after MinIO (MinIO's own part is the storage-events bench's raw line).
// The broker log is Kafka (KAFKA_BROKERS, else the `pnpm services:up` one, else started) or Postgres with
// BENCH_BACKEND=postgres. BENCH_CONSUMER=1 also runs a consumer group reading every record, as a broker's
// dispatcher would. BENCH_SPLIT=1 runs the broker (ingress + log) in a child process, as deployed.
// BENCH_PROFILE=<file.cpuprofile> writes a CPU profile of this process over the measured rounds only.
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { createIngress, createKafkaLog, createPostgresLog, knownBrokers } from '@tributary/eventing';
import { createLogger, createPublisher } from '@tributary/shared';
import { buildApp, toCloudEvent, WEBHOOK_PATH } from '@tributary/storage-events';
import { startRecordingBroker } from '@tributary/storage-events/test-broker';
import {
  reuseSharedServices,
  servicesToStart,
  startServices,
  uniqueName,
  uniqueSchema,
} from '@tributary/testing';
import { Pool } from 'undici';
import { loadAverages } from './lib/proc.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = 200;
const TOKEN = 'bench-token';
const backend = process.env.BENCH_BACKEND === 'postgres' ? 'postgres' : 'kafka';
const logger = createLogger({ name: 'lone-event-bench', level: 'warn' });

/** A MinIO notification as `notify_webhook` POSTs it (event.Log with one record), for object `key`. */
function minioBody(bucket: string, key: string, n: number): Buffer {
  const record = {
    eventVersion: '2.0',
    eventSource: 'minio:s3',
    awsRegion: '',
    eventTime: new Date(1_780_000_000_000 + n).toISOString(),
    eventName: 's3:ObjectCreated:Put',
    userIdentity: { principalId: 'minioadmin' },
    requestParameters: { principalId: 'minioadmin', region: '', sourceIPAddress: '127.0.0.1' },
    responseElements: {
      'x-amz-id-2': 'dd9025bab4ad464b049177c95eb6ebf374d3b3fd1af9251148b658df7ac2e3e8',
      'x-amz-request-id': `1895A1B2C3D4${String(n).padStart(4, '0')}`,
      'x-minio-deployment-id': '2b1c3a6e-0000-4000-8000-1234567890ab',
      'x-minio-origin-endpoint': 'http://127.0.0.1:9000',
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'Config',
      bucket: { name: bucket, ownerIdentity: { principalId: 'minioadmin' }, arn: `arn:aws:s3:::${bucket}` },
      object: {
        key,
        size: 64,
        eTag: '5d41402abc4b2a76b9719d911017c592',
        contentType: 'text/plain',
        userMetadata: { 'content-type': 'text/plain' },
        sequencer: `1895A1B2C3D4${String(n).padStart(4, '0')}`,
      },
    },
    source: { host: '127.0.0.1', port: '', userAgent: 'MinIO (linux; amd64) minio-go/v7.0.90' },
  };
  return Buffer.from(
    JSON.stringify({ EventName: record.eventName, Key: `${bucket}/${key}`, Records: [record] }),
  );
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] as number;

async function main(): Promise<void> {
  reuseSharedServices(process.env);
  const wanted = servicesToStart().filter((s) => s === (backend === 'kafka' ? 'kafka' : 'postgres'));
  const services = wanted.length > 0 ? await startServices({ only: wanted }) : undefined;
  const env = { ...process.env, ...services?.env };
  const log =
    backend === 'kafka'
      ? createKafkaLog({ brokers: (env.KAFKA_BROKERS as string).split(','), partitions: 1, logger })
      : createPostgresLog({ databaseUrl: env.DATABASE_URL, schema: uniqueSchema('lone_event'), logger });
  const ref = { namespace: 'default', name: uniqueName('lone') };
  await log.ensureBroker(ref);
  let consumed = 0;
  const subscription =
    process.env.BENCH_CONSUMER === '1'
      ? await log.subscribe(ref, {
          groupId: `knative-trigger-default-${uniqueName('t')}`,
          initialOffset: 'latest',
          onRecords: async (batch) => {
            consumed += batch.length;
          },
        })
      : undefined;

  // The broker: in this process, or (BENCH_SPLIT=1) a child running the same ingress.
  let brokerUrl: string;
  let child: ReturnType<typeof fork> | undefined;
  const ingress = createIngress({ log, brokers: knownBrokers([ref]), logger });
  if (process.env.BENCH_SPLIT === '1') {
    child = fork(new URL(import.meta.url), [], {
      env: { ...env, LONE_EVENT_CHILD: JSON.stringify({ backend, ref }) },
      execArgv: ['--conditions=development', '--import', 'tsx'],
    });
    brokerUrl = await new Promise<string>((resolve) => child!.once('message', (m) => resolve(String(m))));
  } else {
    await ingress.listen({ port: 0, host: '127.0.0.1' });
    brokerUrl = `http://127.0.0.1:${(ingress.server.address() as AddressInfo).port}/${ref.namespace}/${ref.name}`;
  }

  const bare = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  const barePool = new Pool(`http://127.0.0.1:${(bare.address() as AddressInfo).port}`, { connections: 1 });
  const sink = await startRecordingBroker();

  const startStorageEvents = async (url: string) => {
    const publisher = createPublisher({ url, validate: false }); // as index.ts configures it
    const app = buildApp({ logger, token: TOKEN, sink: publisher });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const pool = new Pool(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, {
      connections: 1,
    });
    return { app, publisher, pool };
  };
  const seSink = await startStorageEvents(sink.url);
  const seBroker = await startStorageEvents(brokerUrl);
  const brokerPublisher = createPublisher({ url: brokerUrl });

  const bucket = 'bench-lone';
  let n = 0;
  const postMinio = async (pool: Pool, path: string) => {
    const i = n++;
    const res = await pool.request({
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: minioBody(bucket, `obj-${i}.txt`, i),
    });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
  };
  const event = () => {
    const i = n++;
    const parsed = JSON.parse(minioBody(bucket, `obj-${i}.txt`, i).toString('utf8'));
    return toCloudEvent(parsed.Records[0]);
  };
  type Stage = 'http' | 'append' | 'ingress' | 'se-sink' | 'se-broker';
  const stages: Record<Stage, () => Promise<void>> = {
    http: () => postMinio(barePool, '/'),
    append: () => log.append(ref, [event()]),
    ingress: () => brokerPublisher.publish(event()),
    'se-sink': () => postMinio(seSink.pool, WEBHOOK_PATH),
    'se-broker': () => postMinio(seBroker.pool, WEBHOOK_PATH),
  };
  const only = process.env.BENCH_STAGES?.split(',') as Stage[] | undefined;
  const order = (Object.keys(stages) as Stage[]).filter((s) => !only || only.includes(s));
  const times: Record<string, number[]> = {};
  const cpu: Record<string, number> = {};
  try {
    for (const s of order) for (let i = 0; i < WARMUP; i++) await stages[s]();
    const profiler = process.env.BENCH_PROFILE ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const s of order) {
        const xs = times[s] ?? [];
        times[s] = xs;
        const c0 = process.cpuUsage();
        for (let i = 0; i < REQUESTS; i++) {
          const t = performance.now();
          await stages[s]();
          xs.push(performance.now() - t);
        }
        const c = process.cpuUsage(c0);
        cpu[s] = (cpu[s] ?? 0) + (c.user + c.system);
      }
    }
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(process.env.BENCH_PROFILE as string, JSON.stringify(profile));
      profiler.disconnect();
    }
  } finally {
    await seSink.app.close();
    await seBroker.app.close();
    await seSink.publisher.close();
    await seBroker.publisher.close();
    await brokerPublisher.close();
    await barePool.close();
    bare.close();
    await sink.stop();
    if (child) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    } else await ingress.close();
    await subscription?.close();
    await log.close();
    await services?.stop();
  }
  console.log(
    `lone-event: ${backend} log, ${ROUNDS} rounds x ${REQUESTS} sequential requests per stage` +
      `${child ? ', broker in its own process' : ''}${subscription ? `, a consumer read ${consumed}` : ''}; load ${loadAverages()}`,
  );
  console.log('stage       p50 ms   p90 ms   p99 ms   mean ms  CPU us/req (this process)');
  for (const s of order) {
    const xs = times[s] ?? [];
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(
      `${s.padEnd(10)} ${pct(xs, 50).toFixed(3).padStart(7)}  ${pct(xs, 90).toFixed(3).padStart(7)}  ${pct(
        xs,
        99,
      )
        .toFixed(3)
        .padStart(7)}  ${mean.toFixed(3).padStart(7)}  ${((cpu[s] ?? 0) / xs.length).toFixed(0).padStart(7)}`,
    );
  }
}

/** BENCH_SPLIT=1: this file, forked, runs only the broker and sends its URL to the parent. */
async function brokerChild(spec: { backend: string; ref: { namespace: string; name: string } }) {
  const log =
    spec.backend === 'kafka'
      ? createKafkaLog({ brokers: (process.env.KAFKA_BROKERS as string).split(','), partitions: 1, logger })
      : createPostgresLog({
          databaseUrl: process.env.DATABASE_URL,
          schema: uniqueSchema('lone_event'),
          logger,
        });
  await log.ensureBroker(spec.ref);
  const subscription =
    process.env.BENCH_CONSUMER === '1'
      ? await log.subscribe(spec.ref, {
          groupId: `knative-trigger-default-${uniqueName('t')}`,
          initialOffset: 'latest',
          onRecords: async () => {},
        })
      : undefined;
  const ingress = createIngress({ log, brokers: knownBrokers([spec.ref]), logger });
  await ingress.listen({ port: 0, host: '127.0.0.1' });
  process.send?.(
    `http://127.0.0.1:${(ingress.server.address() as AddressInfo).port}/${spec.ref.namespace}/${spec.ref.name}`,
  );
  process.once('SIGTERM', () => {
    void ingress
      .close()
      .then(() => subscription?.close())
      .then(() => log.close())
      .then(() => process.exit(0));
  });
}

if (process.env.LONE_EVENT_CHILD) await brokerChild(JSON.parse(process.env.LONE_EVENT_CHILD));
else
  await main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
