// storage-events end to end: notifications/s from MinIO through storage-events to the broker, against the
// raw rate of the same MinIO posting to a bare webhook that only answers 200, in the same run.
//   node --conditions=development --import tsx bench/src/storage-events.bench.ts
// One dedicated MinIO with two webhook targets, both with a queue_dir as in production: BARE -> a bare HTTP
// server; TRIBUTARY -> storage-events (in this process) -> broker. MinIO's queued sender posts one
// notification at a time, so its rate is what a receiver can take. Each round PUTs the same number of small
// objects (bounded concurrency) into one target's bucket while that receiver is not listening, so MinIO
// queues every notification on disk; then the receiver starts listening and the clock runs from the first
// arrival to the last (raw: POSTs at the bare webhook; end to end: CloudEvents accepted by the broker).
// Rounds alternate raw / end to end; the ratio is the median of the per-round ratios.
// End to end runs twice per round: to the real broker (the eventing ingress over the Postgres log, from
// DATABASE_URL or a Postgres started for the run; BENCH_BROKER=kafka for the Kafka log at KAFKA_BROKERS; each
// event read back through a consumer group), and to a bare CloudEvents sink that decodes and answers 202
// without storing (storage-events' own cost). BENCH_SPLIT=1 runs the broker in a child process of its own (as
// deployed: storage-events and the broker are separate services), so each one's CPU is charged apart.
// BENCH_PROFILE=<file.cpuprofile> writes a CPU profile of this process (storage-events, the broker and its
// consumer) over the first end-to-end drain.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Session } from 'node:inspector/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, createPublisher, type Publisher } from '@tributary/shared';
import { buildApp, minioWebhookEnv, setupBucketNotifications, WEBHOOK_PATH } from '@tributary/storage-events';
// The storage-events tests' broker: eventing ingress + log + a consumer group collecting what was stored.
import { startIngressBroker, startRecordingBroker } from '@tributary/storage-events/test-broker';
import { freePort, startMinio, startPostgres, uniqueBucket, waitFor } from '@tributary/testing';
import { Client } from 'minio';
import { listenerPid } from './lib/cpu-budget.js';
import { treeCpuSeconds } from './lib/listener.js';
import { cpuSeconds, memoryMiB } from './lib/proc.js';

const UPLOADS = Number(process.env.BENCH_UPLOADS ?? 2_000);
const CONCURRENCY = 16;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const TOKEN = 'bench-token';
const TIMEOUT_MS = 300_000;

/** Milliseconds per notification at the median rate. */
const ms = (rates: number[]) => (1000 / median(rates)).toFixed(3);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

type BrokerOptions = Parameters<typeof startIngressBroker>[0];

/** The broker storage-events publishes to, in this process or (BENCH_SPLIT=1) in a child of its own. */
interface BenchBroker {
  url: string;
  /** The child's pid; undefined when the broker runs in this process. */
  pid: number | undefined;
  /** Events accepted so far (in a child: the 2xx answers storage-events got; here: events read back). */
  count(): number;
  /** Every event stored and read back through the consumer group so far, and how many ids are distinct. */
  stats(): Promise<{ stored: number; distinct: number }>;
  close(): Promise<void>;
  /** Counts an accepted publish (see countAccepted). */
  accepted(n: number): void;
}

const split = process.env.BENCH_SPLIT === '1';

async function inProcessBroker(options: BrokerOptions): Promise<BenchBroker> {
  const b = await startIngressBroker(options);
  return {
    url: b.url,
    pid: undefined,
    count: () => b.count,
    stats: async () => ({ stored: b.count, distinct: new Set(b.events.map((e) => e.id)).size }),
    close: () => b.close(),
    accepted: () => {},
  };
}

/** BENCH_SPLIT=1: the broker (ingress + log + consumer group) in a child process, as deployed. */
async function forkBroker(options: BrokerOptions): Promise<BenchBroker> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, STORAGE_BENCH_BROKER: JSON.stringify(options) },
    execArgv: ['--conditions=development', '--import', 'tsx'],
  });
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: { type: string } & T) => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m);
      };
      const onExit = (code: number | null) => reject(new Error(`broker child exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const { url } = await next<{ url: string }>('ready');
  let accepted = 0;
  return {
    url,
    pid: child.pid,
    count: () => accepted,
    stats: async () => {
      const reply = next<{ stored: number; distinct: number }>('stats');
      child.send({ type: 'stats' });
      return reply;
    },
    close: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ type: 'close' });
      await exited;
    },
    accepted: (n) => {
      accepted += n;
    },
  };
}

/** The child side of forkBroker. */
async function brokerChild(options: BrokerOptions): Promise<void> {
  const b = await startIngressBroker(options);
  process.on('message', (m: { type: string }) => {
    if (m.type === 'stats') {
      process.send?.({ type: 'stats', stored: b.count, distinct: new Set(b.events.map((e) => e.id)).size });
    } else if (m.type === 'close') {
      void b.close().then(() => process.exit(0));
    }
  });
  process.send?.({ type: 'ready', url: b.url });
}

/** A publisher that tells the broker handle how many events were accepted (a 2xx). */
function countAccepted(publisher: Publisher, broker: BenchBroker): Publisher {
  return {
    publish: async (events, options) => {
      await publisher.publish(events, options);
      broker.accepted(Array.isArray(events) ? events.length : 1);
    },
    close: () => publisher.close(),
  };
}

const profiler = process.env.BENCH_PROFILE ? new Session() : undefined;
/** BENCH_PROFILE: profiles the first end-to-end drain (from the first arrival to the last). */
async function startProfile(): Promise<boolean> {
  if (!profiler) return false;
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
  return true;
}
async function stopProfile(): Promise<void> {
  const { profile } = await (profiler as Session).post('Profiler.stop');
  writeFileSync(process.env.BENCH_PROFILE as string, JSON.stringify(profile));
  profiler?.disconnect();
}

async function main(): Promise<void> {
  // Bare webhook: answers 200 to everything, counts POSTs. Listens only while measured.
  let bareCount = 0;
  const barePort = await freePort();
  let bare: Server | undefined;
  const startBare = async () => {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        bareCount++;
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(barePort, '127.0.0.1', r));
    bare = server;
  };
  const stopBare = async () => {
    const server = bare;
    bare = undefined;
    server?.closeAllConnections();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  };

  const kafka = process.env.BENCH_BROKER === 'kafka';
  if (kafka && !process.env.KAFKA_BROKERS) throw new Error('BENCH_BROKER=kafka needs KAFKA_BROKERS');
  const postgres = kafka || process.env.DATABASE_URL ? undefined : await startPostgres();
  const brokerOptions: BrokerOptions = kafka
    ? { backend: 'kafka', kafkaBrokers: process.env.KAFKA_BROKERS!.split(',') }
    : { databaseUrl: process.env.DATABASE_URL ?? postgres?.url };
  const broker = split ? await forkBroker(brokerOptions) : await inProcessBroker(brokerOptions);
  const brokerName = kafka ? 'ingress+Kafka log' : 'ingress+Postgres log';
  // The log's server process (Kafka's JVM, or the postmaster with its backends), to charge its CPU.
  const storeUrl = kafka
    ? `kafka://${process.env.KAFKA_BROKERS!.split(',')[0]}`
    : (process.env.DATABASE_URL ?? postgres?.url ?? '');
  const storePid = listenerPid(Number(new URL(storeUrl).port));
  const sink = await startRecordingBroker();
  // As the service configures its publisher (index.ts): the mapping already checked each event.
  const publishers = {
    e2e: countAccepted(createPublisher({ url: broker.url, validate: false }), broker),
    sink: createPublisher({ url: sink.url, validate: false }),
  };
  const appPort = await freePort();
  let app: ReturnType<typeof buildApp> | undefined;
  const startApp = async (to: 'e2e' | 'sink') => {
    const publisher = publishers[to];
    app = buildApp({
      logger: createLogger({ name: 'storage-events', level: 'warn' }),
      token: TOKEN,
      sink: publisher,
    });
    await app.listen({ port: appPort, host: '127.0.0.1' });
  };
  const stopApp = async () => {
    await app?.close();
    app = undefined;
  };

  const queueDir = mkdtempSync(join(tmpdir(), 'bench-minio-queue-'));
  const minio = await startMinio({
    env: {
      ...minioWebhookEnv({
        targetId: 'TRIBUTARY',
        endpoint: `http://127.0.0.1:${appPort}${WEBHOOK_PATH}`,
        token: TOKEN,
        queueDir,
      }),
      ...minioWebhookEnv({
        targetId: 'BARE',
        endpoint: `http://127.0.0.1:${barePort}/`,
        token: TOKEN,
        queueDir,
      }),
    },
  });
  try {
    const url = new URL(minio.endpoint);
    const client = new Client({
      endPoint: url.hostname,
      port: Number(url.port),
      useSSL: false,
      accessKey: minio.accessKey,
      secretKey: minio.secretKey,
    });
    const rawBucket = uniqueBucket('bench-raw');
    const e2eBucket = uniqueBucket('bench-e2e');
    for (const [bucket, targetId] of [
      [rawBucket, 'BARE'],
      [e2eBucket, 'TRIBUTARY'],
    ] as const) {
      await client.makeBucket(bucket);
      await setupBucketNotifications({
        minio: client,
        targetId,
        rules: [{ bucket, prefix: '', suffix: '', events: ['s3:ObjectCreated:*'] }],
      });
    }
    const body = Buffer.from('x'.repeat(64));
    const uploadAll = async (bucket: string, round: number): Promise<number> => {
      const started = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < UPLOADS) {
            const i = next++;
            await client.putObject(bucket, `r${round}/obj-${i}.txt`, body, body.length);
          }
        }),
      );
      return performance.now() - started;
    };
    type Kind = 'raw' | 'e2e' | 'sink';
    const idleCpuPerSec = { minio: 0, store: 0 };
    const counters: Record<Kind, () => number> = {
      raw: () => bareCount,
      e2e: () => broker.count(),
      sink: () => sink.count,
    };
    const run = async (kind: Kind, round: number) => {
      const count = counters[kind];
      const base = count();
      const uploadMs = await uploadAll(
        kind === 'raw' ? rawBucket : e2eBucket,
        round * 3 + ['raw', 'e2e', 'sink'].indexOf(kind),
      );
      await (kind === 'raw' ? startBare() : startApp(kind));
      await waitFor(() => count() > base, { timeoutMs: TIMEOUT_MS, intervalMs: 1 });
      const first = performance.now();
      const profiling = kind === 'e2e' && round === 0 && (await startProfile());
      const cpu0 = process.cpuUsage();
      const brokerCpu0 = broker.pid ? (cpuSeconds(broker.pid) ?? 0) : 0;
      const minio0 = treeCpuSeconds(minio.pid);
      const store0 = storePid ? treeCpuSeconds(storePid) : 0;
      await waitFor(() => count() - base >= UPLOADS, { timeoutMs: TIMEOUT_MS, intervalMs: 2 });
      const drainMs = performance.now() - first;
      const cpu = process.cpuUsage(cpu0);
      const brokerUs = broker.pid ? (((cpuSeconds(broker.pid) ?? 0) - brokerCpu0) * 1e6) / UPLOADS : 0;
      const idleUs = (perSec: number) => (perSec * drainMs) / 1000;
      const minioUs = ((treeCpuSeconds(minio.pid) - minio0) * 1e6 - idleUs(idleCpuPerSec.minio)) / UPLOADS;
      const storeUs = storePid
        ? ((treeCpuSeconds(storePid) - store0) * 1e6 - idleUs(idleCpuPerSec.store)) / UPLOADS
        : Number.NaN;
      if (profiling) await stopProfile();
      await (kind === 'raw' ? stopBare() : stopApp());
      const got = count() - base;
      if (got !== UPLOADS) throw new Error(`${kind}: ${got} notifications for ${UPLOADS} PUTs`);
      // From the first arrival to the last: UPLOADS - 1 intervals.
      return {
        uploadMs,
        drainMs,
        rate: (UPLOADS - 1) / (drainMs / 1000),
        cpuUs: (cpu.user + cpu.system) / UPLOADS,
        brokerUs,
        minioUs,
        storeUs,
      };
    };

    // Warm-up, not measured: each path once.
    await startBare();
    await client.putObject(rawBucket, 'warmup', body);
    for (const to of ['e2e', 'sink'] as const) {
      await startApp(to);
      await client.putObject(e2eBucket, `warmup-${to}`, body);
      await waitFor(() => counters[to]() >= 1, { timeoutMs: 30_000 });
      await stopApp();
    }
    await waitFor(() => bareCount >= 1, { timeoutMs: 30_000 });
    await stopBare();
    const storedBase = (await broker.stats()).stored;
    // What MinIO and the log's server burn while idle (their background work), per second: subtracted from
    // their CPU over a drain, so that what is left is the notifications' own cost.
    const idleMs = 3_000;
    const idle0 = { minio: treeCpuSeconds(minio.pid), store: storePid ? treeCpuSeconds(storePid) : 0 };
    await new Promise((r) => setTimeout(r, idleMs));
    idleCpuPerSec.minio = ((treeCpuSeconds(minio.pid) - idle0.minio) * 1e6) / (idleMs / 1000);
    idleCpuPerSec.store = storePid ? ((treeCpuSeconds(storePid) - idle0.store) * 1e6) / (idleMs / 1000) : 0;

    const rates: Record<Kind, number[]> = { raw: [], e2e: [], sink: [] };
    const cpus: Record<Kind, number[]> = { raw: [], e2e: [], sink: [] };
    const minioCpus: Record<Kind, number[]> = { raw: [], e2e: [], sink: [] };
    const brokerCpus: Record<Kind, number[]> = { raw: [], e2e: [], sink: [] };
    const storeCpus: Record<Kind, number[]> = { raw: [], e2e: [], sink: [] };
    const ratios: number[] = [];
    const sinkRatios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const results = {} as Record<Kind, Awaited<ReturnType<typeof run>>>;
      for (const kind of ['raw', 'e2e', 'sink'] as const) {
        results[kind] = await run(kind, round);
        rates[kind].push(results[kind].rate);
        cpus[kind].push(results[kind].cpuUs);
        minioCpus[kind].push(results[kind].minioUs);
        brokerCpus[kind].push(results[kind].brokerUs);
        storeCpus[kind].push(results[kind].storeUs);
      }
      ratios.push(results.e2e.rate / results.raw.rate);
      sinkRatios.push(results.sink.rate / results.raw.rate);
      const fmt = (k: Kind) =>
        `${results[k].rate.toFixed(0)}/s (drained in ${results[k].drainMs.toFixed(0)} ms; PUTs ${results[k].uploadMs.toFixed(0)} ms)`;
      console.log(
        `round ${round + 1}: raw webhook ${fmt('raw')}; end-to-end to broker ${fmt('e2e')}; to bare sink ${fmt('sink')}`,
      );
    }
    const stats = await broker.stats();
    console.log(
      `storage-events: ${UPLOADS} PUTs per measurement, concurrency ${CONCURRENCY}, ${ROUNDS} round(s), medians:\n` +
        `  raw MinIO -> bare webhook (200):                      ${median(rates.raw).toFixed(0)} notifications/s\n` +
        `  MinIO -> storage-events -> broker (${brokerName}): ${median(rates.e2e).toFixed(0)} notifications/s  ratio ${median(ratios).toFixed(2)}\n` +
        `  MinIO -> storage-events -> bare CloudEvents sink:      ${median(rates.sink).toFixed(0)} notifications/s  ratio ${median(sinkRatios).toFixed(2)}\n` +
        `  broker events ${stats.stored - storedBase} (read back through a consumer group), all distinct: ` +
        `${stats.distinct === stats.stored}\n` +
        // The per-notification budget: MinIO sends the next notification only after the answer, so each
        // path's time per notification is its round trip; the differences are what each hop adds.
        `  per notification: MinIO's own part (raw) ${ms(rates.raw)} ms; + storage-events' hop (sink - raw) ` +
        `${(Number(ms(rates.sink)) - Number(ms(rates.raw))).toFixed(3)} ms; + the broker's durable write ` +
        `(e2e - sink) ${(Number(ms(rates.e2e)) - Number(ms(rates.sink))).toFixed(3)} ms = ${ms(rates.e2e)} ms\n` +
        // CPU per notification of every process in the chain (MinIO sends one at a time, so their sum bounds
        // the rate: 1 / sum at best, on a machine with nothing else to run).
        `  CPU per notification (this process = the receivers, storage-events and the broker; MinIO; the log's ` +
        `server${storePid ? '' : ', not found'}; MinIO's and the server's idle CPU, ${idleCpuPerSec.minio.toFixed(0)} ` +
        `and ${idleCpuPerSec.store.toFixed(0)} us/s, taken out):\n` +
        (['raw', 'sink', 'e2e'] as const)
          .map((k) => {
            const here = median(cpus[k]);
            const m = median(minioCpus[k]);
            const st = median(storeCpus[k]);
            const b = k === 'e2e' && broker.pid ? median(brokerCpus[k]) : 0;
            const sum = here + b + m + (k === 'e2e' && storePid ? st : 0);
            return `    ${k.padEnd(4)} this process ${here.toFixed(0)} us${
              b ? ` + broker process ${b.toFixed(0)} us` : ''
            } + MinIO ${m.toFixed(0)} us${
              k === 'e2e' ? ` + ${kafka ? 'Kafka' : 'Postgres'} ${st.toFixed(0)} us` : ''
            } = ${sum.toFixed(0)} us (1 / sum = ${Math.round(1e6 / sum)}/s)\n`;
          })
          .join('') +
        // storage-events, the bare webhook, the broker (ingress + log client) and the bare sink share this
        // process: an upper bound of storage-events' own memory (MinIO is another process).
        `  peak RSS of this process ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB${
          broker.pid ? `, of the broker process ${Math.round(memoryMiB(broker.pid)?.hwm ?? 0)} MiB` : ''
        }; load ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
    );
  } finally {
    await minio.stop();
    await stopApp();
    await stopBare();
    await publishers.e2e.close();
    await publishers.sink.close();
    await broker.close();
    await sink.stop();
    await postgres?.stop();
    rmSync(queueDir, { recursive: true, force: true });
  }
}

if (process.env.STORAGE_BENCH_BROKER) await brokerChild(JSON.parse(process.env.STORAGE_BENCH_BROKER));
else await main();
