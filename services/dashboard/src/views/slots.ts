// View "replication slots" (db-events): connected, lag bytes and seconds, wal_status, safe_wal_size, and a
// level with warnings when WAL is at risk.
import { DB_EVENTS_METRICS as D } from '@tributary/db-events/metrics';
import { fmtBytes } from '../ui/format.js';
import { has, label, type Scraped, total } from './series.js';
import type { SlotView } from './types.js';

/** One-machine mode: each db-events' own gauges (before {@link assessSlot}). */
export function scrapedSlots(scrapes: readonly { name: string; now: Scraped }[]): SlotView[] {
  return scrapes.map(({ name, now }) => {
    const gauge = (m: (typeof D)[keyof typeof D]) => (has(now, m) ? total(now, m) : null);
    const status = now.samples.find((s) => s.name === D.slotWalStatus.name && s.value === 1);
    const safe = gauge(D.slotSafeWalSize);
    const connected = gauge(D.connected);
    return {
      source: name,
      connected: connected === null ? null : connected === 1,
      lagBytes: gauge(D.lagBytes),
      lagSeconds: gauge(D.lagSeconds),
      walStatus: (status && label(status, D.slotWalStatus, 'status')) ?? null,
      safeWalSize: safe === null || safe < 0 ? null : safe,
      level: 'ok',
      warnings: [],
    };
  });
}

/**
 * Slot health, from worst to mildest (PostgreSQL docs, pg_replication_slots.wal_status): `lost` (WAL the slot
 * needs was removed: events were missed), `unreserved` (past max_slot_wal_keep_size: lost at the next
 * checkpoint), `extended` (past max_wal_size, still kept), and safe_wal_size under the threshold.
 */
export function assessSlot(v: SlotView, warnAtBytes: number): SlotView {
  const warnings: string[] = [];
  let level: SlotView['level'] = 'ok';
  const raise = (l: SlotView['level'], msg: string) => {
    warnings.push(msg);
    if (l === 'critical' || level === 'ok') level = l;
  };
  if (v.walStatus === 'lost')
    raise('critical', 'slot lost: Postgres removed WAL it needed; changes were missed — recreate the slot');
  else if (v.walStatus === 'unreserved')
    raise('critical', 'WAL at risk: past max_slot_wal_keep_size, it will be removed at the next checkpoint');
  else if (v.walStatus === 'extended') raise('warning', 'slot retains WAL beyond max_wal_size');
  if (v.safeWalSize !== null && v.safeWalSize < warnAtBytes && v.walStatus !== 'lost') {
    raise(
      v.safeWalSize <= 0 ? 'critical' : 'warning',
      `only ${fmtBytes(v.safeWalSize)} of WAL left before the slot is lost`,
    );
  }
  if (v.connected === false) raise('warning', 'replication stream disconnected');
  return { ...v, level, warnings };
}
