/**
 * Several sink batches in flight (DB_EVENTS_BATCHES_IN_FLIGHT) against a real Postgres 17: completions are applied
 * strictly in send order, the confirmed LSN never passes an event that is not accepted, and a failed batch
 * restarts from the last acknowledged commit even when a later batch was accepted.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import type { CloudEvent } from 'cloudevents';
import type { Sink } from './sink/sink.js';
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

interface Call {
  events: readonly CloudEvent<unknown>[];
  settled: boolean;
  accept(): void;
  fail(err: Error): void;
}

/** An ordered sink whose calls the test settles by hand, in any order (or at once with `auto`). */
class ManualSink implements Sink {
  readonly kind = 'kafka' as const;
  readonly ordered = true;
  readonly calls: Call[] = [];
  /** Accepted events, in the order they were accepted. */
  readonly accepted: CloudEvent<unknown>[] = [];
  auto = false;
  outstanding = 0;
  maxOutstanding = 0;

  send(events: readonly CloudEvent<unknown>[]): Promise<void> {
    this.outstanding++;
    this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding);
    return new Promise((resolve, reject) => {
      const call: Call = {
        events,
        settled: false,
        accept: () => {
          call.settled = true;
          this.outstanding--;
          this.accepted.push(...events);
          resolve();
        },
        fail: (err) => {
          call.settled = true;
          this.outstanding--;
          reject(err);
        },
      };
      this.calls.push(call);
      if (this.auto) call.accept();
    });
  }

  /** From now on every call (and every one still open) is accepted at once, in call order. */
  acceptAll(): void {
    this.auto = true;
    for (const c of this.calls) if (!c.settled) c.accept();
  }

  async close(): Promise<void> {}
}

/** A sink without `ordered`: it must never see two calls at once. */
class CountingSink extends MemorySink {
  outstanding = 0;
  maxOutstanding = 0;
  override async send(events: readonly CloudEvent<unknown>[]): Promise<void> {
    this.outstanding++;
    this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding);
    try {
      await new Promise((r) => setTimeout(r, 2));
      await super.send(events);
    } finally {
      this.outstanding--;
    }
  }
}

describe('db-events with several sink batches in flight (Postgres 17)', () => {
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
  async function start(t: TestDb, sink: Sink, opts: Parameters<typeof startEngine>[2] = {}) {
    const e = await startEngine(t, sink, { tables: [`${t.schema}.t`], ...opts });
    engines.push(e);
    return e;
  }
  /** `n` single-row transactions (one commit each), ids from..from+n-1. */
  async function commits(t: TestDb, from: number, n: number) {
    await t.db.query(
      `DO $$ BEGIN FOR i IN ${from}..${from + n - 1} LOOP INSERT INTO ${t.schema}.t VALUES (i, 'v'); COMMIT; END LOOP; END $$`,
    );
  }
  const subjects = (events: readonly CloudEvent<unknown>[]) => events.map((e) => Number(e.subject));
  const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
  /** The commit end LSN of the transaction that wrote row `id` is after its `lsn` (commit LSN) attribute. */
  const commitLsnOf = (e: CloudEvent<unknown>) => lsnValue(e.lsn as string);

  it('keeps at most batchesInFlight batches at the sink and confirms only over accepted prefixes', async () => {
    const t = await setup('dbe_bif_ack');
    const sink = new ManualSink();
    const e = await start(t, sink, { batchSize: 10, batchesInFlight: 2 });
    await commits(t, 1, 100);
    await waitFor(() => sink.calls.length === 2, { message: 'two batches at the sink' });
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.calls).toHaveLength(2); // no third batch while two are open
    const [first, second] = sink.calls as [Call, Call];
    // The first goes out with what was read while the sink was idle; the second only once a full batch is ready.
    const k = first.events.length;
    expect(subjects(first.events)).toEqual(range(1, k));
    expect(subjects(second.events)).toEqual(range(k + 1, 10));

    // The second batch is accepted first: nothing may be confirmed, its commits come after the first's.
    second.accept();
    await new Promise((r) => setTimeout(r, 300));
    const firstCommit = commitLsnOf(first.events[0] as CloudEvent<unknown>);
    expect(e.engine.acknowledgedLsn).toBeLessThan(firstCommit);
    expect(lsnValue(await confirmedFlush(t))).toBeLessThan(firstCommit);
    // A batch accepted behind an open one still counts as in flight: no third batch yet.
    expect(sink.calls).toHaveLength(2);

    // Now the first: both are applied, and the position moves past the second batch's last commit.
    first.accept();
    await waitFor(() => e.engine.acknowledgedLsn > commitLsnOf(second.events[9] as CloudEvent<unknown>), {
      message: 'acknowledged past the second batch',
    });
    expect(e.engine.acknowledgedLsn).toBeLessThan(
      commitLsnOf(sink.calls[2]?.events[0] as CloudEvent<unknown>),
    );

    sink.acceptAll();
    await waitFor(() => sink.accepted.length >= 100, { message: 'all 100 accepted' });
    await new Promise((r) => setTimeout(r, 200));
    expect(new Set(sink.accepted.map((ev) => ev.id)).size).toBe(100);
    expect(subjects(sink.calls.flatMap((c) => c.events))).toEqual(range(1, 100)); // sent in order, each once
    expect(sink.maxOutstanding).toBe(2);
    const last = commitLsnOf(sink.calls.at(-1)?.events.at(-1) as CloudEvent<unknown>);
    await waitFor(async () => lsnValue(await confirmedFlush(t)) > last, {
      message: 'slot confirmed to the end',
    });
  });

  // An ordered sink fails the batches after a failed one (sink.ts); the pipeline does not rely on it.
  it('a failed batch restarts from the last acknowledged commit, even if a later batch was accepted', async () => {
    const t = await setup('dbe_bif_fail');
    const sink = new ManualSink();
    const e = await start(t, sink, { batchSize: 10, batchesInFlight: 2, reconnectInitialMs: 50 });
    sink.auto = true;
    await commits(t, 1, 10);
    await waitFor(() => sink.accepted.length === 10);
    await waitFor(() => e.engine.acknowledgedLsn > commitLsnOf(sink.accepted[9] as CloudEvent<unknown>));
    sink.auto = false; // rows 1..10 are accepted and acknowledged
    const acknowledged = e.engine.acknowledgedLsn;
    const before = sink.calls.length;

    await commits(t, 11, 40);
    await waitFor(() => sink.calls.length === before + 2, { message: 'two more batches at the sink' });
    const [failing, later] = sink.calls.slice(before) as [Call, Call];
    expect(Number(failing.events[0]?.subject)).toBe(11);
    later.accept(); // accepted by the sink, but behind a batch that fails
    failing.fail(new Error('broker refused the batch'));
    await waitFor(() => sink.calls.length > before + 2, { message: 'resent after the restart' });
    // Nothing after the failed batch was acknowledged; the new session starts again at row 11.
    expect(lsnValue(await confirmedFlush(t))).toBe(acknowledged);
    expect(e.engine.acknowledgedLsn).toBe(acknowledged);
    expect(Number(sink.calls[before + 2]?.events[0]?.subject)).toBe(11);

    sink.acceptAll();
    const resentCalls = () => sink.calls.slice(before + 2).flatMap((c) => c.events);
    await waitFor(() => resentCalls().length >= 40, { message: 'rows 11..50 resent' });
    // The new session sends rows 11..50 again, in order, each once, with the ids they had.
    const resent = resentCalls();
    expect(subjects(resent)).toEqual(range(11, 40));
    const firstIds = new Map(
      sink.calls.slice(before, before + 2).flatMap((c) => c.events.map((ev) => [ev.subject, ev.id])),
    );
    expect(firstIds.size).toBeGreaterThan(10);
    for (const ev of resent) if (firstIds.has(ev.subject)) expect(ev.id).toBe(firstIds.get(ev.subject));
    const last = commitLsnOf(resent.at(-1) as CloudEvent<unknown>);
    await waitFor(async () => lsnValue(await confirmedFlush(t)) > last, {
      message: 'slot confirmed to the end',
    });
    expect(await e.registry.getSingleMetricAsString('db_events_replication_reconnects_total')).toMatch(/ 1$/);
  });

  it('a sink that does not keep call order gets one batch at a time, whatever batchesInFlight says', async () => {
    const t = await setup('dbe_bif_http');
    const sink = new CountingSink();
    await start(t, sink, { batchSize: 5, batchesInFlight: 8 });
    await commits(t, 1, 200);
    await waitFor(() => sink.events.length === 200, { message: 'all rows' });
    expect(sink.maxOutstanding).toBe(1);
    expect(subjects(sink.events)).toEqual(range(1, 200));
  });
});
