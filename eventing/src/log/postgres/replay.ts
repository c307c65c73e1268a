import { TributaryError } from '@tributary/shared';
import type pg from 'pg';
import { brokerKey } from '../names.js';
import type { BrokerRef, ReplayOptions, ReplayResult } from '../types.js';

/**
 * Replay on the Postgres log: the group's stored position (`subscriptions.committed_offset`) moves back and
 * its `epoch` goes up, in one transaction that also sends a NOTIFY `replay:<broker id>:<group>`. A running
 * subscription of the group re-reads its position on that NOTIFY and takes the new epoch when it hands the
 * first record from there to its dispatcher; commits carry the epoch they were made in, so progress of
 * records handed over before the replay can no longer move the position past the new one.
 */
export async function replayPostgres(
  pool: pg.Pool,
  schema: string,
  channel: string,
  broker: BrokerRef,
  groupId: string,
  options: ReplayOptions,
): Promise<ReplayResult> {
  const s = schema;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows: brokers } = await client.query<{ id: number; next_offset: string }>(
      `SELECT id, next_offset FROM ${s}.brokers WHERE namespace = $1 AND name = $2`,
      [broker.namespace, broker.name],
    );
    const b = brokers[0];
    if (!b) {
      throw new TributaryError(`no broker ${brokerKey(broker)} in the Postgres log (schema ${s})`, {
        code: 'BROKER_NOT_FOUND',
        statusCode: 404,
        retriable: false,
      });
    }
    // The row lock orders this replay with the subscription's commits (which update the same row).
    const { rows: subs } = await client.query<{ committed_offset: string }>(
      `SELECT committed_offset FROM ${s}.subscriptions WHERE broker_id = $1 AND group_id = $2 FOR UPDATE`,
      [b.id, groupId],
    );
    const { rows: bounds } = await client.query<{ low: string | null; at: string | null }>(
      `SELECT (SELECT min("offset") FROM ${s}.events WHERE broker_id = $1) AS low,
              (SELECT min("offset") FROM ${s}.events WHERE broker_id = $1 AND stored_at >= $2) AS at`,
      [b.id, options.from === 'earliest' ? null : options.from],
    );
    const next = BigInt(b.next_offset);
    // Offsets are gap-free below next_offset; retention deletes from the start, so `low` is the log start.
    const low = bounds[0]?.low == null ? next : BigInt(bounds[0].low);
    let target = options.from === 'earliest' ? low : bounds[0]?.at == null ? next : BigInt(bounds[0].at);
    const stored = subs[0] ? BigInt(subs[0].committed_offset) : null;
    const current = stored ?? next;
    if (target > current) target = current; // only ever back: nothing is skipped
    const from = current > low ? current : low;
    const events = from > target ? Number(from - target) : 0;
    const result: ReplayResult = {
      groupId,
      partitions: [
        { partition: 0, current: stored === null ? null : String(stored), target: String(target), events },
      ],
      applied: 'none',
    };
    if (options.dryRun || (stored !== null && target === stored)) {
      await client.query('ROLLBACK');
      return result;
    }
    await client.query(
      `INSERT INTO ${s}.subscriptions (broker_id, group_id, committed_offset, epoch) VALUES ($1, $2, $3, 1)
       ON CONFLICT (broker_id, group_id)
       DO UPDATE SET committed_offset = EXCLUDED.committed_offset,
                     epoch = ${s}.subscriptions.epoch + 1, updated_at = now()`,
      [b.id, groupId, String(target)],
    );
    await client.query('SELECT pg_notify($1, $2)', [channel, replayNotification(b.id, groupId)]);
    await client.query('COMMIT');
    return { ...result, applied: 'offsets' };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** Payload of the NOTIFY a replay sends on the log's channel (appends send the bare broker id). */
export function replayNotification(brokerId: number, groupId: string): string {
  return `replay:${brokerId}:${groupId}`;
}
