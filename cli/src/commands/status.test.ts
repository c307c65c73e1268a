import { describe, expect, it } from '@jest/globals';
import { formatSlot, parseSlotMetrics } from './status.js';

const METRICS = `# HELP db_events_replication_connected 1 while the replication stream is connected
# TYPE db_events_replication_connected gauge
db_events_replication_connected 1
db_events_replication_lag_bytes 1536
db_events_replication_lag_seconds 0.25
db_events_slot_wal_status{status="reserved"} 1
db_events_slot_wal_status{status="extended"} 0
db_events_slot_wal_status{status="unreserved"} 0
db_events_slot_wal_status{status="lost"} 0
db_events_slot_safe_wal_size_bytes 2147483648
`;

// What `status` shows for a cluster is tested against a real API server in status.int.test.ts.
describe('parseSlotMetrics', () => {
  it('reads the db-events gauges and ignores the rest', () => {
    expect(parseSlotMetrics(`${METRICS}process_cpu_seconds_total 12\nnot a metric line\n`)).toEqual({
      connected: true,
      lagBytes: 1536,
      lagSeconds: 0.25,
      walStatus: 'reserved',
      safeWalSizeBytes: 2147483648,
    });
    expect(
      parseSlotMetrics('db_events_replication_connected 0\ndb_events_slot_safe_wal_size_bytes -1\n'),
    ).toEqual({
      connected: false,
      safeWalSizeBytes: -1,
    });
  });
});

describe('formatSlot', () => {
  it('says what is known and what is not', () => {
    expect(formatSlot({})).toBe('connection unknown');
    expect(formatSlot({ connected: false, safeWalSizeBytes: -1 })).toBe(
      'NOT connected, WAL kept without limit',
    );
  });
});
