// Table backfill throughput (db-events, src/backfill/) against a raw `COPY (SELECT ...) TO STDOUT` of the same
// table in the same run.
//   node --conditions=development --import tsx bench/src/backfill.bench.ts
// Uses DATABASE_URL when set, else starts Postgres 17 for the run.
//
// One table of BENCH_BACKFILL_ROWS rows (default 200,000: int8 key, text, numeric, timestamptz, jsonb, bool).
// Raw: `COPY (SELECT * FROM t ORDER BY id) TO STDOUT` read by a node-postgres client (the bytes counted, nothing
// parsed), once before and once after the backfills; the faster one is the baseline. Backfill: the db-events
// engine streaming its slot, with a sink that accepts at once, and a backfill of the whole table started with
// the SQL function; rate = rows / (finished_at - started_at) from the progress table, i.e. from the start of
// the first chunk to the moment the sink accepted the last read event. Run for chunks of 1,024 rows (Debezium's
// default) and of BENCH_BACKFILL_CHUNK (default 10,000, db-events' default); BENCH_BACKFILL_CHUNKS=a,b picks
// others. BENCH_BACKFILL_ENCODE=1 makes the sink encode every event as a Kafka record. Peak RSS of this process
// is sampled every 20 ms in each phase.
import { loadavg } from 'node:os';
import { BackfillRunner, createMetrics, DbEvents, type Sink } from '@tributary/db-events';
import { createLogger, toKafkaMessage } from '@tributary/shared';
import { uniqueName } from '@tributary/testing';
import type { CloudEvent } from 'cloudevents';
import pg from 'pg';
import { Registry } from 'prom-client';
import { benchServices, runBench } from './lib/services.js';

const ROWS = Number(process.env.BENCH_BACKFILL_ROWS ?? 200_000);
const BIG_CHUNK = Number(process.env.BENCH_BACKFILL_CHUNK ?? 10_000);
/** The chunk sizes run, in order (e.g. `BENCH_BACKFILL_CHUNKS=10000` to profile one). */
const CHUNKS = (process.env.BENCH_BACKFILL_CHUNKS ?? `1024,${BIG_CHUNK}`).split(',').map(Number);

/**
 * With BENCH_BACKFILL_ENCODE=1 the sink also encodes every event as the Kafka sink does (`toKafkaMessage`:
 * headers, key and the `data` bytes), so the figure includes what db-events spends per row up to the producer.
 */
const ENCODE = process.env.BENCH_BACKFILL_ENCODE === '1';

/** Accepts every batch at once, counting events (what db-events costs, without a broker). */
class CountingSink implements Sink {
  readonly kind = 'http' as const;
  count = 0;
  bytes = 0;
  async send(events: readonly CloudEvent<unknown>[]): Promise<void> {
    if (ENCODE) for (const e of events) this.bytes += toKafkaMessage(e).value?.length ?? 0;
    this.count += events.length;
  }
  async close(): Promise<void> {}
}

/** Samples this process' RSS until stopped; returns the peak in MiB (`memoryUsage.rss()`: the cheap one). */
function rssSampler(): () => number {
  let peak = process.memoryUsage.rss();
  const t = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  return () => {
    clearInterval(t);
    return Math.round(Math.max(peak, process.memoryUsage.rss()) / 2 ** 20);
  };
}

/** CPU time (user + system) of this process, in µs. */
function cpuMicros(): number {
  const c = process.cpuUsage();
  return c.user + c.system;
}

async function rawCopy(
  url: string,
  table: string,
): Promise<{ seconds: number; bytes: number; rssMiB: number; cpuUs: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let bytes = 0;
  // node-postgres ignores CopyData of a COPY TO STDOUT; count it on the connection instead.
  (client as unknown as { connection: NodeJS.EventEmitter }).connection.on(
    'copyData',
    (msg: { chunk: Buffer }) => {
      bytes += msg.chunk.length;
    },
  );
  const rss = rssSampler();
  const cpu0 = cpuMicros();
  const started = process.hrtime.bigint();
  await client.query(`COPY (SELECT * FROM ${table} ORDER BY id) TO STDOUT`);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuUs = cpuMicros() - cpu0;
  const rssMiB = rss();
  await client.end();
  return { seconds, bytes, rssMiB, cpuUs };
}

async function main(): Promise<void> {
  const services = await benchServices(['postgres'], { reuseShared: false });
  const url = services.env.DATABASE_URL as string;
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const serverVersion = (await db.query('SHOW server_version')).rows[0].server_version as string;
  const schema = uniqueName('bench_bf');
  const dbe = `${schema}_dbe`;
  const table = `${schema}.t`;
  await db.query(`CREATE SCHEMA ${schema}`);
  await db.query(`CREATE TABLE ${table} (id int8 PRIMARY KEY, name text NOT NULL, amount numeric(12,2),
    created_at timestamptz NOT NULL, attrs jsonb, active bool)`);
  await db.query(
    `INSERT INTO ${table} SELECT g, 'customer ' || g, (g % 100000) / 100.0, '2025-01-01'::timestamptz + g * interval '1 minute',
       jsonb_build_object('tier', g % 5, 'tags', jsonb_build_array('a', 'b')), g % 2 = 0
       FROM generate_series(1, ${ROWS}) g`,
  );
  await db.query(`VACUUM ANALYZE ${table}`);
  await db.query(`CREATE PUBLICATION ${schema} FOR TABLE ${table}`);
  const logger = createLogger({ name: 'backfill-bench', level: 'warn' });
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const sink = new CountingSink();
  const runner = new BackfillRunner({
    pool,
    connectionString: url,
    schema: dbe,
    publication: schema,
    logger,
    maxInFlight: 10_000,
    pollMs: 20,
  });
  const engine = new DbEvents({
    connectionString: url,
    slot: schema,
    publication: schema,
    tables: [table],
    sink,
    pool,
    logger,
    metrics: createMetrics(new Registry()),
    heartbeatMs: 0,
    backfill: runner,
  });
  engine.start();
  runner.start();
  await engine.waitUntilConnected();
  while ((await db.query('SELECT to_regclass($1) AS r', [`${dbe}.backfills`])).rows[0].r === null) {
    await new Promise((r) => setTimeout(r, 20));
  }
  console.log(
    `server ${serverVersion}; ${ROWS} rows; node ${process.version}${ENCODE ? '; the sink encodes each event as a Kafka record' : ''}`,
  );

  const copies = [await rawCopy(url, table)];
  const backfills: {
    chunk: number;
    seconds: number;
    wall: number;
    events: number;
    rssMiB: number;
    cpuUs: number;
  }[] = [];
  for (const chunk of CHUNKS) {
    const before = sink.count;
    const rss = rssSampler();
    const cpu0 = cpuMicros();
    const wallStart = Date.now();
    const { rows } = await db.query(`SELECT ${dbe}.backfill($1, chunk_size => $2) AS id`, [table, chunk]);
    const id = rows[0].id as string;
    for (;;) {
      const { rows: s } = await db.query(
        `SELECT state, extract(epoch FROM finished_at - started_at)::float8 AS seconds FROM ${dbe}.backfills WHERE id = $1`,
        [id],
      );
      if (s[0].state === 'completed') {
        backfills.push({
          chunk,
          seconds: s[0].seconds as number,
          wall: (Date.now() - wallStart) / 1000,
          events: sink.count - before,
          rssMiB: rss(),
          cpuUs: cpuMicros() - cpu0,
        });
        break;
      }
      if (s[0].state !== 'running' && s[0].state !== 'pending') throw new Error(`backfill ${s[0].state}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  copies.push(await rawCopy(url, table));

  const raw = copies.reduce((a, b) => (a.seconds <= b.seconds ? a : b));
  const rawRate = ROWS / raw.seconds;
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(
    `load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const perRow = (us: number) => (us / ROWS).toFixed(2);
  console.log('| what | rows/s | ratio to COPY | node CPU µs/row | peak RSS |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(
    `| raw COPY (SELECT ...) TO STDOUT, ${(raw.bytes / 2 ** 20).toFixed(1)} MiB (runs: ${copies.map((c) => `${fmt(ROWS / c.seconds)}/s`).join(', ')}) | ${fmt(rawRate)} | 1 | ${perRow(raw.cpuUs)} | ${raw.rssMiB} MiB |`,
  );
  for (const b of backfills) {
    console.log(
      `| backfill, chunk ${b.chunk}, ${b.events} read events (wall ${b.wall.toFixed(2)} s from the SQL call) | ${fmt(ROWS / b.seconds)} | ${(ROWS / b.seconds / rawRate).toFixed(2)} | ${perRow(b.cpuUs)} | ${b.rssMiB} MiB |`,
    );
  }

  await engine.stop();
  await runner.stop();
  await pool.end();
  // The walsender lets go of the slot a moment after the engine stops.
  for (let i = 0; i < 100; i++) {
    const dropped = await db.query('SELECT pg_drop_replication_slot($1)', [schema]).then(
      () => true,
      () => false,
    );
    if (dropped) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await db.query(`DROP PUBLICATION IF EXISTS ${schema}`);
  await db.query(`DROP SCHEMA ${schema} CASCADE`);
  await db.query(`DROP SCHEMA ${dbe} CASCADE`);
  await db.end();
  await services.stop();
}

runBench(main);
