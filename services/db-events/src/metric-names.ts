// db-events' metric vocabulary (docs/METRICS.md), exported as `@tributary/db-events/metrics`: the names, types
// and labels metrics.ts registers (metric-names.test.ts checks they agree). The dashboard's slot-health view,
// infra/'s Grafana dashboards and alert rules read these.
// Type-only imports: importing these names loads nothing else.
import type { MetricDef } from '@tributary/shared';

export const DB_EVENTS_METRICS = {
  changes: { name: 'db_events_changes_total', type: 'counter', labels: ['table', 'op'] },
  messages: { name: 'db_events_messages_total', type: 'counter', labels: ['outcome'] },
  rejected: { name: 'db_events_sink_rejected_total', type: 'counter', labels: [] },
  published: { name: 'db_events_events_published_total', type: 'counter', labels: [] },
  /** 1 while the replication stream is connected. */
  connected: { name: 'db_events_replication_connected', type: 'gauge', labels: [] },
  reconnects: { name: 'db_events_replication_reconnects_total', type: 'counter', labels: [] },
  lagBytes: { name: 'db_events_replication_lag_bytes', type: 'gauge', labels: [] },
  lagSeconds: { name: 'db_events_replication_lag_seconds', type: 'gauge', labels: [] },
  /** 1 for the slot's current `wal_status` (label `status`: reserved, extended, unreserved, lost). */
  slotWalStatus: { name: 'db_events_slot_wal_status', type: 'gauge', labels: ['status'] },
  /** `pg_replication_slots.safe_wal_size`; -1 = unlimited. */
  slotSafeWalSize: { name: 'db_events_slot_safe_wal_size_bytes', type: 'gauge', labels: [] },
  sinkLatency: { name: 'db_events_sink_latency_seconds', type: 'histogram', labels: [] },
  commitToAck: { name: 'db_events_commit_to_ack_seconds', type: 'histogram', labels: [] },
  inFlight: { name: 'db_events_in_flight_events', type: 'gauge', labels: [] },
  paused: { name: 'db_events_reading_paused', type: 'gauge', labels: [] },
} as const satisfies Record<string, MetricDef>;
