/**
 * The streaming replication sub-protocol carried in CopyData messages once START_REPLICATION has put the
 * connection in CopyBoth mode (https://www.postgresql.org/docs/17/protocol-replication.html).
 */
import { TributaryError } from '@tributary/shared';
import type { Lsn } from './lsn.js';

/** Microseconds between the Unix epoch and the Postgres epoch (2000-01-01T00:00:00Z). */
export const PG_EPOCH_OFFSET_US = 946_684_800_000_000n;

/** Postgres timestamp (µs since 2000-01-01) -> Unix µs. */
export function pgTimeToUnixMicros(pgTime: bigint): bigint {
  return pgTime + PG_EPOCH_OFFSET_US;
}

export function unixMicrosNow(): bigint {
  return BigInt(Date.now()) * 1000n;
}

/** XLogData (B): `w`, dataStart, walEnd, sendTime, then one pgoutput message. */
export interface XLogData {
  kind: 'xlogdata';
  walStart: Lsn;
  walEnd: Lsn;
  /** Server send time, µs since the Postgres epoch. */
  sendTime: bigint;
  data: Buffer;
}

/** Primary keepalive (B): `k`, walEnd, sendTime, replyRequested. */
export interface PrimaryKeepalive {
  kind: 'keepalive';
  walEnd: Lsn;
  sendTime: bigint;
  replyRequested: boolean;
}

export type ReplicationMessage = XLogData | PrimaryKeepalive;

/** Parses the payload of one CopyData message from the server. */
export function parseCopyData(buf: Buffer): ReplicationMessage {
  const tag = buf[0];
  if (tag === 0x77 /* w */) {
    return {
      kind: 'xlogdata',
      walStart: buf.readBigUInt64BE(1),
      walEnd: buf.readBigUInt64BE(9),
      sendTime: buf.readBigInt64BE(17),
      data: buf.subarray(25),
    };
  }
  if (tag === 0x6b /* k */) {
    return {
      kind: 'keepalive',
      walEnd: buf.readBigUInt64BE(1),
      sendTime: buf.readBigInt64BE(9),
      replyRequested: buf[17] === 1,
    };
  }
  throw new TributaryError(`unexpected replication message tag 0x${(tag ?? 0).toString(16)}`, {
    code: 'REPLICATION_DECODE',
  });
}

/**
 * Standby status update (F): `r`, write, flush, apply LSNs (+1 convention not used: the server takes them
 * as "everything before this position"), client time, replyRequested.
 */
export function standbyStatusUpdate(write: Lsn, flush: Lsn, apply: Lsn, replyRequested = false): Buffer {
  const buf = Buffer.allocUnsafe(34);
  buf[0] = 0x72; // r
  buf.writeBigUInt64BE(write, 1);
  buf.writeBigUInt64BE(flush, 9);
  buf.writeBigUInt64BE(apply, 17);
  buf.writeBigInt64BE(unixMicrosNow() - PG_EPOCH_OFFSET_US, 25);
  buf[33] = replyRequested ? 1 : 0;
  return buf;
}
