// The dashboard's data model: what one snapshot holds (one field per view), and the interface of a metrics
// source. Shared by the server (collector, views, Prometheus source) and the page (src/ui), so it imports
// nothing at run time.

/** What kind of service a metrics source is. */
export type SourceKind = 'broker' | 'activator' | 'db-events' | 'other';

/** What the Kubernetes API adds (see kubernetes.ts); the local platform has none. */
export interface ClusterView {
  /** Brokers (so that one without traffic is listed too). */
  brokers?: { namespace: string; name: string; ready?: boolean | undefined; reason?: string | undefined }[];
  triggers: {
    namespace: string;
    name: string;
    broker: string;
    filter: string;
    subscriber?: string | undefined;
    ready?: boolean | undefined;
    reason?: string | undefined;
  }[];
  services: {
    namespace: string;
    name: string;
    scale: number;
    minScale?: number | undefined;
    maxScale?: number | undefined;
    ready?: boolean | undefined;
  }[];
}

export interface SourceStatus {
  kind: SourceKind;
  name: string;
  ok: boolean;
  error?: string;
  /** Set while the service is starting (see MetricsSource.starting). */
  starting?: string;
}

export interface BrokerView {
  namespace: string;
  name: string;
  /** Accepted events (202) per second, and in total since the broker started. */
  ingressRate: number;
  accepted: number;
  /** Rejections by status code: total and per second. */
  rejections: { statusCode: string; total: number; rate: number }[];
}

export interface TriggerView {
  namespace: string;
  broker: string;
  name: string;
  filter: string;
  subscriber?: string | undefined;
  ready?: boolean | undefined;
  reason?: string | undefined;
  delivered: number;
  failed: number;
  deadLettered: number;
  deliveredRate: number;
  failedRate: number;
  retryRate: number;
  inFlight: number;
  /** Dispatch latency (seconds) over the window, or since start when nothing was dispatched in it. */
  p50: number | null;
  p99: number | null;
  lagEvents: number;
  lagSeconds: number;
  /** [time ms, lag events, lag seconds], oldest first. */
  lagHistory: [number, number, number][];
}

export interface FunctionView {
  namespace: string;
  name: string;
  scale: number;
  minScale?: number | undefined;
  maxScale?: number | undefined;
  inFlight?: number | undefined;
  coldStarts: number;
  coldStartP50: number | null;
  ready?: boolean | undefined;
}

export interface SlotView {
  source: string;
  connected: boolean | null;
  lagBytes: number | null;
  lagSeconds: number | null;
  walStatus: string | null;
  /** Bytes of WAL that can still be written before the slot is lost; null = unlimited. */
  safeWalSize: number | null;
  level: 'ok' | 'warning' | 'critical';
  warnings: string[];
}

export interface Snapshot {
  at: number;
  sources: SourceStatus[];
  brokers: BrokerView[];
  triggers: TriggerView[];
  functions: FunctionView[];
  slots: SlotView[];
  deadLetters: DeadLetterCount[] | null;
}

/** A Trigger the collector knows of (from YAML, the Kubernetes API or the metrics themselves). */
export interface TriggerRef {
  namespace: string;
  broker: string;
  name: string;
  /** The Knative Service the Trigger delivers to (`subscriber.ref` of kind Service), if any. */
  subscriberService?: string | undefined;
}

/** The numbers of one Trigger that a metrics source reports. */
export type TriggerMetrics = Omit<TriggerView, 'filter' | 'subscriber' | 'ready' | 'reason' | 'lagHistory'>;

export interface DeadLetterCount {
  namespace: string;
  broker: string;
  pending: number;
  total: number;
}

/** What a metrics source reports on one tick: the numbers behind every panel. */
export interface PlatformReading {
  sources: SourceStatus[];
  brokers: BrokerView[];
  triggers: TriggerMetrics[];
  functions: FunctionView[];
  /** Before `assessSlot` (level and warnings are the collector's). */
  slots: SlotView[];
  /** Dead letters the source can count itself (e.g. a KafkaSink seen through Prometheus), else null. */
  deadLetters: DeadLetterCount[] | null;
}

/**
 * Where the dashboard's numbers come from. Two implementations: {@link ScrapedMetrics} (the Tributary
 * broker's, activator's and db-events' own /metrics: one machine) and `PrometheusMetrics`
 * (prometheus-source.ts: a Prometheus server's query API with the Knative Kafka Broker's, Kafka Exporter's
 * and Knative Serving's metric names: Kubernetes).
 */
export interface PlatformMetrics {
  readonly mode: 'broker-metrics' | 'prometheus';
  read(now: number, triggers: readonly TriggerRef[]): Promise<PlatformReading>;
}
