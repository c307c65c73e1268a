// Fixture exporters for the real-Prometheus test: small HTTP servers on 127.0.0.1 that serve, in the
// Prometheus text format, the series the Kubernetes stack exports, with the names and labels of
// kubernetes-metrics.ts (Knative Kafka Broker knative-v1.17.0 data plane through Micrometer, Strimzi's Kafka
// Exporter, Knative Serving v0.44.0, db-events). Counters grow linearly from the start, so rates are known.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DB_EVENTS_METRICS } from '@tributary/db-events/metrics';
import {
  KNATIVE_KAFKA_BROKER as K,
  KAFKA_EXPORTER,
  KNATIVE_SERVING,
  triggerConsumerGroup,
} from './kubernetes-metrics.js';

export const NS = 'tributary';
export const BROKER = 'default';
export const DEAD_LETTER_SINK = 'dead-letters';
export const DEAD_LETTER_TOPIC = 'tributary-dead-letters';

/** The numbers the fixtures serve (per second for counters), and so what every panel must show. */
export const EXPECTED = {
  ingressRate: 10,
  rejectedRate: 1,
  deadLetterRate: 0.5,
  deadLettersHeld: 30,
  triggers: {
    'audit-log': {
      delivered: 8,
      failed: 1,
      attempts: 12,
      lagByPartition: [5, 7, 0],
      lagMillis: 4000,
      pods: 2,
    },
    'file-indexer': {
      delivered: 4,
      failed: 0,
      attempts: 4,
      lagByPartition: [0, 0, 0],
      lagMillis: 0,
      pods: 0,
    },
  },
  /** Dispatch latency observations per second by bucket upper bound (ms) for audit-log: p50 in (0, 50]. */
  latencyPerSecond: { 50: 5, 100: 3, 500: 1, 1000: 0, 5000: 0, 10000: 0 } as Record<number, number>,
  slot: { lagBytes: 4096, lagSeconds: 0.5, safeWalBytes: 200 * 1024 * 1024 },
};

type Labels = Record<string, string>;

function series(name: string, labels: Labels, value: number): string {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return `${name}{${l}} ${value}`;
}

/** A Micrometer distribution summary with serviceLevelObjectives: cumulative buckets, count, sum, max. */
function summary(name: string, labels: Labels, perBucket: Record<number, number>, t: number): string[] {
  const out: string[] = [];
  let cumulative = 0;
  let sum = 0;
  for (const le of K.latencyBucketsMs) {
    const n = (perBucket[le] ?? 0) * t;
    cumulative += n;
    sum += n * le * 0.8;
    out.push(series(`${name}_bucket`, { ...labels, le: `${le}.0` }, cumulative));
  }
  out.push(series(`${name}_bucket`, { ...labels, le: '+Inf' }, cumulative));
  out.push(series(`${name}_count`, labels, cumulative));
  out.push(series(`${name}_sum`, labels, sum));
  out.push(series(`${name}_max`, labels, cumulative > 0 ? 450 : 0));
  return out;
}

const type = (name: string, kind: string, help: string) => [
  `# HELP ${name} ${help}`,
  `# TYPE ${name} ${kind}`,
];

const EVENT = 'dev.tributary.db.row.inserted';
const l = K.labels;

function receiver(t: number): string {
  const base = { [l.eventType]: EVENT, [l.name]: BROKER, [l.namespace]: NS };
  return [
    ...type(K.eventCount, 'counter', 'Number of events received'),
    series(
      K.eventCount,
      { ...base, [l.responseCode]: '202', [l.responseCodeClass]: '2xx' },
      EXPECTED.ingressRate * t,
    ),
    series(
      K.eventCount,
      { ...base, [l.responseCode]: '400', [l.responseCodeClass]: '4xx' },
      EXPECTED.rejectedRate * t,
    ),
    ...type(K.dispatchLatency, 'histogram', 'The time spent dispatching an event to Kafka'),
    ...summary(
      K.dispatchLatency,
      { ...base, [l.responseCode]: '202', [l.responseCodeClass]: '2xx' },
      { 50: 10 },
      t,
    ),
  ].join('\n');
}

function sinkReceiver(t: number): string {
  const base = { [l.eventType]: EVENT, [l.name]: DEAD_LETTER_SINK, [l.namespace]: NS };
  return [
    ...type(K.eventCount, 'counter', 'Number of events received'),
    series(
      K.eventCount,
      { ...base, [l.responseCode]: '202', [l.responseCodeClass]: '2xx' },
      EXPECTED.deadLetterRate * t,
    ),
  ].join('\n');
}

function dispatcher(t: number): string {
  const lines = [...type(K.eventCount, 'counter', 'Number of events received')];
  const latency: string[] = [...type(K.dispatchLatency, 'histogram', 'The time spent dispatching an event')];
  const processing: string[] = [
    ...type(K.processingLatency, 'histogram', 'The time spent processing an event'),
  ];
  for (const [trigger, e] of Object.entries(EXPECTED.triggers)) {
    const base = { [l.trigger]: trigger, [l.eventType]: EVENT, [l.name]: BROKER, [l.namespace]: NS };
    lines.push(
      series(
        K.eventCount,
        { ...base, [l.responseCode]: '200', [l.responseCodeClass]: '2xx' },
        e.delivered * t,
      ),
    );
    if (e.failed > 0)
      lines.push(
        series(
          K.eventCount,
          { ...base, [l.responseCode]: '500', [l.responseCodeClass]: '5xx' },
          e.failed * t,
        ),
      );
    const perBucket =
      trigger === 'audit-log' ? EXPECTED.latencyPerSecond : { 50: e.delivered / 2, 100: e.delivered / 2 };
    latency.push(
      ...summary(
        K.dispatchLatency,
        { ...base, [l.responseCode]: '200', [l.responseCodeClass]: '2xx' },
        perBucket,
        t,
      ),
    );
    processing.push(...summary(K.processingLatency, base, { 50: e.delivered + e.failed }, t));
  }
  return [...lines, ...latency, ...processing].join('\n');
}

function kafkaExporter(t: number): string {
  const lines = [
    ...type(
      KAFKA_EXPORTER.consumerGroupLag,
      'gauge',
      'Current Approximate Lag of a ConsumerGroup at Topic/Partition',
    ),
  ];
  const millis = [
    ...type(KAFKA_EXPORTER.consumerLagMillis, 'gauge', 'Current approximation of consumer lag'),
  ];
  const members = [
    ...type(KAFKA_EXPORTER.consumerGroupMembers, 'gauge', 'Amount of members in a consumer group'),
  ];
  const topic = `knative-broker-${NS}-${BROKER}`;
  for (const [trigger, e] of Object.entries(EXPECTED.triggers)) {
    const consumergroup = triggerConsumerGroup(NS, trigger);
    e.lagByPartition.forEach((lag, partition) => {
      const labels = { consumergroup, partition: String(partition), topic };
      lines.push(series(KAFKA_EXPORTER.consumerGroupLag, labels, lag));
      millis.push(series(KAFKA_EXPORTER.consumerLagMillis, labels, lag > 0 ? e.lagMillis : 0));
    });
    members.push(series(KAFKA_EXPORTER.consumerGroupMembers, { consumergroup }, 1));
  }
  const offsets = [
    ...type(KAFKA_EXPORTER.topicCurrentOffset, 'gauge', 'Current Offset of a Broker at Topic/Partition'),
    series(
      KAFKA_EXPORTER.topicCurrentOffset,
      { partition: '0', topic: DEAD_LETTER_TOPIC },
      100 + Math.floor(t),
    ),
    ...type(KAFKA_EXPORTER.topicOldestOffset, 'gauge', 'Oldest Offset of a Broker at Topic/Partition'),
    series(
      KAFKA_EXPORTER.topicOldestOffset,
      { partition: '0', topic: DEAD_LETTER_TOPIC },
      100 + Math.floor(t) - EXPECTED.deadLettersHeld,
    ),
  ];
  return [...lines, ...millis, ...members, ...offsets].join('\n');
}

function autoscaler(): string {
  const out = [...type(KNATIVE_SERVING.actualPods, 'gauge', 'Number of pods that are allocated currently')];
  const requested = [
    ...type(KNATIVE_SERVING.requestedPods, 'gauge', 'Number of pods autoscaler requested from Kubernetes'),
  ];
  for (const [svc, e] of Object.entries(EXPECTED.triggers)) {
    const labels = { configuration_name: svc, namespace_name: NS, revision_name: `${svc}-00001` };
    out.push(series(KNATIVE_SERVING.actualPods, labels, e.pods));
    requested.push(series(KNATIVE_SERVING.requestedPods, labels, e.pods));
  }
  return [...out, ...requested].join('\n');
}

function queueProxy(t: number): string {
  const out = [
    ...type(KNATIVE_SERVING.requestCount, 'counter', 'The number of requests that are routed to queue-proxy'),
  ];
  for (const [svc, e] of Object.entries(EXPECTED.triggers)) {
    const labels = {
      configuration_name: svc,
      namespace_name: NS,
      response_code: '200',
      response_code_class: '2xx',
      revision_name: `${svc}-00001`,
      service_name: svc,
    };
    out.push(series(KNATIVE_SERVING.requestCount, labels, e.attempts * t));
  }
  return out.join('\n');
}

/** db-events' own gauges, by its vocabulary's names. */
function dbEvents(): string {
  const s = EXPECTED.slot;
  const D = DB_EVENTS_METRICS;
  return [
    ...type(D.connected.name, 'gauge', '1 while the replication stream is connected'),
    `${D.connected.name} 1`,
    ...type(D.lagBytes.name, 'gauge', 'lag'),
    `${D.lagBytes.name} ${s.lagBytes}`,
    ...type(D.lagSeconds.name, 'gauge', 'lag'),
    `${D.lagSeconds.name} ${s.lagSeconds}`,
    ...type(D.slotSafeWalSize.name, 'gauge', 'safe_wal_size'),
    `${D.slotSafeWalSize.name} ${s.safeWalBytes}`,
    ...type(D.slotWalStatus.name, 'gauge', 'wal_status'),
    ...['reserved', 'extended', 'unreserved', 'lost'].map(
      (st) => `${D.slotWalStatus.name}{status="${st}"} ${st === 'reserved' ? 1 : 0}`,
    ),
  ].join('\n');
}

export interface FixtureExporters {
  /** Scrape jobs: name -> `127.0.0.1:<port>`. */
  targets: Record<string, string>;
  close(): Promise<void>;
}

/** How long the fixture components pretend to have been running when the test starts, in seconds. */
const UPTIME_S = 3600;

/** Starts one exporter per component of the Kubernetes stack, each on its own loopback port. */
export async function startFixtureExporters(): Promise<FixtureExporters> {
  const started = Date.now();
  const bodies: Record<string, (elapsed: number) => string> = {
    'kafka-broker-receiver': receiver,
    'kafka-sink-receiver': sinkReceiver,
    'kafka-broker-dispatcher': dispatcher,
    'kafka-exporter': kafkaExporter,
    autoscaler: () => autoscaler(),
    'queue-proxy': queueProxy,
    'db-events': () => dbEvents(),
  };
  // Every sample carries the time its value was computed (the text format's optional timestamp, which
  // Prometheus honours by default). rate() then sees the fixtures' exact slopes, however late a loaded
  // machine serves a scrape after Prometheus stamped its start.
  const stamped = (body: (elapsed: number) => string) => {
    const now = Date.now();
    // As if each component had run for an hour already: Prometheus's rate() would otherwise stop its
    // extrapolation at the counters' zero, which reads a few percent low in the first window.
    return body(UPTIME_S + (now - started) / 1000)
      .split('\n')
      .map((line) => (line === '' || line.startsWith('#') ? line : `${line} ${now}`))
      .join('\n');
  };
  const servers: Server[] = [];
  const targets: Record<string, string> = {};
  for (const [job, body] of Object.entries(bodies)) {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      res
        .writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
        .end(`${stamped(body)}\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    targets[job] = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  return {
    targets,
    close: () =>
      Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(
        () => undefined,
      ),
  };
}
