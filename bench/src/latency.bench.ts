// Publish-to-delivery latency on the Kafka backend: events POSTed to the broker ingress at a fixed rate
// (default 1,000/s, binary mode, keep-alive) until the Trigger's subscriber receives them, p50/p99, against
// the raw latency of the same POSTs sent straight to the subscriber at the same rate in the same run. A
// third run appends the events to the log directly (no ingress), isolating the dispatch path.
//   node --conditions=development --import tsx bench/src/latency.bench.ts
// Env: BENCH_RATE (default 1000 events/s), BENCH_SECONDS (default 10 per path and round), BENCH_ROUNDS
// (default 3; latencies are pooled over the rounds), BENCH_BACKEND (kafka | postgres),
// BENCH_WARMUP_SECONDS (default 3: events sent at the rate before the clock starts, not measured).
// The warm-up covers the start-up transient of a fresh process (JIT, connection pools, the consumer catching
// up): with 1 s, its tail (~1.2-1.5 s of p90 100-260 ms at 1,000/s on Kafka) fell into the measured window.
// The broker (ingress + dispatcher) runs in its own process, as `tributary broker` does in production, so
// the load generator's CPU is not charged to it; BENCH_BROKER_SPLIT=1 runs the ingress and the dispatcher in
// two processes (the Knative Kafka broker's receiver/dispatcher split). The broker process reports its CPU
// per event and event-loop delay for the measured run. BENCH_CHILD_NODE_ARGS passes node flags to the broker
// process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"). The subscriber runs on a thread of the bench process (it
// is another process in production); send and arrival times are taken with the same monotonic clock
// (process.hrtime) on both sides.
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  type BrokerLog,
  createHttpAgent,
  createKafkaLog,
  createPostgresLog,
  postEvent,
} from '@tributary/eventing';
import { parseResources, startBroker } from '@tributary/eventing/broker';
import { type CloudEvent, createCloudEvent, createLogger, encodeHttpBinary } from '@tributary/shared';
import { servicesToStart, startServices, uniqueName, uniqueSchema } from '@tributary/testing';

const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const BACKEND = (process.env.BENCH_BACKEND ?? 'kafka') as 'kafka' | 'postgres';
const WARMUP_S = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const logger = createLogger({ name: 'latency-bench', level: 'warn' });

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)] as number;
}

/** The subscriber thread: answers 202 and reports each event's arrival (ce-id, hrtime ns) every few ms. */
const SUBSCRIBER = `
const { parentPort } = require('node:worker_threads');
const { createServer } = require('node:http');
let arrivals = [];
const server = createServer((req, res) => {
  const now = process.hrtime.bigint();
  const id = String(req.headers['ce-id']);
  req.resume();
  req.on('end', () => {
    arrivals.push([id, now]);
    res.writeHead(202).end();
  });
});
server.keepAliveTimeout = 60000;
setInterval(() => {
  if (arrivals.length === 0) return;
  parentPort.postMessage({ arrivals });
  arrivals = [];
}, 2).unref();
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ url: 'http://127.0.0.1:' + server.address().port + '/' }));
`;

async function main(): Promise<void> {
  const wanted = servicesToStart().filter((s) => s === (BACKEND === 'kafka' ? 'kafka' : 'postgres'));
  const services = wanted.length > 0 ? await startServices({ only: wanted }) : undefined;
  const env = { ...process.env, ...(services?.env ?? {}) };

  const sentAt = new Map<string, bigint>();
  const latencies: number[] = [];
  const subscriber = new Worker(SUBSCRIBER, { eval: true });
  const subUrl = await new Promise<string>((resolve, reject) => {
    subscriber.once('message', (m: { url: string }) => resolve(m.url));
    subscriber.once('error', reject);
  });
  subscriber.on('message', (m: { arrivals?: [string, bigint][] }) => {
    for (const [id, at] of m.arrivals ?? []) {
      const t0 = sentAt.get(id);
      if (t0 !== undefined) {
        latencies.push(Number(at - t0) / 1e6);
        sentAt.delete(id);
      }
    }
  });

  const name = uniqueName('latency').replace(/_/g, '-');
  const schema = uniqueSchema('latency');
  const log = openLog(env, schema);
  const split = process.env.BENCH_BROKER_SPLIT === '1';
  const child = await startBrokerProcess(env, {
    name,
    schema,
    subscriberUrl: subUrl,
    role: split ? 'ingress' : 'all',
  });
  const dispatcherChild = split
    ? await startBrokerProcess(env, { name, schema, subscriberUrl: subUrl, role: 'dispatcher' })
    : undefined;
  const ingressUrl = child.ingressUrl;
  const agent = createHttpAgent(64);

  type Send = (
    msg: { headers: Record<string, string>; body: Buffer },
    event: CloudEvent<unknown>,
  ) => Promise<boolean>;
  /** Time from sending a POST to its response (ms), for the measured events of the current run. */
  const acks: number[] = [];
  const viaHttp =
    (url: string): Send =>
    async (msg, event) => {
      const t0 = process.hrtime.bigint();
      const res = await postEvent(agent, url, {
        headers: msg.headers,
        body: msg.body,
        timeoutMs: 30_000,
        readBody: () => false,
      });
      if (!String(event.id).endsWith('-w')) acks.push(Number(process.hrtime.bigint() - t0) / 1e6);
      return res.status === 202;
    };
  const brokerRef = { namespace: 'bench', name };
  const viaLog: Send = async (_msg, event) => {
    await log.append(brokerRef, [event]);
    return true;
  };

  let lastAcks: number[] = [];
  /** Sends RATE events/s for SECONDS (+ warm-up) with `send`; returns the latencies after the warm-up. */
  async function run(label: string, send: Send): Promise<number[]> {
    latencies.length = 0;
    acks.length = 0;
    sentAt.clear();
    const total = RATE * (SECONDS + WARMUP_S);
    const warm = RATE * WARMUP_S;
    const start = performance.now();
    const inflight: Promise<unknown>[] = [];
    const keep: number[] = [];
    let failures = 0;
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const id = i < warm ? `${label}-${i}-w` : `${label}-${i}`;
      const event = createCloudEvent({
        type: 'dev.tributary.bench',
        source: '/bench/latency',
        id,
        partitionkey: `k${i % 32}`,
        data: { i },
      });
      const msg = encodeHttpBinary(event);
      if (i >= warm) sentAt.set(id, process.hrtime.bigint());
      const p = send(msg, event)
        .then((ok) => {
          if (!ok) failures++;
        })
        .catch(() => {
          failures++;
        });
      inflight.push(p);
      if (inflight.length > 2000) await Promise.all(inflight.splice(0, 1000));
    }
    await Promise.all(inflight);
    const deadline = performance.now() + 30_000;
    while (sentAt.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    keep.push(...latencies);
    const achieved = total / ((performance.now() - start) / 1000);
    if (failures > 0 || sentAt.size > 0)
      console.log(`${label}: ${failures} failed posts, ${sentAt.size} undelivered`);
    const acked = acks.sort((a, b) => a - b);
    const ackNote =
      acked.length > 0
        ? `; response p50 ${percentile(acked, 50).toFixed(2)} ms, p99 ${percentile(acked, 99).toFixed(2)} ms`
        : '';
    const sorted = keep.sort((a, b) => a - b);
    console.log(
      `${label}: offered ${RATE}/s, ${keep.length} measured, ~${Math.round(achieved)}/s overall; delivery p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms${ackNote}`,
    );
    lastAcks = acked;
    return sorted;
  }

  try {
    // A few events first so the consumer group is assigned before the clock starts.
    const warm = encodeHttpBinary(
      createCloudEvent({ type: 'dev.tributary.bench', source: '/bench/latency', id: 'hello' }),
    );
    await postEvent(agent, ingressUrl, {
      headers: warm.headers,
      body: warm.body,
      timeoutMs: 30_000,
      readBody: () => false,
    });
    await new Promise((r) => setTimeout(r, 3000));

    // ROUNDS rounds of the three paths, interleaved so that a noisy stretch of the shared machine hits all
    // three alike; latencies are pooled across rounds, and each round's p99 is printed too.
    const raw: number[] = [];
    const appended: number[] = [];
    const e2e: number[] = [];
    const acks: number[] = [];
    const roundP99: number[] = [];
    const reports: ChildReport[] = [];
    const children = [child, ...(dispatcherChild ? [dispatcherChild] : [])];
    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`round ${round}/${ROUNDS}`);
      raw.push(...(await run(`raw${round}`, viaHttp(subUrl))));
      appended.push(...(await run(`log-append${round}`, viaLog)));
      for (const c of children) c.mark();
      const e = await run(`broker${round}`, viaHttp(ingressUrl));
      const rs = await Promise.all(children.map((c) => c.report()));
      const events = RATE * (SECONDS + WARMUP_S);
      for (const r of rs) {
        console.log(
          `  broker process (${r.role}): ${((r.cpuMs / r.wallMs) * 100).toFixed(0)}% of a core, ${Math.round((r.cpuMs * 1000) / events)} µs CPU per event; event-loop delay p99 ${r.loopP99Ms.toFixed(1)} ms, max ${r.loopMaxMs.toFixed(1)} ms`,
        );
      }
      reports.push(...rs);
      e2e.push(...e);
      acks.push(...lastAcks);
      roundP99.push(percentile(e, 99));
    }
    for (const xs of [raw, appended, e2e, acks]) xs.sort((a, b) => a - b);
    const fmt = (x: number) => Number(x.toFixed(2));
    const events = RATE * (SECONDS + WARMUP_S);
    const byRole = new Map<string, ChildReport[]>();
    for (const r of reports) byRole.set(r.role, [...(byRole.get(r.role) ?? []), r]);
    console.log(
      JSON.stringify({
        benchmark: 'latency',
        backend: BACKEND,
        rate_per_s: RATE,
        seconds: SECONDS,
        rounds: ROUNDS,
        raw_p50_ms: fmt(percentile(raw, 50)),
        raw_p99_ms: fmt(percentile(raw, 99)),
        append_to_delivery_p50_ms: fmt(percentile(appended, 50)),
        append_to_delivery_p99_ms: fmt(percentile(appended, 99)),
        ingress_response_p50_ms: fmt(percentile(acks, 50)),
        ingress_response_p99_ms: fmt(percentile(acks, 99)),
        p50_ms: fmt(percentile(e2e, 50)),
        p99_ms: fmt(percentile(e2e, 99)),
        p99_ms_by_round: roundP99.map(fmt),
        max_ms: fmt(e2e.at(-1) ?? Number.NaN),
        broker_processes: [...byRole].map(([role, rs]) => ({
          role,
          cpu_us_per_event: Math.round((median(rs.map((r) => r.cpuMs)) * 1000) / events),
          event_loop_p99_ms: fmt(median(rs.map((r) => r.loopP99Ms))),
        })),
        target_p99_ms: 50,
        pass: percentile(e2e, 99) < 50,
      }),
    );
  } finally {
    await agent.close();
    await child.stop();
    await dispatcherChild?.stop();
    await log.close();
    await subscriber.terminate();
    await services?.stop();
  }
}

function openLog(env: NodeJS.ProcessEnv, schema: string): BrokerLog {
  return BACKEND === 'kafka'
    ? createKafkaLog({
        brokers: (env.KAFKA_BROKERS ?? '').split(','),
        partitions: 10,
        logger,
        ...(env.BENCH_KAFKA_MAX_WAIT_MS ? { maxWaitTimeMs: Number(env.BENCH_KAFKA_MAX_WAIT_MS) } : {}),
      })
    : createPostgresLog({ databaseUrl: env.DATABASE_URL as string, schema, logger });
}

interface ChildReport {
  role: BrokerChildArgs['role'];
  cpuMs: number;
  wallMs: number;
  loopP99Ms: number;
  loopMaxMs: number;
}

interface BrokerChild {
  ingressUrl: string;
  mark(): void;
  report(): Promise<ChildReport>;
  stop(): Promise<void>;
}

interface BrokerChildArgs {
  role: 'all' | 'ingress' | 'dispatcher';
  name: string;
  schema: string;
  subscriberUrl: string;
}

/** Starts this file as the broker process (ingress + one Trigger to the subscriber); resolves once it listens. */
async function startBrokerProcess(env: NodeJS.ProcessEnv, args: BrokerChildArgs): Promise<BrokerChild> {
  const proc = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean),
      '--conditions=development',
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
    ],
    {
      env: { ...env, LATENCY_BENCH_BROKER: JSON.stringify(args) },
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    },
  );
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const lines = createInterface({ input: proc.stdout as NonNullable<typeof proc.stdout> });
  const ingressUrl = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line.startsWith('{"ingress"')) resolve((JSON.parse(line) as { ingress: string }).ingress);
      else console.log(line);
    });
    proc.once('exit', (code) => reject(new Error(`broker process exited (${code}) before listening`)));
  });
  return {
    ingressUrl,
    mark: () => proc.send({ cmd: 'mark' }),
    report: () =>
      new Promise<ChildReport>((resolve) => {
        proc.once('message', (m) => resolve(m as ChildReport));
        proc.send({ cmd: 'report' });
      }),
    stop: async () => {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** The broker process: what `tributary broker` runs, for one Broker and one Trigger. */
async function brokerChild(args: BrokerChildArgs): Promise<void> {
  const log = openLog(process.env, args.schema);
  const resources = parseResources([
    {
      file: 'bench.yaml',
      text: `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: ${args.name}, namespace: bench }
${
  args.role === 'ingress'
    ? ''
    : `---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: all, namespace: bench }
spec:
  broker: ${args.name}
  subscriber: { uri: "${args.subscriberUrl}" }
`
}`,
    },
  ]);
  const broker = await startBroker({ resources, log, logger, port: 0, dispatch: { lagIntervalMs: 0 } });
  console.log(JSON.stringify({ ingress: broker.brokerUrl({ namespace: 'bench', name: args.name }) }));
  // The parent marks the start of a measured run and asks for this process' CPU and event-loop delay after.
  const loop = monitorEventLoopDelay({ resolution: 1 });
  let cpu0 = process.cpuUsage();
  let t0 = performance.now();
  process.on('message', (m: { cmd?: string }) => {
    if (m.cmd === 'mark') {
      loop.reset();
      loop.enable();
      cpu0 = process.cpuUsage();
      t0 = performance.now();
    } else if (m.cmd === 'report') {
      loop.disable();
      const cpu = process.cpuUsage(cpu0);
      const report: ChildReport = {
        role: args.role,
        cpuMs: (cpu.user + cpu.system) / 1000,
        wallMs: performance.now() - t0,
        loopP99Ms: loop.percentile(99) / 1e6,
        loopMaxMs: loop.max / 1e6,
      };
      process.send?.(report);
    }
  });
  process.once('SIGTERM', () => {
    void broker
      .close()
      .then(() => log.close())
      .finally(() => process.exit(0));
  });
}

const childArgs = process.env.LATENCY_BENCH_BROKER;
(childArgs ? brokerChild(JSON.parse(childArgs) as BrokerChildArgs) : main()).catch((err) => {
  console.error(err);
  process.exit(1);
});
