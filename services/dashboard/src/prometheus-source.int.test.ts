// The dashboard's Kubernetes mode end to end: a real Prometheus server (built from the Go module proxy at the
// version pinned in versions.json, cached) scrapes fixture exporters that serve the Knative Kafka Broker's,
// Kafka Exporter's, Knative Serving's and db-events' series (test-kubernetes-exporters.ts), and the collector
// reads every panel through PromQL. Dead letters show whether they went to the KafkaSink (counted from its
// metrics and topic) or to the dashboard's own store (Postgres).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDeadLetterStore, type DeadLetterStore, parseResources } from '@tributary/eventing';
import { createLogger } from '@tributary/shared';
import { type PrometheusInstance, startPrometheus, testEnv, uniqueSchema } from '@tributary/testing';
import { CloudEvent } from 'cloudevents';
import { Collector, type Snapshot } from './collector.js';
import { PrometheusMetrics, parseDeadLetterSinks } from './prometheus-source.js';
import {
  BROKER,
  DEAD_LETTER_SINK,
  DEAD_LETTER_TOPIC,
  EXPECTED,
  type FixtureExporters,
  NS,
  startFixtureExporters,
} from './test-kubernetes-exporters.js';

const logger = createLogger({ name: 'prometheus-source-test', level: 'silent' });

const RESOURCES = `
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: ${BROKER}, namespace: ${NS} }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: audit-log, namespace: ${NS} }
spec:
  broker: ${BROKER}
  filter: { attributes: { type: dev.tributary.db.row.deleted } }
  subscriber: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: audit-log } }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: file-indexer, namespace: ${NS} }
spec:
  broker: ${BROKER}
  subscriber: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: file-indexer } }
`;

let exporters: FixtureExporters;
let prometheus: PrometheusInstance;
let store: DeadLetterStore;
/** When Prometheus has scraped for longer than the 20 s rate window (rates before that are partial). */
let fullWindowAt = 0;

beforeAll(async () => {
  exporters = await startFixtureExporters();
  prometheus = await startPrometheus({
    jobs: Object.entries(exporters.targets).map(([job, target]) => ({ job, targets: [target] })),
    scrapeInterval: '1s',
  });
  fullWindowAt = Date.now() + 23_000;
  store = createDeadLetterStore({
    databaseUrl: testEnv().databaseUrl,
    schema: uniqueSchema('dlk8s'),
    logger,
  });
}, 30 * 60_000);

afterAll(async () => {
  await store?.close();
  await prometheus?.stop();
  await exporters?.close();
});

/**
 * A rate as Prometheus' rate() computes it from 1 s scrapes over a 20 s window: its extrapolation to the
 * window's edges leaves it within a few percent of the fixture's slope (15% allowed for a loaded machine).
 */
function expectRate(actual: number, expected: number, scale = expected): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.max(0.15 * scale, 0.2));
}

/** A snapshot once Prometheus holds a full rate window of every series. */
async function settled(collector: Collector): Promise<Snapshot> {
  const wait = fullWindowAt - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  return collector.tick();
}

describe('the collector against a real Prometheus (Kubernetes metric names)', () => {
  it('fills every panel: rates, failures, retries, p50/p99, lag, dead letters, function scale, slot', async () => {
    const collector = new Collector({
      sources: [],
      logger,
      resources: parseResources([{ file: 'platform.yaml', text: RESOURCES }]),
      metrics: new PrometheusMetrics({
        url: prometheus.url,
        rateWindow: '20s',
        deadLetterSinks: parseDeadLetterSinks([`${NS}/${BROKER}=${DEAD_LETTER_SINK}:${DEAD_LETTER_TOPIC}`]),
      }),
    });
    const s = await settled(collector);
    expect(s.sources).toEqual([{ kind: 'other', name: `prometheus ${prometheus.url}`, ok: true }]);

    // Brokers: the receiver's 2xx and the rest, not the dead-letter KafkaSink's receiver.
    expect(s.brokers.map((b) => `${b.namespace}/${b.name}`)).toEqual([`${NS}/${BROKER}`]);
    const broker = s.brokers[0]!;
    expect(broker.accepted).toBeGreaterThan(0);
    expectRate(broker.ingressRate, EXPECTED.ingressRate);
    expect(broker.rejections).toEqual([
      { statusCode: '400', total: expect.any(Number), rate: expect.any(Number) },
    ]);
    expectRate(broker.rejections[0]!.rate, EXPECTED.rejectedRate);

    // Triggers: outcomes, retries (attempts at the subscriber minus outcomes), latency, lag.
    const audit = s.triggers.find((t) => t.name === 'audit-log')!;
    const e = EXPECTED.triggers['audit-log'];
    expect(audit).toMatchObject({
      namespace: NS,
      broker: BROKER,
      filter: 'type = "dev.tributary.db.row.deleted"',
    });
    expect(audit.delivered).toBeGreaterThan(0);
    expect(audit.failed).toBeGreaterThan(0);
    expectRate(audit.deliveredRate, e.delivered);
    expectRate(audit.failedRate, e.failed);
    // A difference of two rates scraped from two exporters: its error scales with the attempts, not the result.
    expectRate(audit.retryRate, e.attempts - e.delivered - e.failed, e.attempts);
    // 5 of 9 per second under 50 ms, 3 more under 100 ms, 1 under 500 ms (histogram_quantile interpolates).
    expect(audit.p50).toBeCloseTo(0.045, 2);
    expect(audit.p99).toBeCloseTo(0.464, 1);
    expect(audit.lagEvents).toBe(12);
    expect(audit.lagSeconds).toBe(e.lagMillis / 1000);
    // The Broker sends failures to its dead-letter KafkaSink: a Trigger's dead letters are its failures.
    expect(audit.deadLettered).toBe(audit.failed);
    expect(audit.lagHistory.at(-1)).toEqual([expect.any(Number), 12, 4]);

    const indexer = s.triggers.find((t) => t.name === 'file-indexer')!;
    expectRate(indexer.deliveredRate, EXPECTED.triggers['file-indexer'].delivered);
    expect(indexer.failedRate).toBe(0);
    expectRate(indexer.retryRate, 0, EXPECTED.triggers['file-indexer'].attempts);
    expect(indexer.p50).toBeCloseTo(0.05, 2);
    expect(indexer.lagEvents).toBe(0);

    // Functions: pods of each Knative Service's Revisions (0 = scaled to zero).
    expect(s.functions.map((f) => [f.namespace, f.name, f.scale])).toEqual([
      [NS, 'audit-log', 2],
      [NS, 'file-indexer', 0],
    ]);

    // Dead letters in the KafkaSink: counted by its receiver, held in its topic.
    expect(s.deadLetters).toEqual([
      { namespace: NS, broker: BROKER, total: expect.any(Number), pending: EXPECTED.deadLettersHeld },
    ]);
    expect(s.deadLetters![0]!.total).toBeGreaterThan(0);

    // db-events through Prometheus.
    expect(s.slots).toHaveLength(1);
    expect(s.slots[0]).toMatchObject({
      source: exporters.targets['db-events'],
      connected: true,
      lagBytes: EXPECTED.slot.lagBytes,
      lagSeconds: EXPECTED.slot.lagSeconds,
      walStatus: 'reserved',
      safeWalSize: EXPECTED.slot.safeWalBytes,
      level: 'warning',
    });
  }, 120_000);

  it("shows dead letters sent to the dashboard's own sink as well as the KafkaSink's", async () => {
    await store.store(
      { namespace: NS, name: BROKER },
      new CloudEvent({
        type: 'dev.tributary.db.row.deleted',
        source: '/db/app/public/orders',
        data: { id: 1 },
      }),
    );
    const collector = new Collector({
      sources: [],
      logger,
      deadLetters: store,
      metrics: new PrometheusMetrics({
        url: prometheus.url,
        rateWindow: '20s',
        deadLetterSinks: [
          { namespace: NS, broker: BROKER, sink: DEAD_LETTER_SINK, topic: DEAD_LETTER_TOPIC },
        ],
      }),
    });
    const s = await settled(collector);
    const d = s.deadLetters?.find((x) => x.namespace === NS && x.broker === BROKER);
    expect(d?.pending).toBe(EXPECTED.deadLettersHeld + 1);
    // Without a KafkaSink configured, only the store's count remains.
    const storeOnly = await new Collector({
      sources: [],
      logger,
      deadLetters: store,
      metrics: new PrometheusMetrics({ url: prometheus.url, rateWindow: '20s' }),
    }).tick();
    expect(storeOnly.deadLetters).toEqual([{ namespace: NS, broker: BROKER, pending: 1, total: 1 }]);
  }, 120_000);

  it('reports an unreachable Prometheus as a source error, not an exception', async () => {
    const s = await new Collector({
      sources: [],
      logger,
      metrics: new PrometheusMetrics({ url: 'http://127.0.0.1:9', timeoutMs: 2000 }),
    }).tick();
    expect(s.sources).toEqual([
      expect.objectContaining({ kind: 'other', ok: false, error: expect.stringContaining('Prometheus') }),
    ]);
    expect(s.triggers).toEqual([]);
  });

  it('shows the Prometheus URL without its credentials', async () => {
    const withUser = prometheus.url.replace('http://', 'http://ops:s3cret@');
    const s = await new Collector({
      sources: [],
      logger,
      metrics: new PrometheusMetrics({ url: withUser }),
    }).tick();
    expect(s.sources[0]!.name).toBe(`prometheus ${prometheus.url}`);
    expect(JSON.stringify(s)).not.toContain('s3cret');
  });

  it('names a bad PromQL duration and a bad dead-letter sink entry', () => {
    expect(() => new PrometheusMetrics({ url: prometheus.url, rateWindow: 'ten' })).toThrow(
      'rateWindow "ten" is not a PromQL duration like 2m',
    );
    expect(() => parseDeadLetterSinks(['default=dead-letters'])).toThrow(
      '"default=dead-letters" is not <namespace>/<broker>=<kafkasink>[:<topic>]',
    );
  });
});
