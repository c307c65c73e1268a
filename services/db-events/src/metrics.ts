import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** db-events' Prometheus metrics (names prefixed `db_events_`). */
export function createMetrics(registry: Registry) {
  const registers = [registry];
  return {
    changes: new Counter({
      name: 'db_events_changes_total',
      help: 'Row changes published, by table and operation (rate() gives changes/s)',
      labelNames: ['table', 'op'] as const,
      registers,
    }),
    messages: new Counter({
      name: 'db_events_messages_total',
      help: 'Outbox messages (prefix "tributary") published, by outcome (valid|invalid)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    rejected: new Counter({
      name: 'db_events_sink_rejected_total',
      help: 'Events the sink refused permanently (logged and skipped)',
      registers,
    }),
    published: new Counter({
      name: 'db_events_events_published_total',
      help: 'Events accepted by the sink',
      registers,
    }),
    connected: new Gauge({
      name: 'db_events_replication_connected',
      help: '1 while the replication stream is connected',
      registers,
    }),
    reconnects: new Counter({
      name: 'db_events_replication_reconnects_total',
      help: 'Replication sessions that ended with an error and were restarted',
      registers,
    }),
    lagBytes: new Gauge({
      name: 'db_events_replication_lag_bytes',
      help: "WAL bytes between the server's current position and the slot's confirmed flush position",
      registers,
    }),
    lagSeconds: new Gauge({
      name: 'db_events_replication_lag_seconds',
      help: 'Seconds between the commit of the last acknowledged transaction and its acknowledgement; 0 when caught up',
      registers,
    }),
    slotWalStatus: new Gauge({
      name: 'db_events_slot_wal_status',
      help: "1 for the slot's current pg_replication_slots.wal_status (reserved|extended|unreserved|lost)",
      labelNames: ['status'] as const,
      registers,
    }),
    slotSafeWalSize: new Gauge({
      name: 'db_events_slot_safe_wal_size_bytes',
      help: 'pg_replication_slots.safe_wal_size: WAL that can still be written before the slot is lost (-1 = unlimited)',
      registers,
    }),
    sinkLatency: new Histogram({
      name: 'db_events_sink_latency_seconds',
      help: 'Time for the sink to accept one batch',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    commitToAck: new Histogram({
      name: 'db_events_commit_to_ack_seconds',
      help: "Time from a transaction's commit to the sink accepting its last event",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    inFlight: new Gauge({
      name: 'db_events_in_flight_events',
      help: 'Events decoded but not yet accepted by the sink',
      registers,
    }),
    paused: new Gauge({
      name: 'db_events_reading_paused',
      help: '1 while reading from Postgres is paused because the sink is behind (backpressure)',
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

export const WAL_STATUSES = ['reserved', 'extended', 'unreserved', 'lost'] as const;
