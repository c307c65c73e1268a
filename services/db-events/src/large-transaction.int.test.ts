/**
 * A 1,000,000-row transaction streams through with bounded memory: events leave as the changes arrive (ids use
 * the commit LSN from Begin), reading pauses while the sink is behind, and nothing holds the transaction whole.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  MemorySink,
  startEngine,
  type TestDb,
  type TestEngine,
  testDb,
  waitFor,
} from './test-support/harness.js';

const ROWS = 1_000_000;
const MiB = 1024 * 1024;

/** A full GC on demand (the flag only exposes `gc` to contexts created after it is set). */
function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('db-events: a 1,000,000-row transaction (Postgres 17)', () => {
  let t: TestDb;
  let eng: TestEngine;
  const sink = new MemorySink();

  beforeAll(async () => {
    t = await testDb('dbe_big');
    await t.db.query(`CREATE TABLE ${t.schema}.big (id int PRIMARY KEY, payload text)`);
    sink.discard = true;
    eng = await startEngine(t, sink, { tables: [`${t.schema}.big`], maxInFlight: 10_000 });
  });

  afterAll(async () => {
    await eng?.engine.stop();
    await t?.cleanup();
  });

  it('delivers every row in order with heap and RSS far below the transaction size', async () => {
    let bytes = 0;
    let expected = 0;
    let outOfOrder = 0;
    let firstLsn: unknown;
    const gc = gcFunction();
    let peakRetained = 0;
    let peakHeap = 0;
    let peakRss = 0;
    let peakInFlight = 0;
    gc();
    const base = process.memoryUsage();
    sink.onBatch = (events) => {
      for (const e of events) {
        if (e.schema !== t.schema) continue;
        firstLsn ??= e.lsn;
        if (e.id !== `${firstLsn}-${expected}` || e.lsn !== firstLsn) outOfOrder++;
        expected++;
        bytes += JSON.stringify(e).length;
      }
      if (sink.batches % 25 === 0) {
        let m = process.memoryUsage();
        peakHeap = Math.max(peakHeap, m.heapUsed);
        gc();
        m = process.memoryUsage();
        peakRetained = Math.max(peakRetained, m.heapUsed);
        peakRss = Math.max(peakRss, m.rss);
        peakInFlight = Math.max(peakInFlight, eng.engine.inFlight);
      }
    };
    // 200-byte payloads: about 1 KiB per event as JSON, so ~1 GiB of events in one transaction.
    await t.db.query(
      `INSERT INTO ${t.schema}.big SELECT g, repeat(md5(g::text), 6) || lpad(g::text, 8, '0') FROM generate_series(1, ${ROWS}) g`,
    );
    await waitFor(() => expected === ROWS, {
      timeoutMs: 600_000,
      intervalMs: 500,
      message: `${ROWS} events`,
    });
    const heapGrowth = peakHeap - base.heapUsed;
    const retainedGrowth = peakRetained - base.heapUsed;
    const rssGrowth = peakRss - base.rss;
    process.stdout.write(
      `1M-row tx: ${(bytes / MiB).toFixed(0)} MiB of events; heap peak ${(peakHeap / MiB).toFixed(0)} MiB ` +
        `(+${(heapGrowth / MiB).toFixed(0)}), live after GC +${(retainedGrowth / MiB).toFixed(0)} MiB, RSS peak ${(peakRss / MiB).toFixed(0)} MiB (+${(rssGrowth / MiB).toFixed(0)}), ` +
        `in-flight peak ${peakInFlight}\n`,
    );
    expect(outOfOrder).toBe(0);
    expect(bytes).toBeGreaterThan(700 * MiB);
    // Held whole, the transaction would need well over `bytes` of heap. Streaming keeps what is live to the
    // in-flight window (10,000 events, ~10 MiB), and even uncollected garbage and RSS to a fraction.
    expect(retainedGrowth).toBeLessThan(bytes / 20);
    expect(heapGrowth).toBeLessThan(bytes / 3);
    expect(rssGrowth).toBeLessThan(bytes / 3);
    expect(peakInFlight).toBeLessThanOrEqual(10_000 + 5_000);
  }, 900_000);
});
