/** Acknowledgement, resume, backpressure, heartbeats and reconnects against a real Postgres 17. */
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  confirmedFlush,
  lsnValue,
  MemorySink,
  startEngine,
  type TestDb,
  type TestEngine,
  testDb,
  waitFor,
} from './test-support/harness.js';

describe('db-events acknowledgement (Postgres 17)', () => {
  const dbs: TestDb[] = [];
  const engines: TestEngine[] = [];
  afterEach(async () => {
    for (const e of engines.splice(0)) await e.engine.stop(1_000);
    for (const t of dbs.splice(0)) await t.cleanup();
  });
  async function setup(prefix: string) {
    const t = await testDb(prefix);
    dbs.push(t);
    await t.db.query(`CREATE TABLE ${t.schema}.t (id int PRIMARY KEY, v text)`);
    return t;
  }
  async function start(t: TestDb, sink: MemorySink, opts: Parameters<typeof startEngine>[2] = {}) {
    const e = await startEngine(t, sink, { tables: [`${t.schema}.t`], ...opts });
    engines.push(e);
    return e;
  }
  const walLsn = async (t: TestDb) =>
    (await t.db.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string;

  it('never confirms a commit before the sink has accepted its events', async () => {
    const t = await setup('dbe_ack');
    const sink = new MemorySink();
    const e = await start(t, sink);
    await t.db.query(`INSERT INTO ${t.schema}.t VALUES (0, 'warm-up')`);
    await waitFor(() => sink.events.length === 1);
    await waitFor(async () => e.engine.acknowledgedLsn === lsnValue(await confirmedFlush(t)));
    sink.hold();
    await t.db.query(`INSERT INTO ${t.schema}.t VALUES (1, 'a')`);
    const commitLsn = (await t.db.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string;
    // The change has been read and is waiting at the sink...
    await waitFor(async () =>
      (await e.registry.getSingleMetricAsString('db_events_in_flight_events')).endsWith(' 1'),
    );
    // ...and keepalives go on, answered without moving past it.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(lsnValue(await confirmedFlush(t))).toBeLessThan(lsnValue(commitLsn));
    sink.release();
    await waitFor(async () => lsnValue(await confirmedFlush(t)) >= lsnValue(commitLsn), {
      message: 'confirmed_flush_lsn reaches the commit',
    });
    expect(sink.events.map((ev) => ev.subject)).toEqual(['0', '1']);
  });

  it('resumes after a restart from the last acknowledged commit, losing nothing', async () => {
    const t = await setup('dbe_resume');
    const sink1 = new MemorySink();
    const e1 = await start(t, sink1);
    await t.db.query(`INSERT INTO ${t.schema}.t SELECT g, 'first' FROM generate_series(1, 100) g`);
    await waitFor(() => sink1.events.length === 100);
    await e1.engine.stop();
    engines.splice(engines.indexOf(e1), 1);
    // Written while db-events is down.
    for (let i = 101; i <= 150; i++) await t.db.query(`INSERT INTO ${t.schema}.t VALUES ($1, 'second')`, [i]);
    const sink2 = new MemorySink();
    await start(t, sink2);
    await waitFor(() => sink2.events.length >= 50, { message: '50 events after restart' });
    await new Promise((r) => setTimeout(r, 300));
    expect(sink2.events.map((ev) => Number(ev.subject))).toEqual(
      Array.from({ length: 50 }, (_, i) => 101 + i),
    );
    const ids = new Set(sink1.events.map((ev) => ev.id));
    expect(sink2.events.some((ev) => ids.has(ev.id))).toBe(false);
  });

  it('re-delivers unacknowledged events with the same ids after a restart', async () => {
    const t = await setup('dbe_redeliver');
    const sink1 = new MemorySink();
    const e1 = await start(t, sink1);
    await t.db.query(`INSERT INTO ${t.schema}.t VALUES (1, 'x')`);
    await waitFor(() => sink1.events.length === 1);
    const firstId = sink1.events[0]?.id;
    sink1.hold();
    await t.db.query(`INSERT INTO ${t.schema}.t VALUES (2, 'y'), (3, 'z')`);
    await waitFor(async () =>
      (await e1.registry.getSingleMetricAsString('db_events_in_flight_events')).endsWith(' 2'),
    );
    // Simulate a crash: the sink never answers, stop without draining.
    await e1.engine.stop(0);
    engines.splice(engines.indexOf(e1), 1);
    const sink2 = new MemorySink();
    await start(t, sink2);
    await waitFor(() => sink2.events.length === 2, { message: 'redelivery' });
    expect(sink2.events.map((ev) => ev.subject)).toEqual(['2', '3']);
    expect(sink2.events[0]?.id).toMatch(/-0$/);
    expect(sink2.events.every((ev) => ev.id !== firstId)).toBe(true);
    sink1.release();
  });

  it('pauses reading when the sink is slow, keeping in-flight work bounded', async () => {
    const t = await setup('dbe_backpressure');
    const sink = new MemorySink();
    sink.hold();
    const e = await start(t, sink, { maxInFlight: 200, batchSize: 50 });
    await t.db.query(`INSERT INTO ${t.schema}.t SELECT g, repeat('x', 50) FROM generate_series(1, 20000) g`);
    await waitFor(async () =>
      (await e.registry.getSingleMetricAsString('db_events_reading_paused')).endsWith(' 1'),
    );
    await new Promise((r) => setTimeout(r, 500));
    const inFlight = Number(
      (await e.registry.getSingleMetricAsString('db_events_in_flight_events')).split(' ').pop(),
    );
    // At most one socket read beyond the limit is decoded before reading stops (20,000 rows are waiting).
    expect(inFlight).toBeLessThan(5_000);
    let peak = 0;
    sink.onBatch = () => {
      peak = Math.max(peak, e.engine.inFlight);
    };
    sink.release();
    await waitFor(() => sink.events.length === 20000, { timeoutMs: 30_000, message: 'all rows' });
    expect(peak).toBeLessThan(5_000);
    expect(new Set(sink.events.map((ev) => ev.id)).size).toBe(20000);
  });

  it('lets the slot advance past WAL of unpublished tables (idle published tables do not pin WAL)', async () => {
    const t = await setup('dbe_idle');
    await t.db.query(`CREATE TABLE ${t.schema}.other (id int PRIMARY KEY, v text)`);
    const sink = new MemorySink();
    await start(t, sink, { heartbeatMs: 200 });
    await t.db.query(
      `INSERT INTO ${t.schema}.other SELECT g, repeat('y', 100) FROM generate_series(1, 20000) g`,
    );
    const after = await walLsn(t);
    await waitFor(async () => lsnValue(await confirmedFlush(t)) >= lsnValue(after), {
      timeoutMs: 15_000,
      message: `confirmed_flush_lsn passes ${after}`,
    });
    expect(sink.events).toHaveLength(0);
  });

  it('is not ready while disconnected and reconnects after the connection is lost', async () => {
    const t = await setup('dbe_reconnect');
    const sink = new MemorySink();
    const e = await start(t, sink, { reconnectInitialMs: 200 });
    expect(e.engine.connected).toBe(true);
    await t.db.query(`INSERT INTO ${t.schema}.t VALUES (1, 'before')`);
    await waitFor(() => sink.events.length === 1);
    await t.db.query(
      'SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1',
      [t.slot],
    );
    await waitFor(() => !e.engine.connected, { message: 'disconnected' });
    await t.db.query(`INSERT INTO ${t.schema}.t VALUES (2, 'during')`);
    await waitFor(() => e.engine.connected, { message: 'reconnected' });
    await waitFor(() => sink.events.some((ev) => ev.subject === '2'), { message: 'change after reconnect' });
    expect(sink.events.map((ev) => ev.subject)).toEqual(['1', '2']);
    expect(await e.registry.getSingleMetricAsString('db_events_replication_reconnects_total')).toMatch(
      / [1-9]\d*$/,
    );
  });
});
