import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { DB_EVENTS_METRICS } from './metric-names.js';

/** db-events' Prometheus metrics (names prefixed `db_events_`). */
export function createMetrics(registry: Registry) {
  const registers = [registry];
  return {
    changes: new Counter({
      name: DB_EVENTS_METRICS.changes.name,
      help: 'Row changes published, by table and operation (rate() gives changes/s)',
      labelNames: DB_EVENTS_METRICS.changes.labels,
      registers,
    }),
    messages: new Counter({
      name: DB_EVENTS_METRICS.messages.name,
      help: 'Outbox messages (prefix "tributary") published, by outcome (valid|invalid)',
      labelNames: DB_EVENTS_METRICS.messages.labels,
      registers,
    }),
    rejected: new Counter({
      name: DB_EVENTS_METRICS.rejected.name,
      help: 'Events the sink refused permanently (logged and skipped)',
      registers,
    }),
    published: new Counter({
      name: DB_EVENTS_METRICS.published.name,
      help: 'Events accepted by the sink',
      registers,
    }),
    connected: new Gauge({
      name: DB_EVENTS_METRICS.connected.name,
      help: '1 while the replication stream is connected',
      registers,
    }),
    reconnects: new Counter({
      name: DB_EVENTS_METRICS.reconnects.name,
      help: 'Replication sessions that ended with an error and were restarted',
      registers,
    }),
    lagBytes: new Gauge({
      name: DB_EVENTS_METRICS.lagBytes.name,
      help: "WAL bytes between the server's current position and the slot's confirmed flush position",
      registers,
    }),
    lagSeconds: new Gauge({
      name: DB_EVENTS_METRICS.lagSeconds.name,
      help: 'Seconds between the commit of the last acknowledged transaction and its acknowledgement; 0 when caught up',
      registers,
    }),
    slotWalStatus: new Gauge({
      name: DB_EVENTS_METRICS.slotWalStatus.name,
      help: "1 for the slot's current pg_replication_slots.wal_status (reserved|extended|unreserved|lost)",
      labelNames: DB_EVENTS_METRICS.slotWalStatus.labels,
      registers,
    }),
    slotSafeWalSize: new Gauge({
      name: DB_EVENTS_METRICS.slotSafeWalSize.name,
      help: 'pg_replication_slots.safe_wal_size: WAL that can still be written before the slot is lost (-1 = unlimited)',
      registers,
    }),
    sinkLatency: new Histogram({
      name: DB_EVENTS_METRICS.sinkLatency.name,
      help: 'Time for the sink to accept one batch',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    commitToAck: new Histogram({
      name: DB_EVENTS_METRICS.commitToAck.name,
      help: "Time from a transaction's commit to the sink accepting its last event",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    inFlight: new Gauge({
      name: DB_EVENTS_METRICS.inFlight.name,
      help: 'Events decoded but not yet accepted by the sink',
      registers,
    }),
    paused: new Gauge({
      name: DB_EVENTS_METRICS.paused.name,
      help: '1 while reading from Postgres is paused because the sink is behind (backpressure)',
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

export const WAL_STATUSES = ['reserved', 'extended', 'unreserved', 'lost'] as const;
