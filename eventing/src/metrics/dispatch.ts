import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { TRIGGER_METRICS } from './names.js';

/**
 * Per-Trigger dispatch metrics. Every series carries `namespace`, `broker` and `trigger`;
 * `destination` is `subscriber` or `dead_letter`.
 */
type TriggerLabels = 'namespace' | 'broker' | 'trigger';

export interface DispatchMetrics {
  /** Final outcome of each delivery (after retries), by HTTP status code (`error` = no response). */
  dispatched: Counter<TriggerLabels | 'destination' | 'status_code'>;
  /** Time from the first attempt to the final outcome, retries included. */
  latency: Histogram<TriggerLabels | 'destination'>;
  retries: Counter<TriggerLabels | 'destination'>;
  deadLetters: Counter<TriggerLabels>;
  /** Events that failed with no dead-letter sink configured (dropped, as Knative does). */
  undelivered: Counter<TriggerLabels>;
  /** Events the Trigger's filter did not match. */
  filtered: Counter<TriggerLabels>;
  /**
   * Records that can never be delivered, committed past: `invalid` (not a CloudEvent) or `error` (an
   * unexpected error while dispatching; the event also goes to the dead-letter sink when there is one).
   */
  skipped: Counter<TriggerLabels | 'reason'>;
  inFlight: Gauge<TriggerLabels>;
  /** Replies by result: `appended`, `ttl_exceeded`, `invalid`. */
  replies: Counter<TriggerLabels | 'result'>;
  lagEvents: Gauge<TriggerLabels | 'partition'>;
  lagSeconds: Gauge<TriggerLabels | 'partition'>;
}

const cache = new WeakMap<Registry, DispatchMetrics>();

/** The dispatch metrics registered in `registry` (created once per registry). */
export function dispatchMetrics(registry: Registry): DispatchMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const m: DispatchMetrics = {
    dispatched: new Counter({
      name: TRIGGER_METRICS.dispatched.name,
      help: 'Events dispatched by a Trigger, by final HTTP status code (error = no response)',
      labelNames: TRIGGER_METRICS.dispatched.labels,
      registers,
    }),
    latency: new Histogram({
      name: TRIGGER_METRICS.dispatchLatency.name,
      help: 'Time from the first delivery attempt to the final outcome, retries included',
      labelNames: TRIGGER_METRICS.dispatchLatency.labels,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    retries: new Counter({
      name: TRIGGER_METRICS.retries.name,
      help: 'Delivery retries',
      labelNames: TRIGGER_METRICS.retries.labels,
      registers,
    }),
    deadLetters: new Counter({
      name: TRIGGER_METRICS.deadLetters.name,
      help: 'Events delivered to the dead-letter sink',
      labelNames: TRIGGER_METRICS.deadLetters.labels,
      registers,
    }),
    undelivered: new Counter({
      name: TRIGGER_METRICS.undelivered.name,
      help: 'Events that failed delivery with no dead-letter sink configured (dropped)',
      labelNames: TRIGGER_METRICS.undelivered.labels,
      registers,
    }),
    filtered: new Counter({
      name: TRIGGER_METRICS.filtered.name,
      help: 'Events that did not match the Trigger filter',
      labelNames: TRIGGER_METRICS.filtered.labels,
      registers,
    }),
    skipped: new Counter({
      name: TRIGGER_METRICS.skipped.name,
      help: 'Records that can never be delivered and were committed past, by reason (invalid, error)',
      labelNames: TRIGGER_METRICS.skipped.labels,
      registers,
    }),
    inFlight: new Gauge({
      name: TRIGGER_METRICS.inFlight.name,
      help: 'Events being delivered (including waiting between retries)',
      labelNames: TRIGGER_METRICS.inFlight.labels,
      registers,
    }),
    replies: new Counter({
      name: TRIGGER_METRICS.replies.name,
      help: 'Subscriber replies, by result (appended, ttl_exceeded, invalid)',
      labelNames: TRIGGER_METRICS.replies.labels,
      registers,
    }),
    lagEvents: new Gauge({
      name: TRIGGER_METRICS.lagEvents.name,
      help: 'Events stored but not yet committed by the Trigger, per partition',
      labelNames: TRIGGER_METRICS.lagEvents.labels,
      registers,
    }),
    lagSeconds: new Gauge({
      name: TRIGGER_METRICS.lagSeconds.name,
      help: 'Age of the oldest uncommitted event, per partition',
      labelNames: TRIGGER_METRICS.lagSeconds.labels,
      registers,
    }),
  };
  cache.set(registry, m);
  return m;
}
