// db-events' metric vocabulary (docs/METRICS.md), exported as `@tributary/db-events/metrics`: the names, types
// and labels metrics.ts registers (metric-names.test.ts checks they agree). The dashboard's slot-health view,
// infra/'s Grafana dashboards and alert rules read these.
import { metric } from '@tributary/shared';

export const DB_EVENTS_METRICS = {
  changes: metric('db_events_changes_total', 'counter', ['table', 'op']),
  messages: metric('db_events_messages_total', 'counter', ['outcome']),
  rejected: metric('db_events_sink_rejected_total', 'counter'),
  published: metric('db_events_events_published_total', 'counter'),
  /** 1 while the replication stream is connected. */
  connected: metric('db_events_replication_connected', 'gauge'),
  reconnects: metric('db_events_replication_reconnects_total', 'counter'),
  lagBytes: metric('db_events_replication_lag_bytes', 'gauge'),
  lagSeconds: metric('db_events_replication_lag_seconds', 'gauge'),
  /** 1 for the slot's current `wal_status` (label `status`: reserved, extended, unreserved, lost). */
  slotWalStatus: metric('db_events_slot_wal_status', 'gauge', ['status']),
  /** `pg_replication_slots.safe_wal_size`; -1 = unlimited. */
  slotSafeWalSize: metric('db_events_slot_safe_wal_size_bytes', 'gauge'),
  sinkLatency: metric('db_events_sink_latency_seconds', 'histogram'),
  commitToAck: metric('db_events_commit_to_ack_seconds', 'histogram'),
  inFlight: metric('db_events_in_flight_events', 'gauge'),
  paused: metric('db_events_reading_paused', 'gauge'),
} as const;
