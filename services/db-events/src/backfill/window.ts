/**
 * The watermark windows of a backfill (Netflix DBLog; Debezium incremental snapshots), on the replication
 * stream db-events already reads.
 *
 * For each chunk the runner writes a LOW watermark to the WAL (a non-transactional logical message), reads the
 * chunk with a SELECT, then writes a HIGH watermark. The stream delivers transactions in commit order and the
 * messages at their WAL position, so while the stream is between LOW and HIGH every change it carries to the
 * table may or may not be in the chunk: its key is dropped from the chunk. At HIGH the rest of the chunk is
 * emitted, in key order, right there in the stream: a read event for a key never comes after a newer change to
 * that key, and a change that comes after HIGH is newer than what the chunk read.
 *
 * One race the watermarks alone do not close: a transaction whose commit record is written just before LOW but
 * which is still finishing its commit when the chunk's snapshot is taken. Its changes arrive before LOW, yet
 * the snapshot does not see them, so the chunk holds older values. The snapshot names such transactions: its
 * in-progress list (`xip`), and every id at or above its `xmax` (a transaction newer than every one completed
 * when the snapshot was taken is not listed in `xip` but is just as invisible). The tracker remembers the keys
 * that recent transactions on the table changed, and drops those of any transaction that the snapshot could
 * not see but the stream had already delivered before LOW.
 */
import type { ChangeDecoder, DecodedEvent } from '../decoding/changes.js';
import type { PgOutputMessage, Tuple } from '../decoding/pgoutput.js';
import type { Lsn } from '../replication/lsn.js';

/** The prefix of the watermark messages: `pg_logical_emit_message(false, 'tributary-backfill', json)`. */
export const BACKFILL_PREFIX = 'tributary-backfill';

/**
 * Transactions on the backfilled table remembered for the race above. A transaction only needs remembering
 * for the moment between its commit record and its becoming visible, so this bound is only reached if that
 * many transactions commit on the table in that moment.
 */
export const RECENT_TRANSACTIONS = 65_536;
/** Keys remembered per transaction; a bigger transaction is remembered as "changed everything". */
export const RECENT_KEYS_PER_TRANSACTION = 10_000;

export interface Watermark {
  token: string;
  mark: 'low' | 'high';
}

export function watermarkContent(w: Watermark): string {
  return JSON.stringify({ token: w.token, mark: w.mark });
}

export function parseWatermark(content: Buffer | string): Watermark | undefined {
  try {
    const v = JSON.parse(content.toString()) as Partial<Watermark>;
    if (typeof v.token === 'string' && (v.mark === 'low' || v.mark === 'high')) {
      return { token: v.token, mark: v.mark };
    }
  } catch {
    // Not one of ours.
  }
  return undefined;
}

/** The rows of one chunk, as far as the window needs them (copy-rows.ts `CopyRows`). */
export interface ChunkRows {
  readonly length: number;
  /** The key texts of row `i` joined by NUL, as {@link keyString} joins those of the stream. */
  key(i: number): string | undefined;
}

/** The rows of one chunk and what its snapshot saw in progress. */
export interface ChunkRead {
  rows: ChunkRows;
  /** Transaction ids (low 32 bits) in progress for the chunk's snapshot. */
  xip: ReadonlySet<number>;
  /** The snapshot's `xmax` (low 32 bits): ids at or above it are invisible to it too. */
  xmax: number;
}

/** `a >= b` for 32-bit transaction ids, modulo 2^32 (Postgres' own comparison of normal xids). */
function xidAtLeast(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

export interface WindowResult {
  /** True when the chunk must be read again (a change whose key the stream did not name). */
  retry: boolean;
  rows: number;
  emitted: number;
  dropped: number;
}

/**
 * Builds the read events of the rows kept at HIGH (row numbers in chunk order; undefined: every row);
 * `lowLsn` is where LOW was in the stream.
 */
export type EmitRows = (kept: number[] | undefined, lowLsn: Lsn) => DecodedEvent[];

/** A chunk in flight between its watermarks. */
export class ChunkWindow {
  state: 'waiting' | 'open' | 'closed' = 'waiting';
  lowLsn: Lsn = 0n;
  /** Stream position (count of remembered commits) at LOW. */
  lowPos = 0;
  readonly dropped = new Set<string>();
  truncated = false;
  /** A change to the table whose key could not be read from the stream. */
  unknown = false;
  chunk: ChunkRead | undefined;
  readonly done: Promise<WindowResult>;
  resolve!: (r: WindowResult) => void;
  reject!: (err: Error) => void;

  constructor(
    readonly token: string,
    readonly emit: EmitRows,
    /** Called once the sink has accepted every event up to this chunk's last read event. */
    readonly onAccepted: () => void,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // The runner may give up on a window (its session ended) before anyone awaits it.
    this.done.catch(() => undefined);
  }
}

/** The key texts of one row joined by NUL (which no Postgres text contains), for exact matching. */
export function keyString(
  values: readonly (string | null | undefined)[],
  indexes: readonly number[],
): string | undefined {
  let s = '';
  for (let k = 0; k < indexes.length; k++) {
    const v = values[indexes[k] as number];
    if (v === undefined || v === null) return undefined;
    s += k === 0 ? v : `\u0000${v}`;
  }
  return s;
}

/** {@link keyString} of a stream tuple's key columns. */
function tupleKeyString(tuple: Tuple, indexes: readonly number[]): string | undefined {
  let s = '';
  for (let k = 0; k < indexes.length; k++) {
    const v = tuple.value(indexes[k] as number);
    if (v === undefined || v === null) return undefined;
    s += k === 0 ? v : `\u0000${v}`;
  }
  return s;
}

interface RecentTransaction {
  pos: number;
  /** null: changed keys it could not name, or too many to remember, or truncated the table. */
  keys: Set<string> | null;
}

export interface Observed {
  events: DecodedEvent[];
  onAccepted: () => void;
}

/**
 * Watches one replication session's stream for the backfilled table and the watermarks of its chunks. Fed
 * every decoded pgoutput message, in stream order, after the decoder has seen it.
 */
export class BackfillTracker {
  private table: { qualified: string; keyColumns: readonly string[] } | undefined;
  /** Relation id -> positions of the table's key columns in the relation's columns (-1: missing). */
  private readonly keyPositions = new Map<number, number[] | undefined>();
  private readonly recent = new Map<number, RecentTransaction>();
  private tx: { xid: number; entry: RecentTransaction | undefined } | undefined;
  private pos = 0;
  private readonly windows = new Map<string, ChunkWindow>();

  /** Starts remembering changes to `qualified` (`schema.table`), whose primary key is `keyColumns`. */
  track(qualified: string, keyColumns: readonly string[]): void {
    if (this.table?.qualified === qualified && this.table.keyColumns.join() === keyColumns.join()) return;
    this.table = { qualified, keyColumns };
    this.keyPositions.clear();
    this.recent.clear();
  }

  untrack(): void {
    this.table = undefined;
    this.keyPositions.clear();
    this.recent.clear();
  }

  /** Registers a chunk's window; call before writing its LOW watermark. */
  open(token: string, emit: EmitRows, onAccepted: () => void): ChunkWindow {
    const w = new ChunkWindow(token, emit, onAccepted);
    this.windows.set(token, w);
    return w;
  }

  /** Forgets a window (its chunk failed before HIGH was written). */
  close(token: string): void {
    this.windows.delete(token);
  }

  /** The session ended: every window still open fails (its chunk is read again in the next session). */
  abort(err: Error): void {
    for (const w of this.windows.values()) w.reject(err);
    this.windows.clear();
  }

  /** Feeds one message; returns the read events to emit right after it (at a HIGH watermark). */
  observe(msg: PgOutputMessage, decoder: ChangeDecoder): Observed | undefined {
    switch (msg.tag) {
      case 'begin':
        this.tx = { xid: msg.xid, entry: undefined };
        return undefined;
      case 'commit':
        if (this.tx?.entry) {
          this.tx.entry.pos = ++this.pos;
          this.recent.set(this.tx.xid, this.tx.entry);
          if (this.recent.size > RECENT_TRANSACTIONS) {
            this.recent.delete(this.recent.keys().next().value as number);
          }
        }
        this.tx = undefined;
        return undefined;
      case 'relation':
        this.keyPositions.delete(msg.relationId);
        return undefined;
      case 'insert':
        if (this.isTable(msg.relationId, decoder)) this.changed(this.keyOf(msg.relationId, decoder, msg.new));
        return undefined;
      case 'update': {
        if (!this.isTable(msg.relationId, decoder)) return undefined;
        const now = this.keyOf(msg.relationId, decoder, msg.new, msg.old);
        this.changed(now);
        if (msg.old) {
          const before = this.keyOf(msg.relationId, decoder, msg.old);
          if (before !== now) this.changed(before);
        }
        return undefined;
      }
      case 'delete':
        if (this.isTable(msg.relationId, decoder)) this.changed(this.keyOf(msg.relationId, decoder, msg.old));
        return undefined;
      case 'truncate':
        if (msg.relationIds.some((id) => this.isTable(id, decoder))) {
          for (const w of this.windows.values()) if (w.state === 'open') w.truncated = true;
          this.remember(undefined);
        }
        return undefined;
      case 'message':
        if (msg.transactional || msg.prefix !== BACKFILL_PREFIX) return undefined;
        return this.watermark(msg.content, msg.lsn);
      default:
        return undefined;
    }
  }

  private isTable(relationId: number, decoder: ChangeDecoder): boolean {
    if (!this.table) return false;
    return decoder.relation(relationId)?.qualified === this.table.qualified;
  }

  private keyOf(
    relationId: number,
    decoder: ChangeDecoder,
    tuple: Tuple,
    fallback?: Tuple,
  ): string | undefined {
    let positions = this.keyPositions.get(relationId);
    if (!positions) {
      const rel = decoder.relation(relationId);
      const keys = this.table?.keyColumns ?? [];
      positions = keys.map((k) => rel?.columns.findIndex((c) => c.name === k) ?? -1);
      this.keyPositions.set(relationId, positions);
    }
    if (positions.some((p) => p < 0)) return undefined;
    return tupleKeyString(tuple, positions) ?? (fallback ? tupleKeyString(fallback, positions) : undefined);
  }

  /** A change to the table with key `key` (undefined: the stream did not name it). */
  private changed(key: string | undefined): void {
    for (const w of this.windows.values()) {
      if (w.state !== 'open') continue;
      if (key === undefined) w.unknown = true;
      else w.dropped.add(key);
    }
    this.remember(key);
  }

  private remember(key: string | undefined): void {
    const tx = this.tx;
    if (!tx) return;
    tx.entry ??= { pos: 0, keys: new Set() };
    const keys = tx.entry.keys;
    if (keys === null) return;
    if (key === undefined || keys.size >= RECENT_KEYS_PER_TRANSACTION) tx.entry.keys = null;
    else keys.add(key);
  }

  private watermark(content: Buffer, lsn: Lsn): Observed | undefined {
    const mark = parseWatermark(content);
    // Watermarks of chunks this session is not reading (an earlier session's, replayed after a restart; or
    // another instance's) are ignored.
    const w = mark && this.windows.get(mark.token);
    if (!mark || !w) return undefined;
    if (mark.mark === 'low') {
      if (w.state === 'waiting') {
        w.state = 'open';
        w.lowLsn = lsn;
        w.lowPos = this.pos;
      }
      return undefined;
    }
    this.windows.delete(w.token);
    const wasOpen = w.state === 'open';
    w.state = 'closed';
    const chunk = w.chunk;
    if (!chunk || !wasOpen || w.unknown) {
      w.resolve({ retry: true, rows: chunk?.rows.length ?? 0, emitted: 0, dropped: 0 });
      return undefined;
    }
    // `recent` is in commit order: the transactions committed in the stream before LOW come first.
    for (const [xid, t] of this.recent) {
      if (t.pos > w.lowPos) break;
      if (!chunk.xip.has(xid) && !xidAtLeast(xid, chunk.xmax)) continue;
      if (t.keys === null) {
        w.resolve({ retry: true, rows: chunk.rows.length, emitted: 0, dropped: 0 });
        return undefined;
      }
      for (const k of t.keys) w.dropped.add(k);
    }
    let kept: number[] | undefined;
    if (w.truncated) kept = [];
    else if (w.dropped.size > 0) {
      kept = [];
      for (let i = 0; i < chunk.rows.length; i++) {
        const k = chunk.rows.key(i);
        if (k === undefined || !w.dropped.has(k)) kept.push(i);
      }
    }
    const events = w.emit(kept, w.lowLsn);
    w.resolve({
      retry: false,
      rows: chunk.rows.length,
      emitted: events.length,
      dropped: chunk.rows.length - (kept ? kept.length : chunk.rows.length),
    });
    return { events, onAccepted: w.onAccepted };
  }
}
