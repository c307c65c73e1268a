import { Counter, Histogram, type Registry } from 'prom-client';
import { INGRESS_METRICS } from './names.js';

/** Metrics of the broker ingress, one set per prom-client registry. */
export interface IngressMetrics {
  /** Events received, by broker, event type and the status code answered (202 = accepted). */
  events: Counter<'namespace' | 'broker' | 'event_type' | 'status_code'>;
  /** Time for the log to make a request's events durable. */
  appendDuration: Histogram<'namespace' | 'broker' | 'backend' | 'outcome'>;
}

const byRegistry = new WeakMap<Registry, IngressMetrics>();

export function ingressMetrics(registry: Registry): IngressMetrics {
  let m = byRegistry.get(registry);
  if (m) return m;
  m = {
    events: new Counter({
      name: INGRESS_METRICS.events.name,
      help: 'Events received by the broker ingress, by broker, event type and status code (202 = accepted)',
      labelNames: INGRESS_METRICS.events.labels,
      registers: [registry],
    }),
    appendDuration: new Histogram({
      name: INGRESS_METRICS.appendDuration.name,
      help: 'Time for the broker log to make the events of one ingress request durable',
      labelNames: INGRESS_METRICS.appendDuration.labels,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
  byRegistry.set(registry, m);
  return m;
}

/**
 * Bounds the `event_type` label: producers choose types freely, so after `max` distinct types any new one
 * is counted as `other` instead of growing the series without limit.
 */
export class LabelLimiter {
  private readonly seen = new Set<string>();
  constructor(private readonly max = 200) {}

  label(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(value);
    return value;
  }
}
