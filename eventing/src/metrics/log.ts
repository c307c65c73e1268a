import { Counter, Histogram, type Registry } from 'prom-client';
import { LOG_METRICS } from './names.js';

/** Metrics of the broker log backends (kafka, postgres), one set per prom-client registry. */
export interface LogMetrics {
  /** Events per backend write: how well concurrent appends are coalesced. */
  writeEvents: Histogram<'backend'>;
  /** Backend writes by outcome (`ok` / `error`). */
  writes: Counter<'backend' | 'outcome'>;
  /** Stored records that are not CloudEvents and were skipped by a subscription. */
  undecodable: Counter<'backend' | 'group'>;
  /**
   * Kafka consumers that crashed, by who restarts them: `kafkajs` (a retriable error, kafkajs rejoins on its
   * own) or `log` (kafkajs gave up; the log starts a new consumer).
   */
  consumerCrashes: Counter<'group' | 'restart'>;
}

const byRegistry = new WeakMap<Registry, LogMetrics>();

export function logMetrics(registry: Registry): LogMetrics {
  let m = byRegistry.get(registry);
  if (m) return m;
  m = {
    writeEvents: new Histogram({
      name: LOG_METRICS.writeEvents.name,
      help: 'Events per backend write (concurrent appends are coalesced into one write)',
      labelNames: LOG_METRICS.writeEvents.labels,
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
      registers: [registry],
    }),
    writes: new Counter({
      name: LOG_METRICS.writes.name,
      help: 'Backend writes (Kafka produce requests / Postgres transactions) by outcome',
      labelNames: LOG_METRICS.writes.labels,
      registers: [registry],
    }),
    undecodable: new Counter({
      name: LOG_METRICS.undecodable.name,
      help: 'Stored records that are not valid CloudEvents, skipped by a subscription',
      labelNames: LOG_METRICS.undecodable.labels,
      registers: [registry],
    }),
    consumerCrashes: new Counter({
      name: LOG_METRICS.consumerCrashes.name,
      help: 'Kafka consumers that crashed, by who restarts them (kafkajs, log)',
      labelNames: LOG_METRICS.consumerCrashes.labels,
      registers: [registry],
    }),
  };
  byRegistry.set(registry, m);
  return m;
}
