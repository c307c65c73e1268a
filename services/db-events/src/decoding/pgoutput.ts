/**
 * Parser for the pgoutput logical decoding plugin's messages, protocol version 1 (no streaming of
 * in-progress transactions): https://www.postgresql.org/docs/17/protocol-logicalrep-message-formats.html
 */
import { TributaryError } from '@tributary/shared';
import type { Lsn } from '../replication/lsn.js';
import { BufferReader } from './buffer-reader.js';

export interface RelationColumn {
  name: string;
  typeOid: number;
  typeMod: number;
  /** Flag bit 1: the column is part of the replica identity (every column under REPLICA IDENTITY FULL). */
  isKey: boolean;
}

/** `d` default (primary key), `n` nothing, `f` full, `i` index. */
export type ReplicaIdentity = 'd' | 'n' | 'f' | 'i';

export interface PgRelation {
  tag: 'relation';
  relationId: number;
  schema: string;
  name: string;
  replicaIdentity: ReplicaIdentity;
  columns: RelationColumn[];
}

/** One column of a TupleData: null, unchanged TOAST, or the value's text form. */
export type TupleValue = null | undefined | string;

/** Column kinds in {@link Tuple.cols}. */
export const TUPLE_TEXT = 0;
export const TUPLE_BINARY = 1;
export const TUPLE_NULL = 2;
export const TUPLE_TOAST = 3;

/**
 * A TupleData: per column SQL NULL (`n`), an unchanged TOASTed value (`u`), or where the value's bytes are in
 * the message (`t` text, `b` binary). No JS string is made for a value until {@link value} asks for it, so
 * changes.ts writes a row's JSON straight from the bytes (json-text.ts). The bytes are the message's, not a
 * copy: read them before the buffer the message came in is reused (db-events decodes each message, and
 * builds its events, before it reads the next).
 */
export class Tuple {
  /** Unchanged TOAST columns in this tuple. */
  unchanged = 0;

  constructor(
    /** The message the values are in. */
    readonly buf: Buffer,
    /** Per column `i`: `cols[3i]` the kind (TUPLE_*), `cols[3i + 1]` and `cols[3i + 2]` the bytes' range. */
    readonly cols: number[],
  ) {}

  /** Number of columns. */
  get length(): number {
    return this.cols.length / 3;
  }

  /** TUPLE_TEXT, TUPLE_BINARY, TUPLE_NULL or TUPLE_TOAST; undefined beyond the tuple's columns. */
  kind(i: number): number | undefined {
    return this.cols[3 * i];
  }

  /**
   * Column `i`: null for SQL NULL, undefined for unchanged TOAST (or beyond the tuple), else the text form (a
   * binary value as hex).
   */
  value(i: number): TupleValue {
    const c = this.cols;
    const kind = c[3 * i];
    if (kind === TUPLE_TEXT) return this.buf.toString('utf8', c[3 * i + 1], c[3 * i + 2]);
    if (kind === TUPLE_NULL) return null;
    if (kind === TUPLE_BINARY) return this.buf.toString('hex', c[3 * i + 1], c[3 * i + 2]);
    return undefined;
  }

  /** Every column's {@link value}. */
  values(): TupleValue[] {
    const n = this.length;
    const out: TupleValue[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.value(i);
    return out;
  }

  /** A tuple of text values (as a `t`/`n`/`u` TupleData would give them), e.g. for tests. */
  static of(values: readonly TupleValue[]): Tuple {
    const parts: Buffer[] = [];
    const cols: number[] = [];
    let at = 0;
    for (const v of values) {
      if (v === null) cols.push(TUPLE_NULL, 0, 0);
      else if (v === undefined) cols.push(TUPLE_TOAST, 0, 0);
      else {
        const b = Buffer.from(v, 'utf8');
        parts.push(b);
        cols.push(TUPLE_TEXT, at, at + b.length);
        at += b.length;
      }
    }
    const t = new Tuple(Buffer.concat(parts), cols);
    t.unchanged = values.filter((v) => v === undefined).length;
    return t;
  }
}

export interface PgBegin {
  tag: 'begin';
  /** LSN of the commit record: the commit LSN, known before the changes arrive. */
  finalLsn: Lsn;
  /** µs since the Postgres epoch. */
  commitTime: bigint;
  xid: number;
}

export interface PgCommit {
  tag: 'commit';
  flags: number;
  commitLsn: Lsn;
  /** End of the commit record: confirming this position means the transaction is done. */
  endLsn: Lsn;
  commitTime: bigint;
}

export interface PgOrigin {
  tag: 'origin';
  originLsn: Lsn;
  name: string;
}

export interface PgType {
  tag: 'type';
  typeOid: number;
  schema: string;
  name: string;
}

export interface PgInsert {
  tag: 'insert';
  relationId: number;
  new: Tuple;
}

export interface PgUpdate {
  tag: 'update';
  relationId: number;
  /** `K` key columns (replica identity changed) or `O` the whole old row (REPLICA IDENTITY FULL). */
  oldKind: 'K' | 'O' | undefined;
  old: Tuple | undefined;
  new: Tuple;
}

export interface PgDelete {
  tag: 'delete';
  relationId: number;
  oldKind: 'K' | 'O';
  old: Tuple;
}

export interface PgTruncate {
  tag: 'truncate';
  cascade: boolean;
  restartIdentity: boolean;
  relationIds: number[];
}

export interface PgMessage {
  tag: 'message';
  transactional: boolean;
  lsn: Lsn;
  prefix: string;
  content: Buffer;
}

export type PgOutputMessage =
  | PgBegin
  | PgCommit
  | PgOrigin
  | PgType
  | PgRelation
  | PgInsert
  | PgUpdate
  | PgDelete
  | PgTruncate
  | PgMessage;

function readTuple(r: BufferReader): Tuple {
  const n = r.int16();
  const cols: number[] = new Array(3 * n);
  const tuple = new Tuple(r.buffer, cols);
  for (let i = 0, c = 0; i < n; i++, c += 3) {
    const kind = r.byte();
    cols[c + 1] = 0;
    cols[c + 2] = 0;
    if (kind === 0x6e /* n */) cols[c] = TUPLE_NULL;
    else if (kind === 0x75 /* u */) {
      cols[c] = TUPLE_TOAST;
      tuple.unchanged++;
    } else if (kind === 0x74 /* t */ || kind === 0x62 /* b */) {
      cols[c] = kind === 0x74 ? TUPLE_TEXT : TUPLE_BINARY;
      const len = r.int32();
      const at = r.skip(len);
      cols[c + 1] = at;
      cols[c + 2] = at + len;
    } else
      throw new TributaryError(`pgoutput: unknown tuple column kind 0x${kind.toString(16)}`, {
        code: 'REPLICATION_DECODE',
      });
  }
  return tuple;
}

/** Decodes one pgoutput message (the payload of an XLogData). */
export function decodePgOutput(buf: Buffer): PgOutputMessage {
  const r = new BufferReader(buf);
  const tag = r.byte();
  switch (tag) {
    case 0x42 /* B */:
      return { tag: 'begin', finalLsn: r.uint64(), commitTime: r.int64(), xid: r.uint32() };
    case 0x43 /* C */:
      return {
        tag: 'commit',
        flags: r.byte(),
        commitLsn: r.uint64(),
        endLsn: r.uint64(),
        commitTime: r.int64(),
      };
    case 0x4f /* O */:
      return { tag: 'origin', originLsn: r.uint64(), name: r.cstring() };
    case 0x59 /* Y */:
      return { tag: 'type', typeOid: r.uint32(), schema: r.cstring(), name: r.cstring() };
    case 0x52 /* R */: {
      const relationId = r.uint32();
      const schema = r.cstring();
      const name = r.cstring();
      const replicaIdentity = String.fromCharCode(r.byte()) as ReplicaIdentity;
      const n = r.int16();
      const columns: RelationColumn[] = [];
      for (let i = 0; i < n; i++) {
        const flags = r.byte();
        columns.push({
          isKey: (flags & 1) === 1,
          name: r.cstring(),
          typeOid: r.uint32(),
          typeMod: r.int32(),
        });
      }
      return { tag: 'relation', relationId, schema, name, replicaIdentity, columns };
    }
    case 0x49 /* I */: {
      const relationId = r.uint32();
      r.byte(); // 'N'
      return { tag: 'insert', relationId, new: readTuple(r) };
    }
    case 0x55 /* U */: {
      const relationId = r.uint32();
      let kind = r.byte();
      let oldKind: 'K' | 'O' | undefined;
      let old: Tuple | undefined;
      if (kind === 0x4b /* K */ || kind === 0x4f /* O */) {
        oldKind = kind === 0x4b ? 'K' : 'O';
        old = readTuple(r);
        kind = r.byte(); // 'N'
      }
      return { tag: 'update', relationId, oldKind, old, new: readTuple(r) };
    }
    case 0x44 /* D */: {
      const relationId = r.uint32();
      const oldKind = r.byte() === 0x4b ? 'K' : 'O';
      return { tag: 'delete', relationId, oldKind, old: readTuple(r) };
    }
    case 0x54 /* T */: {
      const n = r.int32();
      const options = r.byte();
      const relationIds: number[] = [];
      for (let i = 0; i < n; i++) relationIds.push(r.uint32());
      return {
        tag: 'truncate',
        cascade: (options & 1) !== 0,
        restartIdentity: (options & 2) !== 0,
        relationIds,
      };
    }
    case 0x4d /* M */: {
      const flags = r.byte();
      const lsn = r.uint64();
      const prefix = r.cstring();
      const content = r.bytes(r.int32());
      return { tag: 'message', transactional: (flags & 1) === 1, lsn, prefix, content };
    }
    default:
      throw new TributaryError(
        `pgoutput: unknown message type "${String.fromCharCode(tag)}" (0x${tag.toString(16)})`,
        { code: 'REPLICATION_DECODE' },
      );
  }
}
