// `pnpm test:chaos`: the platform under steady load while its parts are killed and restarted, one fault at a
// time, then a check that nothing was lost. It starts its OWN Postgres and Kafka (it kills them), never the
// shared `pnpm services:up` ones. See docs/RELIABILITY.md for what it measures and the figures.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createKafkaLog, createPostgresLog } from '@tributary/eventing';
import { createLogger } from '@tributary/shared';
import {
  freePort,
  type KafkaInstance,
  type PostgresInstance,
  startKafka,
  startPostgres,
} from '@tributary/testing';
import pg from 'pg';
import { Pool } from 'undici';
import { Collector, type Delivery } from './collector.js';
import { answers, NodeService, until } from './processes.js';

const usage = `usage: pnpm test:chaos [--rate <events/s>] [--keep]

Runs Postgres, Kafka, two brokers (Kafka and Postgres log), db-events and a function under steady load and, one
at a time: kill -9 + restart of db-events, of each broker, of the function and of Kafka; a Postgres restart; a
subscriber failing then recovering; a subscriber that hangs. Then checks that every accepted (202) or committed
event reached every matching Trigger with the same source + id, that ordered Triggers kept per-key order, that
lag is back to 0 and that nothing is wedged; prints sent / accepted / delivered / duplicates and the recovery
time of each fault. Exits 1 when anything was lost or wedged.

Options:
  --rate <n>   events per second published to each broker (default 25); rows inserted at half that
  --keep       keep the work directory (logs of every process) instead of deleting it
  -h, --help   show this help

Environment: CHAOS_ENFORCE_TARGETS=1 also fails the run when a recovery target (docs/RELIABILITY.md) is missed.`;

const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    rate: { type: 'string', default: '25' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const RATE = Number(args.rate);
if (!Number.isFinite(RATE) || RATE <= 0) {
  process.stderr.write(`invalid --rate "${args.rate}"\n${usage}\n`);
  process.exit(2);
}

const REPO_ROOT = new URL('../../../', import.meta.url).pathname;
const NS = 'chaos';
const KB = 'kb'; // the broker on the Kafka log
const PB = 'pb'; // the broker on the Postgres log
const APP_TYPE = 'dev.tributary.chaos.app';
const TABLE = 'chaos_rows';
/** Recovery targets (docs/RELIABILITY.md), ms. */
const TARGET_MS = 5000;
/** How long a fault may take to recover before the run counts it as wedged. */
const RECOVERY_TIMEOUT_MS = 90_000;
/** How long a restarted process may take to boot (tsx on a busy 2-core machine: up to a minute seen). */
const BOOT_TIMEOUT_MS = 300_000;
/** How long the backlog may take to drain after the load stops. */
const DRAIN_TIMEOUT_MS = 180_000;
/** Quiet time between faults, so each recovery is measured on its own. */
const SETTLE_MS = 3000;
const logger = createLogger({ name: 'chaos', level: 'silent' });

/** The whole run may take this long at most (CI must never hang on it); about 7 minutes on a busy machine. */
const RUN_TIMEOUT_MS = 25 * 60_000;
setTimeout(() => {
  process.stdout.write(`\nchaos: FAILED, still running after ${RUN_TIMEOUT_MS / 60_000} minutes\n`);
  process.exit(1); // the exit hooks kill every process and server the run started
}, RUN_TIMEOUT_MS).unref();

const t0 = Date.now();
const say = (msg: string) =>
  process.stdout.write(`[chaos +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);

// --- the platform ---------------------------------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), 'tributary-chaos-'));
chmodSync(work, 0o755); // Postgres runs as its own OS user when this runs as root: it must reach its data dir
const logs = join(work, 'logs');
mkdirSync(logs);
say(`work directory ${work}`);

const pgPort = await freePort();
const kafkaPorts = { port: await freePort(), controllerPort: await freePort() };
const quiet = () => {};
let postgres: PostgresInstance = await startPostgres({
  dataDir: join(work, 'postgres'),
  port: pgPort,
  log: quiet,
});
let kafka: KafkaInstance = await startKafka({ dataDir: join(work, 'kafka'), ...kafkaPorts, log: quiet });
const databaseUrl = postgres.url;
say(`postgres on ${pgPort}, kafka on ${kafkaPorts.port}`);

const setup = new pg.Client({ connectionString: databaseUrl });
await setup.connect();
await setup.query(`CREATE TABLE IF NOT EXISTS public.${TABLE} (id bigint PRIMARY KEY, payload text)`);
await setup.end();

const collector = new Collector();
await collector.start();

interface TriggerSpec {
  name: string;
  broker: string;
  /** What the Trigger expects: published app events, or db rows. */
  kind: 'app' | 'db';
  ordered?: boolean;
  /** Subscriber: the collector (default) or the function. */
  viaFunction?: boolean;
  /** Delivery timeout (the hanging subscriber's Trigger gives up on a request sooner). */
  timeout?: string;
}
const triggers: TriggerSpec[] = [
  { name: 'k-all', broker: KB, kind: 'app' },
  { name: 'k-ordered', broker: KB, kind: 'app', ordered: true },
  { name: 'k-fn', broker: KB, kind: 'app', viaFunction: true },
  { name: 'k-flaky', broker: KB, kind: 'app' },
  { name: 'k-hang', broker: KB, kind: 'app', timeout: 'PT1S' },
  { name: 'p-all', broker: PB, kind: 'app' },
  { name: 'p-ordered', broker: PB, kind: 'app', ordered: true },
  { name: 'p-db', broker: PB, kind: 'db' },
  { name: 'p-flaky', broker: PB, kind: 'app' },
  { name: 'p-hang', broker: PB, kind: 'app', timeout: 'PT1S' },
];

const ports = {
  kb: await freePort(),
  pb: await freePort(),
  dbEvents: await freePort(),
  fn: await freePort(),
};
const ingress = (broker: string) => `http://127.0.0.1:${broker === KB ? ports.kb : ports.pb}/${NS}/${broker}`;

function configDir(broker: string): string {
  const dir = join(work, `config-${broker}`);
  mkdirSync(dir, { recursive: true });
  const docs = [
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: ${broker}, namespace: ${NS} }`,
  ];
  for (const t of triggers.filter((x) => x.broker === broker)) {
    const filter =
      t.kind === 'db'
        ? '  filters:\n    - prefix: { type: dev.tributary.db. }'
        : `  filter: { attributes: { type: ${APP_TYPE} } }`;
    const uri = t.viaFunction ? `http://127.0.0.1:${ports.fn}/` : `${collector.url}/${t.name}`;
    // Retries outlast any fault of the run (a function restart on a busy machine takes several seconds).
    docs.push(`apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${t.name}
  namespace: ${NS}
  annotations:
    tributary.dev/initial-offset: earliest
    kafka.eventing.knative.dev/delivery.order: ${t.ordered ? 'ordered' : 'unordered'}
spec:
  broker: ${broker}
${filter}
  subscriber: { uri: "${uri}" }
  delivery:
    retry: 200
    backoffPolicy: exponential
    backoffDelay: PT0.1S
    backoffMax: PT1S
    timeout: ${t.timeout ?? 'PT5S'}`);
  }
  writeFileSync(join(dir, 'resources.yaml'), `${docs.join('\n---\n')}\n`);
  return dir;
}

const cli = 'cli/src/index.ts';
const services = {
  kb: new NodeService(
    'broker-kafka',
    cli,
    ['broker', '--config', configDir(KB), '--port', String(ports.kb)],
    { KAFKA_BROKERS: kafka.brokers.join(','), LOG_LEVEL: 'warn' },
    REPO_ROOT,
    logs,
  ),
  pb: new NodeService(
    'broker-postgres',
    cli,
    ['broker', '--config', configDir(PB), '--port', String(ports.pb)],
    { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
    REPO_ROOT,
    logs,
  ),
  dbEvents: new NodeService(
    'db-events',
    'services/db-events/src/index.ts',
    [],
    {
      DATABASE_URL: databaseUrl,
      DB_EVENTS_SLOT: 'chaos',
      DB_EVENTS_PUBLICATION: 'chaos',
      DB_EVENTS_TABLES: `public.${TABLE}`,
      DB_EVENTS_HEARTBEAT_MS: '1000',
      K_SINK: ingress(PB),
      PORT: String(ports.dbEvents),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    },
    REPO_ROOT,
    logs,
  ),
  fn: new NodeService(
    'function',
    'services/functions/runtime/src/main.ts',
    [],
    {
      FUNCTION_PATH: join(REPO_ROOT, 'bench/src/chaos/function.ts'),
      FUNCTION_NAME: 'chaos',
      CHAOS_COLLECTOR_URL: `${collector.url}/k-fn`,
      PORT: String(ports.fn),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    },
    REPO_ROOT,
    logs,
  ),
};
/** Answers once the process listens (its boot is over), before it is ready for anything. */
const listening = {
  kb: () => answers(`http://127.0.0.1:${ports.kb}/healthz`),
  pb: () => answers(`http://127.0.0.1:${ports.pb}/healthz`),
  dbEvents: () => answers(`http://127.0.0.1:${ports.dbEvents}/healthz`),
  fn: () => answers(`http://127.0.0.1:${ports.fn}/health/liveness`),
};
const health = {
  kb: () => answers(`http://127.0.0.1:${ports.kb}/readyz`),
  pb: () => answers(`http://127.0.0.1:${ports.pb}/readyz`),
  dbEvents: () => answers(`http://127.0.0.1:${ports.dbEvents}/readyz`),
  fn: () => answers(`http://127.0.0.1:${ports.fn}/health/readiness`),
};

for (const s of Object.values(services)) s.start();
for (const [name, ok] of Object.entries(health)) {
  if ((await until(ok, 180_000, 100)) === undefined)
    throw new Error(`${name} did not become ready (see ${logs})`);
}
say('brokers, db-events and the function are up');

// --- the load ---------------------------------------------------------------------------------------------

interface Published {
  id: string;
  key: string;
  seq: number;
}
/** Per broker: what was sent, what was accepted (202), and when the last 202 came. */
const load = {
  [KB]: {
    sent: 0,
    accepted: [] as Published[],
    failed: 0,
    failures: [] as { at: number; ms: number }[],
    lastOk: 0,
  },
  [PB]: {
    sent: 0,
    accepted: [] as Published[],
    failed: 0,
    failures: [] as { at: number; ms: number }[],
    lastOk: 0,
  },
};
const rows = { sent: 0, committed: [] as number[], failed: 0 };
let loadRunning = true;
const PUBLISHERS = 4;
const KEYS_PER_PUBLISHER = 5;

async function publisher(broker: string, n: number): Promise<void> {
  const url = new URL(ingress(broker));
  const pool = new Pool(url.origin, {
    connections: 1,
    pipelining: 1,
    headersTimeout: 15_000,
    bodyTimeout: 15_000,
  });
  const stats = load[broker as keyof typeof load];
  const interval = (1000 * PUBLISHERS) / RATE;
  let seq = 0;
  let next = Date.now();
  while (loadRunning) {
    const s = seq++;
    const key = `key-${n}-${s % KEYS_PER_PUBLISHER}`;
    const id = `${broker}-${n}-${s}`;
    stats.sent++;
    const started = Date.now();
    try {
      const res = await pool.request({
        path: url.pathname,
        method: 'POST',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': id,
          'ce-source': '/chaos',
          'ce-type': APP_TYPE,
          'ce-partitionkey': key,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ seq: s, key }),
      });
      await res.body.dump();
      if (res.statusCode === 202) {
        stats.accepted.push({ id, key, seq: s });
        stats.lastOk = Date.now();
      } else {
        stats.failed++;
        stats.failures.push({ at: Date.now(), ms: Date.now() - started });
      }
    } catch {
      stats.failed++;
      stats.failures.push({ at: Date.now(), ms: Date.now() - started });
    }
    next += interval;
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else next = Date.now(); // behind (an outage): do not burst to catch up
  }
  await pool.close();
}

async function inserter(): Promise<void> {
  let client: pg.Client | undefined;
  let id = 0;
  const interval = 2000 / RATE;
  while (loadRunning) {
    try {
      if (!client) {
        const c = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 2000 });
        c.on('error', () => {});
        await c.connect();
        client = c;
      }
      const row = ++id;
      rows.sent++;
      await client.query(`INSERT INTO public.${TABLE} (id, payload) VALUES ($1, $2)`, [row, `row ${row}`]);
      rows.committed.push(row);
    } catch {
      rows.failed++;
      await client?.end().catch(() => {});
      client = undefined;
    }
    await new Promise((r) => setTimeout(r, interval));
  }
  await client?.end().catch(() => {});
}

const loops = [
  ...Array.from({ length: PUBLISHERS }, (_, n) => publisher(KB, n)),
  ...Array.from({ length: PUBLISHERS }, (_, n) => publisher(PB, n)),
  inserter(),
];
say(`load: ${RATE} events/s to each broker, ${RATE / 2} rows/s`);
await new Promise((r) => setTimeout(r, 5000));

// --- the faults -------------------------------------------------------------------------------------------

interface FaultResult {
  fault: string;
  /** What "recovered" means for this fault. */
  measure: string;
  ms: number | undefined;
  target?: number;
}
const results: FaultResult[] = [];
const problems: string[] = [];

function record(fault: string, measure: string, from: number, at: number | undefined, target?: number) {
  const ms = at === undefined ? undefined : at - from;
  results.push({ fault, measure, ms, ...(target !== undefined ? { target } : {}) });
  say(`  ${measure}: ${ms === undefined ? 'NOT RECOVERED' : `${(ms / 1000).toFixed(2)} s`}`);
  if (ms === undefined) problems.push(`${fault}: ${measure} did not happen in time (wedged?)`);
}

/**
 * Starts a server again on its old data dir and port, retrying while the killed one is still letting go of
 * them (on a busy machine its last processes can take seconds to exit).
 */
async function retrying<T>(what: string, start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= 10) throw err;
      say(`  ${what} did not start yet (${(err as Error).message.split('\n')[0]}); retrying`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

const acceptedAfter = (broker: string, since: number) => () =>
  load[broker as keyof typeof load].lastOk >= since;
const deliveredAfter = (trigger: string, since: number) => () =>
  collector.firstSince(trigger, since) !== undefined;
const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

/**
 * kill -9, restart, and wait for the new process to listen. Returns when it listens: recovery is measured
 * from there. The boot itself (loading TypeScript through tsx) is recorded apart: it is the machine's speed,
 * not the platform's recovery, and on a busy shared machine it dwarfs everything else.
 */
async function restartService(key: keyof typeof services, fault: string): Promise<number> {
  say(`fault: ${fault}`);
  await services[key].kill9();
  await new Promise((r) => setTimeout(r, 500));
  services[key].start();
  const started = services[key].startedAt;
  const up = await until(listening[key], BOOT_TIMEOUT_MS);
  record(fault, 'process boot (spawn to listening)', started, up);
  return up ?? Date.now();
}

{
  const fault = 'kill -9 db-events';
  const restarted = await restartService('dbEvents', fault);
  record(
    fault,
    'db-events streaming (/readyz), from listening',
    restarted,
    await until(health.dbEvents, RECOVERY_TIMEOUT_MS),
    TARGET_MS,
  );
  record(
    fault,
    'first row delivered, from listening',
    restarted,
    await until(deliveredAfter('p-db', restarted), RECOVERY_TIMEOUT_MS),
  );
  await settle();
}
for (const [key, broker, trig] of [
  ['kb', KB, 'k-all'],
  ['pb', PB, 'p-all'],
] as const) {
  const fault = `kill -9 broker (${broker === KB ? 'Kafka' : 'Postgres'} log)`;
  const restarted = await restartService(key, fault);
  record(
    fault,
    'ingress accepting (202), from listening',
    restarted,
    await until(acceptedAfter(broker, restarted), RECOVERY_TIMEOUT_MS),
    TARGET_MS,
  );
  record(
    fault,
    'deliveries flowing, from listening',
    restarted,
    await until(deliveredAfter(trig, restarted), RECOVERY_TIMEOUT_MS),
  );
  await settle();
}
{
  const fault = 'kill -9 function';
  const restarted = await restartService('fn', fault);
  record(
    fault,
    'function delivering again, from listening',
    restarted,
    await until(deliveredAfter('k-fn', restarted), RECOVERY_TIMEOUT_MS),
  );
  await settle();
}
let outage503: number[] = [];
{
  const fault = 'kill -9 Kafka';
  say(`fault: ${fault}`);
  process.kill(kafka.pid, 'SIGKILL');
  const killedAt = Date.now();
  await new Promise((r) => setTimeout(r, 8000)); // the outage
  kafka = await retrying('Kafka', () =>
    startKafka({ dataDir: join(work, 'kafka'), ...kafkaPorts, log: quiet }),
  );
  const back = Date.now();
  // Publishes refused while Kafka was down, and how long each took to be refused.
  outage503 = load[KB].failures.filter((f) => f.at >= killedAt && f.at < back).map((f) => f.ms);
  say(`  Kafka back after ${((back - killedAt) / 1000).toFixed(1)} s`);
  record(
    fault,
    'ingress accepting (202) after Kafka is back',
    back,
    await until(acceptedAfter(KB, back), RECOVERY_TIMEOUT_MS),
    TARGET_MS,
  );
  record(
    fault,
    'deliveries flowing after Kafka is back',
    back,
    await until(deliveredAfter('k-all', back), RECOVERY_TIMEOUT_MS),
  );
  await settle();
}
{
  const fault = 'Postgres restart';
  say(`fault: ${fault}`);
  await postgres.stop();
  await new Promise((r) => setTimeout(r, 2000));
  postgres = await retrying('Postgres', () =>
    startPostgres({ dataDir: join(work, 'postgres'), port: pgPort, log: quiet }),
  );
  const back = Date.now();
  record(
    fault,
    'Postgres-log ingress accepting (202) after Postgres is back',
    back,
    await until(acceptedAfter(PB, back), RECOVERY_TIMEOUT_MS),
    TARGET_MS,
  );
  record(
    fault,
    'db-events streaming again (/readyz) after Postgres is back',
    back,
    await until(health.dbEvents, RECOVERY_TIMEOUT_MS),
    TARGET_MS,
  );
  record(
    fault,
    'first row delivered after Postgres is back',
    back,
    await until(deliveredAfter('p-db', back), RECOVERY_TIMEOUT_MS),
  );
  await settle();
}
{
  const fault = 'subscriber failing (500) for 6 s';
  say(`fault: ${fault}`);
  collector.set('k-flaky', 'fail');
  collector.set('p-flaky', 'fail');
  await new Promise((r) => setTimeout(r, 6000));
  collector.set('k-flaky', 'ok');
  collector.set('p-flaky', 'ok');
  const back = Date.now();
  record(
    fault,
    'Kafka-log Trigger delivering again after recovery',
    back,
    await until(deliveredAfter('k-flaky', back), RECOVERY_TIMEOUT_MS),
  );
  record(
    fault,
    'Postgres-log Trigger delivering again after recovery',
    back,
    await until(deliveredAfter('p-flaky', back), RECOVERY_TIMEOUT_MS),
  );
  await settle();
}
{
  const fault = 'subscriber hanging for 6 s';
  say(`fault: ${fault}`);
  collector.set('k-hang', 'hang');
  collector.set('p-hang', 'hang');
  await new Promise((r) => setTimeout(r, 6000));
  collector.set('k-hang', 'ok');
  collector.set('p-hang', 'ok');
  const back = Date.now();
  record(
    fault,
    'Kafka-log Trigger delivering again after recovery',
    back,
    await until(deliveredAfter('k-hang', back), RECOVERY_TIMEOUT_MS),
  );
  record(
    fault,
    'Postgres-log Trigger delivering again after recovery',
    back,
    await until(deliveredAfter('p-hang', back), RECOVERY_TIMEOUT_MS),
  );
  await settle();
}

loadRunning = false;
await Promise.all(loops);
say('load stopped; waiting for every Trigger to drain');

// --- the checks -------------------------------------------------------------------------------------------

const byTrigger = new Map<string, Delivery[]>();
for (const t of triggers) byTrigger.set(t.name, []);
const refresh = () => {
  for (const list of byTrigger.values()) list.length = 0;
  for (const d of collector.deliveries) byTrigger.get(d.trigger)?.push(d);
};

/** Row id -> the CloudEvent id db-events gave it (from the first delivery). */
function missing(t: TriggerSpec): string[] {
  const got = byTrigger.get(t.name) ?? [];
  if (t.kind === 'db') {
    const seen = new Set(got.map((d) => d.subject));
    return rows.committed.filter((r) => !seen.has(String(r))).map(String);
  }
  const seen = new Set(got.map((d) => d.id));
  return load[t.broker as keyof typeof load].accepted.filter((p) => !seen.has(p.id)).map((p) => p.id);
}

const kafkaLog = createKafkaLog({ brokers: kafka.brokers, logger });
const pgLog = createPostgresLog({ databaseUrl, logger });
async function lag(t: TriggerSpec): Promise<number> {
  const log = t.broker === KB ? kafkaLog : pgLog;
  const parts = await log.lag({ namespace: NS, name: t.broker }, `knative-trigger-${NS}-${t.name}`);
  return parts.reduce((s, p) => s + p.events, 0);
}

const drainStarted = Date.now();
const drained = await until(
  async () => {
    refresh();
    if (triggers.some((t) => missing(t).length > 0)) return false;
    for (const t of triggers) if ((await lag(t)) > 0) return false;
    return true;
  },
  DRAIN_TIMEOUT_MS,
  500,
);
refresh();
say(drained ? `drained in ${((drained - drainStarted) / 1000).toFixed(1)} s` : 'NOT drained');

// Not wedged: every process alive and healthy, and a fresh event still goes all the way through.
for (const [name, ok] of Object.entries(health)) {
  if (!services[name as keyof typeof services].running) problems.push(`${name} is not running`);
  else if (!(await ok())) problems.push(`${name} is not healthy`);
}
const finalAt = Date.now();
for (const broker of [KB, PB]) {
  const res = await fetch(ingress(broker), {
    method: 'POST',
    headers: {
      'ce-specversion': '1.0',
      'ce-id': `final-${broker}`,
      'ce-source': '/chaos',
      'ce-type': APP_TYPE,
      'content-type': 'application/json',
    },
    body: '{}',
  });
  if (res.status !== 202) problems.push(`a final event to ${broker} got ${res.status}`);
}
const finalDone = await until(
  () =>
    triggers
      .filter((t) => t.kind === 'app')
      .every((t) => collector.firstSince(t.name, finalAt) !== undefined),
  60_000,
  100,
);
if (finalDone === undefined) problems.push('a final event did not reach every Trigger within 60 s (wedged)');

const table: Record<string, unknown>[] = [];
let totalLost = 0;
for (const t of triggers) {
  const got = byTrigger.get(t.name) ?? [];
  const lost = missing(t);
  totalLost += lost.length;
  const counts = new Map<string, number>();
  for (const d of got) counts.set(`${d.source} ${d.id}`, (counts.get(`${d.source} ${d.id}`) ?? 0) + 1);
  const duplicates = [...counts.values()].reduce((s, n) => s + n - 1, 0);
  const expected =
    t.kind === 'db' ? rows.committed.length : load[t.broker as keyof typeof load].accepted.length;
  if (lost.length > 0) problems.push(`${t.name}: ${lost.length} lost, e.g. ${lost.slice(0, 5).join(', ')}`);
  // Redelivered events keep their source + id: a row delivered under two ids would be a new event.
  if (t.kind === 'db') {
    const idsBySubject = new Map<string, Set<string>>();
    for (const d of got) {
      const s = idsBySubject.get(d.subject ?? '') ?? new Set<string>();
      s.add(`${d.source} ${d.id}`);
      idsBySubject.set(d.subject ?? '', s);
    }
    const changed = [...idsBySubject].filter(([, ids]) => ids.size > 1);
    if (changed.length > 0) problems.push(`${t.name}: ${changed.length} rows redelivered under another id`);
  }
  // Ordered: per key, the first delivery of each event comes in publish order.
  let outOfOrder = 0;
  if (t.ordered) {
    const last = new Map<string, number>();
    const seen = new Set<string>();
    for (const d of got) {
      if (seen.has(d.id) || d.key === undefined || d.seq === undefined) continue;
      seen.add(d.id);
      if ((last.get(d.key) ?? -1) > d.seq) outOfOrder++;
      last.set(d.key, d.seq);
    }
    if (outOfOrder > 0) problems.push(`${t.name}: ${outOfOrder} events out of per-key order`);
  }
  const lagNow = await lag(t).catch(() => -1);
  if (lagNow !== 0) problems.push(`${t.name}: lag ${lagNow} after the drain`);
  table.push({
    trigger: t.name,
    log: t.broker === KB ? 'kafka' : 'postgres',
    expected,
    delivered: counts.size,
    duplicates,
    lost: lost.length,
    ...(t.ordered ? { outOfOrder } : {}),
    lag: lagNow,
  });
}

const summary = {
  sent: { [KB]: load[KB].sent, [PB]: load[PB].sent, rows: rows.sent },
  accepted: { [KB]: load[KB].accepted.length, [PB]: load[PB].accepted.length, rows: rows.committed.length },
  refused: { [KB]: load[KB].failed, [PB]: load[PB].failed, rows: rows.failed },
  lost: totalLost,
};
const sorted = [...outage503].sort((a, b) => a - b);
const median503 = sorted.length > 0 ? sorted[Math.floor(sorted.length / 2)] : undefined;

process.stdout.write('\n== chaos: events ==\n');
console.table(table);
process.stdout.write(`${JSON.stringify(summary)}\n`);
process.stdout.write('\n== chaos: recovery per fault ==\n');
console.table(
  results.map((r) => ({
    fault: r.fault,
    measure: r.measure,
    seconds: r.ms === undefined ? 'never' : (r.ms / 1000).toFixed(2),
    target:
      r.target === undefined
        ? ''
        : `<= ${r.target / 1000} s ${r.ms !== undefined && r.ms <= r.target ? 'ok' : 'MISSED'}`,
  })),
);
const longest = new Map<string, number>();
for (const r of results) {
  if (r.measure.startsWith('process boot')) continue; // the machine's speed, shown above
  longest.set(r.fault, Math.max(longest.get(r.fault) ?? 0, r.ms ?? Number.POSITIVE_INFINITY));
}
process.stdout.write('longest recovery per fault (after the restarted process listens):\n');
for (const [fault, ms] of longest) process.stdout.write(`  ${fault}: ${(ms / 1000).toFixed(2)} s\n`);
process.stdout.write(
  `Kafka outage: ${outage503.length} publishes refused, median ${median503 ?? '-'} ms, max ${sorted.at(-1) ?? '-'} ms (the first ones, in flight at the kill, wait out the 10 s append timeout)\n`,
);
writeFileSync(join(work, 'results.json'), JSON.stringify({ summary, table, results, median503 }, null, 2));

if (process.env.CHAOS_ENFORCE_TARGETS === '1') {
  for (const r of results) {
    if (r.target !== undefined && r.ms !== undefined && r.ms > r.target)
      problems.push(`${r.fault}: ${r.measure} took ${r.ms} ms (target ${r.target} ms)`);
  }
}

// --- tear down --------------------------------------------------------------------------------------------

await kafkaLog.close().catch(() => {});
await pgLog.close().catch(() => {});
await Promise.allSettled(Object.values(services).map((s) => s.stop()));
await collector.close();
await kafka.stop().catch(() => {});
await postgres.stop().catch(() => {});
if (problems.length > 0 || args.keep) say(`logs kept in ${logs}`);
else rmSync(work, { recursive: true, force: true });

if (problems.length > 0) {
  process.stdout.write(`\nchaos: FAILED\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`\nchaos: ok, 0 lost across ${results.length} recovery measurements\n`);
process.exit(0);
