/**
 * Coded errors of table backfills. A backfill that cannot run (no primary key, a key type without a total
 * order, a table outside the publication, a bad WHERE) fails for good with one of these codes; retrying
 * cannot help, so the backfill is marked `failed` with the message and the stream goes on.
 */
import { TributaryError } from '@tributary/shared';

export const BACKFILL_ERROR_CODES = {
  /** The table has no primary key: a backfill pages through a table by its primary key. */
  noPrimaryKey: 'BACKFILL_NO_PRIMARY_KEY',
  /** A key column's type has no default btree operator class, so its values have no total order. */
  keyNotOrderable: 'BACKFILL_KEY_NOT_ORDERABLE',
  /** The table is not in db-events' publication: its changes would not be seen during a chunk's window. */
  tableNotPublished: 'BACKFILL_TABLE_NOT_PUBLISHED',
  /** REPLICA IDENTITY NOTHING, or an identity index without the key columns: deletes would not name the key. */
  replicaIdentity: 'BACKFILL_REPLICA_IDENTITY',
  /** The primary key changed between a backfill's start and its resumption. */
  keyChanged: 'BACKFILL_KEY_CHANGED',
  /** The table does not exist (or is not a table). */
  tableNotFound: 'BACKFILL_TABLE_NOT_FOUND',
  /** The WHERE condition does not parse or names unknown columns. */
  invalidWhere: 'BACKFILL_INVALID_WHERE',
} as const;

export type BackfillErrorCode = (typeof BACKFILL_ERROR_CODES)[keyof typeof BACKFILL_ERROR_CODES];

/** A backfill that cannot run as asked; not retriable. Answered as 400 at an HTTP boundary. */
export class BackfillError extends TributaryError {
  constructor(code: BackfillErrorCode, message: string, cause?: unknown) {
    super(message, { code, retriable: false, statusCode: 400, cause });
  }
}

/** The stream session a chunk was waiting on ended (reconnect, shutdown): the chunk is read again later. */
export class SessionEndedError extends TributaryError {
  constructor() {
    super('replication session ended during a backfill chunk', { code: 'BACKFILL_SESSION_ENDED' });
  }
}
