// Trigger dispatch throughput: events/s one unordered Trigger delivers from the broker log to a local
// subscriber that answers 202, against the raw rate of undici posting the same binary-mode events straight
// to the same subscriber with the same concurrency, measured in the same run.
//   node --conditions=development --import tsx bench/src/dispatch.bench.ts
// Env: BENCH_EVENTS (default 20000), BENCH_ROUNDS (2), BENCH_BACKEND (kafka | postgres, default kafka),
// BENCH_TRIGGERS (default 1: N unordered Triggers each delivering every event; the raw side posts as many).
// Each round appends BENCH_EVENTS events to a fresh broker first, then starts the dispatcher; the clock runs
// from the first delivery to the last, so consumer-group join time is not counted.
// The subscriber runs on its own thread (a subscriber is another process in production): sharing the event
// loop with the dispatcher would charge its HTTP parsing to the dispatcher and cap both at half a core.
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { type BrokerLog, createKafkaLog, createPostgresLog, TriggerDispatcher } from '@tributary/eventing';
import { resolveDelivery } from '@tributary/eventing/broker';
import { createCloudEvent, createLogger, encodeHttpBinary } from '@tributary/shared';
import { servicesToStart, startServices, uniqueName, uniqueSchema } from '@tributary/testing';
import { Agent } from 'undici';
import { loadAverages } from './lib/proc.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const BACKEND = (process.env.BENCH_BACKEND ?? 'kafka') as 'kafka' | 'postgres';
const CONCURRENCY = 100;
/** Triggers on the broker (BENCH_TRIGGERS, default 1): each delivers every event, so deliveries = events x triggers. */
const TRIGGERS = Number(process.env.BENCH_TRIGGERS ?? 1);
const DELIVERIES = EVENTS * TRIGGERS;
const logger = createLogger({ name: 'dispatch-bench', level: 'warn' });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

function makeEvents(prefix: string) {
  return Array.from({ length: EVENTS }, (_, i) =>
    createCloudEvent({
      type: 'dev.tributary.bench',
      source: '/bench/dispatch',
      id: `${prefix}-${i}`,
      partitionkey: `k${i % 64}`,
      data: { i, payload: 'x'.repeat(200) },
    }),
  );
}

const SUBSCRIBER = `
const { parentPort } = require('node:worker_threads');
const { createServer } = require('node:http');
let count = 0, first = 0, last = 0, target = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const now = performance.now();
    if (count === 0) { first = now; parentPort.postMessage({ first: true }); }
    count++;
    last = now;
    res.writeHead(202).end();
    if (count === target) parentPort.postMessage({ elapsedMs: last - first });
  });
});
server.keepAliveTimeout = 60000;
parentPort.on('message', (m) => { count = 0; first = 0; last = 0; target = m.target; parentPort.postMessage({ armed: true }); });
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ url: 'http://127.0.0.1:' + server.address().port + '/' }));
`;

/** CPU time (user + system) this thread has used, in ms (Linux: /proc/self/task/<tid>/stat, in clock ticks). */
function threadCpuMs(): number {
  try {
    const fields =
      readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

async function main(): Promise<void> {
  const wanted = servicesToStart().filter((s) => s === (BACKEND === 'kafka' ? 'kafka' : 'postgres'));
  const services = wanted.length > 0 ? await startServices({ only: wanted }) : undefined;
  const env = { ...process.env, ...(services?.env ?? {}) };

  // The subscriber: answers 202, counts arrivals and stamps first/last (on its own thread).
  const subscriber = new Worker(SUBSCRIBER, { eval: true });
  const url = await new Promise<string>((resolve, reject) => {
    subscriber.once('message', (m: { url: string }) => resolve(m.url));
    subscriber.once('error', reject);
  });
  /**
   * Arms the subscriber for `n` events (resolves once it is armed). `done` resolves once they have all
   * arrived, with the first-to-last delivery time and the CPU this thread used meanwhile (ms).
   */
  const reset = async (n: number): Promise<{ done: Promise<{ elapsedMs: number; cpuMs: number }> }> => {
    const armed = new Promise<void>((resolve) => subscriber.once('message', () => resolve()));
    subscriber.postMessage({ target: n });
    await armed;
    let cpuAtFirst = 0;
    return {
      done: new Promise((resolve) => {
        const onMessage = (m: { first?: boolean; elapsedMs?: number }) => {
          if (m.first) cpuAtFirst = threadCpuMs();
          if (m.elapsedMs === undefined) return;
          subscriber.off('message', onMessage);
          resolve({ elapsedMs: m.elapsedMs, cpuMs: threadCpuMs() - cpuAtFirst });
        };
        subscriber.on('message', onMessage);
      }),
    };
  };

  const log: BrokerLog =
    BACKEND === 'kafka'
      ? createKafkaLog({ brokers: (env.KAFKA_BROKERS ?? '').split(','), partitions: 10, logger })
      : createPostgresLog({ databaseUrl: env.DATABASE_URL as string, schema: uniqueSchema('bench'), logger });

  const raw: number[] = [];
  const disp: number[] = [];
  const rawCpu: number[] = [];
  const dispCpu: number[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      // Raw: undici's public request API (an Agent with the dispatcher's pool settings: 128 connections,
      // keep-alive, no pipelining) straight to the subscriber, CONCURRENCY requests in flight. Not the
      // dispatcher's own HTTP code, so an improvement there shows in the ratio.
      const events = makeEvents(`raw${round}`);
      const messages = events.map((e) => encodeHttpBinary(e));
      const agent = new Agent({ connections: 128, keepAliveTimeout: 30_000, pipelining: 1 });
      const { origin, pathname } = new URL(url);
      const { done } = await reset(DELIVERIES);
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY * TRIGGERS }, async () => {
          while (next < DELIVERIES) {
            const m = messages[next++ % messages.length] as { headers: Record<string, string>; body: Buffer };
            const res = await agent.request({
              origin,
              path: pathname,
              method: 'POST',
              headers: m.headers,
              body: m.body,
            });
            await res.body.dump();
          }
        }),
      );
      const r = await done;
      raw.push(DELIVERIES / (r.elapsedMs / 1000));
      rawCpu.push((r.cpuMs * 1000) / DELIVERIES);
      await agent.close();

      // Dispatch: the same number of events from the log through one unordered Trigger.
      const broker = { namespace: 'bench', name: uniqueName('dispatch') };
      await log.ensureBroker(broker);
      const stored = makeEvents(`disp${round}`);
      for (let i = 0; i < stored.length; i += 1000) await log.append(broker, stored.slice(i, i + 1000));
      const { done: finished } = await reset(DELIVERIES);
      const dispatchers = Array.from(
        { length: TRIGGERS },
        (_, t) =>
          new TriggerDispatcher({
            log,
            broker,
            trigger: {
              namespace: 'bench',
              name: `${broker.name}-${t}`,
              groupId: `knative-trigger-bench-${broker.name}-${t}`,
              initialOffset: 'earliest',
              deliveryOrder: 'unordered',
              delivery: resolveDelivery({}).options,
              predicate: () => true,
            },
            subscriberUrl: url,
            logger,
            maxInFlight: CONCURRENCY,
            lagIntervalMs: 0,
          }),
      );
      await Promise.all(dispatchers.map((d) => d.start()));
      const d = await finished;
      disp.push(DELIVERIES / (d.elapsedMs / 1000));
      dispCpu.push((d.cpuMs * 1000) / DELIVERIES);
      await Promise.all(dispatchers.map((x) => x.close()));
      console.log(
        `round ${round}: raw ${Math.round(raw.at(-1) as number)} req/s (${Math.round(rawCpu.at(-1) as number)} µs CPU each), dispatch ${Math.round(disp.at(-1) as number)} deliveries/s (${Math.round(dispCpu.at(-1) as number)} µs CPU each)`,
      );
    }
  } finally {
    await log.close();
    await subscriber.terminate();
    await services?.stop();
  }
  const r = median(raw);
  const d = median(disp);
  // CPU of this thread per event (user + system, from the first delivery to the last): the sending side's
  // cost, which a loaded machine disturbs far less than the rates.
  console.log(
    JSON.stringify({
      benchmark: 'dispatch',
      backend: BACKEND,
      events: EVENTS,
      triggers: TRIGGERS,
      rounds: ROUNDS,
      concurrency: CONCURRENCY,
      raw_req_per_s: Math.round(r),
      dispatch_per_s: Math.round(d),
      ratio: Number((d / r).toFixed(3)),
      raw_cpu_us_per_event: Math.round(median(rawCpu)),
      dispatch_cpu_us_per_event: Math.round(median(dispCpu)),
      target_per_s: 5000,
      pass: d >= 5000,
      // The bench process holds the dispatcher, the raw client and the log client (not the subscriber's
      // arrivals, which are on its thread but share the heap): an upper bound of the dispatcher's memory.
      peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024),
      load: loadAverages(),
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
