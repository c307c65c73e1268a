import { describe, expect, it } from '@jest/globals';
import { createMetrics as createDbEventsMetrics } from '@tributary/db-events';
import { INGRESS_METRICS, TRIGGER_METRICS } from '@tributary/eventing';
import { createLogger, type MetricDef } from '@tributary/shared';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { assessSlot, Collector, type SlotView } from './collector.js';

const logger = createLogger({ name: 'collector-test', level: 'silent' });

/** The broker's metrics, by its vocabulary's names and labels (coarser latency buckets). */
function brokerRegistry() {
  const registry = new Registry();
  const r = [registry];
  const def = <M extends MetricDef>(m: M) => ({ name: m.name, help: 'h', labelNames: m.labels });
  return {
    registry,
    ingress: new Counter({
      ...def(INGRESS_METRICS.events),
      registers: r,
    }),
    dispatched: new Counter({
      ...def(TRIGGER_METRICS.dispatched),
      registers: r,
    }),
    retries: new Counter({
      ...def(TRIGGER_METRICS.retries),
      registers: r,
    }),
    latency: new Histogram({
      ...def(TRIGGER_METRICS.dispatchLatency),
      buckets: [0.01, 0.1, 1],
      registers: r,
    }),
    lagEvents: new Gauge({
      ...def(TRIGGER_METRICS.lagEvents),
      registers: r,
    }),
    lagSeconds: new Gauge({
      ...def(TRIGGER_METRICS.lagSeconds),
      registers: r,
    }),
  };
}

describe('Collector', () => {
  it('turns counters into rates over the window, histograms into quantiles, and sums lag', async () => {
    const b = brokerRegistry();
    const c = new Collector({
      sources: [{ kind: 'broker', registry: b.registry }],
      logger,
      windowMs: 30_000,
    });
    const trig = { namespace: 'ns', broker: 'b', trigger: 't' };
    const sub = { ...trig, destination: 'subscriber' };
    b.ingress.inc({ namespace: 'ns', broker: 'b', event_type: 'x', status_code: '202' }, 10);
    await c.tick(1_000_000);
    b.ingress.inc({ namespace: 'ns', broker: 'b', event_type: 'x', status_code: '202' }, 20);
    b.ingress.inc({ namespace: 'ns', broker: 'b', event_type: 'x', status_code: '400' }, 5);
    b.dispatched.inc({ ...sub, status_code: '200' }, 18);
    b.dispatched.inc({ ...sub, status_code: '500' }, 2);
    b.retries.inc(sub, 4);
    for (let i = 0; i < 99; i++) b.latency.observe(sub, 0.005);
    b.latency.observe(sub, 0.5);
    b.lagEvents.set({ ...trig, partition: '0' }, 3);
    b.lagEvents.set({ ...trig, partition: '1' }, 4);
    b.lagSeconds.set({ ...trig, partition: '1' }, 2.5);
    const s = await c.tick(1_010_000);

    expect(s.brokers).toEqual([
      {
        namespace: 'ns',
        name: 'b',
        accepted: 30,
        ingressRate: 2,
        rejections: [{ statusCode: '400', total: 5, rate: 0.5 }],
      },
    ]);
    const t = s.triggers[0]!;
    expect(t).toMatchObject({
      name: 't',
      delivered: 18,
      failed: 2,
      deliveredRate: 1.8,
      failedRate: 0.2,
      retryRate: 0.4,
    });
    expect(t.p50).toBeCloseTo(0.00505, 4);
    expect(t.p99).toBeCloseTo(0.01, 4);
    expect(t).toMatchObject({ lagEvents: 7, lagSeconds: 2.5 });
    // The trigger appeared with its first metrics, at the second scrape.
    expect(t.lagHistory).toEqual([[1_010_000, 7, 2.5]]);
  });

  it('reports a source that cannot be scraped instead of failing', async () => {
    const c = new Collector({ sources: [{ kind: 'db-events', url: 'http://127.0.0.1:9' }], logger });
    const s = await c.tick();
    expect(s.sources).toEqual([expect.objectContaining({ kind: 'db-events', ok: false })]);
    expect(s.slots).toEqual([]);
  });

  it('reads slot health from db-events metrics', async () => {
    const registry = new Registry();
    // db-events' own metric definitions.
    const m = createDbEventsMetrics(registry);
    for (const st of ['reserved', 'extended', 'unreserved', 'lost'])
      m.slotWalStatus.set({ status: st }, st === 'extended' ? 1 : 0);
    m.slotSafeWalSize.set(200 * 1024 * 1024);
    m.lagBytes.set(4096);
    m.connected.set(1);
    const c = new Collector({
      sources: [{ kind: 'db-events', name: 'db', registry }],
      logger,
      safeWalWarnBytes: 1024 ** 3,
    });
    const [slot] = (await c.tick()).slots;
    expect(slot).toMatchObject({
      source: 'db',
      walStatus: 'extended',
      lagBytes: 4096,
      connected: true,
      level: 'warning',
    });
    expect(slot!.warnings).toEqual([
      'slot retains WAL beyond max_wal_size',
      'only 200.0 MiB of WAL left before the slot is lost',
    ]);
  });
});

describe('assessSlot', () => {
  const base: SlotView = {
    source: 's',
    connected: true,
    lagBytes: 0,
    lagSeconds: 0,
    walStatus: 'reserved',
    safeWalSize: null,
    level: 'ok',
    warnings: [],
  };
  it('is ok while WAL is reserved and unlimited', () => {
    expect(assessSlot(base, 1024)).toMatchObject({ level: 'ok', warnings: [] });
  });
  it('is critical before WAL is lost (unreserved) and once it is lost', () => {
    expect(assessSlot({ ...base, walStatus: 'unreserved' }, 1024).level).toBe('critical');
    expect(assessSlot({ ...base, walStatus: 'lost' }, 1024).warnings[0]).toContain('slot lost');
  });
  it('warns when safe_wal_size drops under the threshold, and when disconnected', () => {
    const v = assessSlot({ ...base, safeWalSize: 512, connected: false }, 1024);
    expect(v.level).toBe('warning');
    expect(v.warnings).toEqual([
      'only 512 B of WAL left before the slot is lost',
      'replication stream disconnected',
    ]);
  });
});

describe('a source that is still starting', () => {
  it('is reported as starting with what it is doing, not scraped and not down', async () => {
    let starting: string | undefined = 'storage: starting (building MinIO, 42%)';
    const collector = new Collector({
      sources: [
        { kind: 'other', name: 'storage-events', url: 'http://127.0.0.1:1', starting: () => starting },
      ],
      logger: createLogger({ name: 'test', level: 'silent' }),
    });
    const first = await collector.tick();
    expect(first.sources).toEqual([
      {
        kind: 'other',
        name: 'storage-events',
        ok: false,
        starting: 'storage: starting (building MinIO, 42%)',
      },
    ]);
    starting = undefined;
    const second = await collector.tick();
    expect(second.sources[0]).toMatchObject({ name: 'storage-events', ok: false });
    expect(second.sources[0]!.starting).toBeUndefined();
    expect(second.sources[0]!.error).toBeDefined();
  });
});
