// Broker ingress throughput on the Kafka log: binary-mode 1 KiB events POSTed over keep-alive connections to
// an ingress process, against bare kafkajs producers writing the same records (same topic config, acks=-1,
// idempotent) measured in the same run, each on a fresh topic.
//   node --conditions=development --import tsx bench/src/ingress.bench.ts
// Env: BENCH_EVENTS (default 50000), BENCH_CONNECTIONS (default 32), KAFKA_BROKERS (else Kafka is started).
//
// Also printed for reference: the ingress in batch mode (100 events per request).
// Baselines (same records, same acks and idempotence, same concurrency of callers):
//   - per-record: BENCH_CONNECTIONS concurrent callers each awaiting `producer.send` of one record, the way an
//     app would write events straight to Kafka instead of POSTing them (the ratio the target refers to);
//   - batched: `producer.sendBatch` of 1000 pre-grouped records, the producer's best case (for reference).
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { brokerTopic, DEFAULT_PARTITIONS, DEFAULT_TOPIC_MAX_MESSAGE_BYTES } from '@tributary/eventing';
import { createCloudEvent, encodeHttpBatch, encodeHttpBinary, toKafkaMessage } from '@tributary/shared';
import { freePort, uniqueName } from '@tributary/testing';
import kafkajs from 'kafkajs';
import { Pool } from 'undici';
import { ensureTopic } from './lib/kafka.js';
import { loadAverages, ProcessMeter } from './lib/proc.js';
import { benchServices } from './lib/services.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WARMUP = 2000;
const BATCH = 100;
const PAYLOAD = 'x'.repeat(1024 - 40); // JSON body of ~1 KiB

const fixture = fileURLToPath(import.meta.resolve('@tributary/eventing/testing/ingress-process'));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

function events(prefix: string, n: number) {
  return Array.from({ length: n }, (_, i) =>
    createCloudEvent({
      type: 'dev.tributary.bench',
      source: '/bench/ingress',
      id: `${prefix}-${i}`,
      partitionkey: `k${i % 256}`,
      data: { i, payload: PAYLOAD },
    }),
  );
}

/** Runs `total` jobs on `concurrency` workers; returns events/s. */
async function drive(total: number, concurrency: number, job: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) await job(i);
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

function startIngress(config: Record<string, unknown>): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', fixture, JSON.stringify(config)],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('LISTENING')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`ingress exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const services = await benchServices(['kafka'], { reuseShared: true });
  const brokers = (services.env.KAFKA_BROKERS ?? '').split(',');
  const kafka = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  // Retries the retriable UNKNOWN_TOPIC_OR_PARTITION a busy Kafka answers right after creating a topic.
  const createTopic = (topic: string) =>
    ensureTopic(admin, {
      topic,
      numPartitions: DEFAULT_PARTITIONS,
      replicationFactor: 1,
      configEntries: [{ name: 'max.message.bytes', value: String(DEFAULT_TOPIC_MAX_MESSAGE_BYTES) }],
    });

  // Bare kafkajs, one record per send: the records the ingress would write (the events as received).
  const records = events('raw', EVENTS + WARMUP).map((e) => toKafkaMessage(e));
  const producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
  await producer.connect();
  const rawTopic = uniqueName('bench_raw');
  await createTopic(rawTopic);
  const sendOne = (i: number) =>
    producer.send({ topic: rawTopic, acks: -1, messages: [records[i]!] }).then(() => undefined);
  await drive(WARMUP, CONNECTIONS, (i) => sendOne(EVENTS + i));
  const rawCpu0 = process.cpuUsage();
  const perRecord = await drive(EVENTS, CONNECTIONS, sendOne);
  const rawCpu = process.cpuUsage(rawCpu0);
  const rawCpuUs = (rawCpu.user + rawCpu.system) / EVENTS;

  // Bare kafkajs, batched: the producer's best case.
  const batchTopic = uniqueName('bench_batch');
  await createTopic(batchTopic);
  const chunk = 1000;
  const started = performance.now();
  for (let i = 0; i < EVENTS; i += chunk) {
    await producer.send({ topic: batchTopic, acks: -1, messages: records.slice(i, i + chunk) });
  }
  const batched = EVENTS / ((performance.now() - started) / 1000);
  await producer.disconnect();

  // The ingress, in its own process, on a fresh broker topic with the same config.
  const broker = { namespace: 'bench', name: uniqueName('ingress').replace(/_/g, '-') };
  await createTopic(brokerTopic(broker));
  const port = await freePort();
  const child = await startIngress({
    backend: 'kafka',
    kafkaBrokers: brokers,
    port,
    broker,
    partitions: DEFAULT_PARTITIONS,
    catalog: true,
  });
  const bodies = events('http', EVENTS + WARMUP).map((e) => encodeHttpBinary(e));
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONNECTIONS, pipelining: 1 });
  const path = `/${broker.namespace}/${broker.name}`;
  let rejected = 0;
  const post = async (i: number) => {
    const m = bodies[i]!;
    const res = await pool.request({ path, method: 'POST', headers: m.headers, body: m.body });
    await res.body.dump();
    if (res.statusCode !== 202) rejected++;
  };
  await drive(WARMUP, CONNECTIONS, (i) => post(EVENTS + i));
  const meter = new ProcessMeter(child.pid as number);
  const ingress = await drive(EVENTS, CONNECTIONS, post);
  const ingressCpuUs = (meter.cpuSoFar() / EVENTS) * 1e6;

  // For reference: batch mode, BATCH events per request (the same events again, new ids).
  const batches: { headers: Record<string, string>; body: Buffer }[] = [];
  const again = events('batch', EVENTS);
  for (let i = 0; i < EVENTS; i += BATCH) batches.push(encodeHttpBatch(again.slice(i, i + BATCH)));
  const batchRate =
    (await drive(batches.length, Math.min(CONNECTIONS, 8), async (i) => {
      const m = batches[i]!;
      const res = await pool.request({ path, method: 'POST', headers: m.headers, body: m.body });
      await res.body.dump();
      if (res.statusCode !== 202) rejected++;
    })) * BATCH;
  await pool.close();
  const ingressPeakRss = meter.stop().peakRssMiB;
  child.kill('SIGTERM');

  const offsets = await admin.fetchTopicOffsets(brokerTopic(broker));
  const stored = offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  await admin.disconnect();
  await services.stop();

  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`events ${EVENTS} (+${WARMUP} warm-up) x ~1 KiB, ${CONNECTIONS} connections/callers, acks=-1`);
  console.log(`ingress (HTTP binary, kafka log)   ${fmt(ingress)} events/s  (non-202: ${rejected})`);
  console.log(`ingress (HTTP batch mode, ${BATCH}/request) ${fmt(batchRate)} events/s  (reference)`);
  console.log(`kafkajs per-record send            ${fmt(perRecord)} events/s`);
  console.log(`kafkajs batched sends (1000)       ${fmt(batched)} events/s  (reference)`);
  console.log(`ratio ingress / per-record kafkajs ${(ingress / perRecord).toFixed(2)}  (target >= 0.7)`);
  console.log(
    `CPU per event: ingress process ${Math.round(ingressCpuUs)} µs, bare kafkajs (this process) ${Math.round(rawCpuUs)} µs; ` +
      `peak RSS: ingress process ${Math.round(ingressPeakRss)} MiB, this process (kafkajs baseline) ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB; load ${loadAverages()}`,
  );
  console.log(`ratio ingress / batched kafkajs    ${(ingress / batched).toFixed(2)}`);
  if (stored < 2 * EVENTS + WARMUP || rejected > 0) {
    console.error(
      `FAIL: topic holds ${stored} records, expected ${2 * EVENTS + WARMUP}; ${rejected} rejected`,
    );
    process.exitCode = 1;
  }
}

await main();
