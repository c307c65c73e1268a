/**
 * The db-events engine: replication stream -> decoder -> sink, with bounded in-flight work and
 * acknowledgement that never runs ahead of the sink.
 *
 * Every event gets a sequence number. Batches go to the sink in order, up to `batchesInFlight` of them before the
 * first is accepted (a sink that keeps call order, {@link Sink.ordered}; otherwise one at a time). Completions are
 * applied strictly in order: the accepted sequence only advances over a contiguous prefix of accepted batches,
 * so "accepted up to N" means "every event up to sequence number N is accepted". Each Commit (and each keepalive or
 * heartbeat seen outside a transaction) leaves a marker `{seq, lsn}`: the flush LSN reported to Postgres moves
 * to a marker's LSN only once every event up to its `seq` is accepted. A crash therefore replays at most the
 * unacknowledged window, with the same ids (`<commit LSN>-<index>`) as before.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { BackfillRunner } from './backfill/runner.js';
import { BACKFILL_PREFIX, type BackfillTracker } from './backfill/window.js';
import { ChangeDecoder, type DecodedEvent, HEARTBEAT_PREFIX } from './decoding/changes.js';
import { decodePgOutput, type PgOutputMessage } from './decoding/pgoutput.js';
import { pgTimestampToMillis } from './decoding/time.js';
import type { Metrics } from './metrics.js';
import { WAL_STATUSES } from './metrics.js';
import { ReplicationClient } from './replication/client.js';
import { formatLsn, INVALID_LSN, type Lsn, maxLsn } from './replication/lsn.js';
import type { ReplicationMessage } from './replication/protocol.js';
import { ensurePublication, ensureSlot, primaryKeyColumns } from './replication/setup.js';
import type { Sink } from './sink/sink.js';

/**
 * How long connecting to Postgres may take (the pool's connections and the replication connection) before
 * the attempt fails and is retried. Without it a connect to a host that does not answer waits for the OS's
 * TCP timeout (minutes), and so does shutdown.
 */
export const CONNECT_TIMEOUT_MS = 5_000;
/**
 * Reconnect backoff: 250 ms doubling to 2 s, so streaming resumes within 2 s of Postgres being back (a
 * refused connection costs nothing to retry).
 */
export const RECONNECT_INITIAL_MS = 250;
export const RECONNECT_MAX_MS = 2_000;
/**
 * Two batches at the sink: while the broker stores one, the next is already encoded (and the stream decoded),
 * so the main thread does not sit idle waiting for each acknowledgement. More than two buys nothing with a
 * sink that produces one request at a time (the Kafka sink: its idempotent producer keeps one in flight).
 */
export const BATCHES_IN_FLIGHT = 2;

export interface DbEventsOptions {
  connectionString: string;
  slot: string;
  publication: string;
  /** `schema.table` names to publish; empty = all tables. */
  tables: string[];
  sink: Sink;
  /** Ordinary connections for set-up, primary-key look-ups, heartbeats and slot polling. */
  pool: pg.Pool;
  logger: Logger;
  metrics: Metrics;
  /** Decoded but not yet accepted events above which reading pauses (default 10,000). */
  maxInFlight?: number;
  /** Events per sink batch (default 1,000). */
  batchSize?: number;
  /**
   * Sink batches sent before the first of them is accepted (default {@link BATCHES_IN_FLIGHT}); used only with a
   * sink that keeps call order ({@link Sink.ordered}), else 1.
   */
  batchesInFlight?: number;
  /** Heartbeat message and slot-poll interval (default 10 s; 0 disables heartbeats). */
  heartbeatMs?: number;
  /** Reconnect backoff (default {@link RECONNECT_INITIAL_MS} doubling to {@link RECONNECT_MAX_MS}). */
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  /** Table backfills (src/backfill/): their chunks are emitted at watermarks in this stream. */
  backfill?: BackfillRunner;
}

/** A batch handed to the sink and not yet applied. */
interface Pending {
  /** Sequence number of its last event. */
  last: number;
  done: boolean;
  settled: Promise<void>;
}

interface Marker {
  seq: number;
  lsn: Lsn;
  /** Commit time (Unix ms) for commits; undefined for keepalive/heartbeat positions. */
  commitMs: number | undefined;
}

/** One replication connection's worth of state; a new session starts after any failure. */
class Session {
  readonly decoder: ChangeDecoder;
  readonly client: ReplicationClient;
  private seq = 0;
  private acked = 0;
  private sent = 0;
  private buffer: DecodedEvent[] = [];
  /** Batches at the sink, in send order; the head is the oldest not yet applied. */
  private pending: Pending[] = [];
  private sendScheduled = false;
  private markers: Marker[] = [];
  private head = 0;
  /** Messages held while an async step (a primary-key look-up) runs; reading is paused meanwhile. */
  private queue: ReplicationMessage[] | undefined;
  private endedWith: { err?: Error } | undefined;
  private resolveEnded!: (err?: Error) => void;
  readonly ended: Promise<Error | undefined>;
  private readonly maxInFlight: number;
  private readonly batchSize: number;
  private readonly batchesInFlight: number;
  /** Highest LSN acknowledged to Postgres in this session. */
  ackedLsn: Lsn;
  /** Sees every message after the decoder; emits backfill chunks at their HIGH watermarks. */
  tracker: BackfillTracker | undefined;
  /** Callbacks run once every event up to `seq` is accepted (backfill progress), in order. */
  private accepted: { seq: number; fn: () => void }[] = [];

  constructor(
    private readonly opts: DbEventsOptions,
    database: string,
    startLsn: Lsn,
    private readonly log: Logger,
  ) {
    this.maxInFlight = opts.maxInFlight ?? 10_000;
    this.batchSize = opts.batchSize ?? 1_000;
    this.batchesInFlight = opts.sink.ordered ? Math.max(1, opts.batchesInFlight ?? BATCHES_IN_FLIGHT) : 1;
    this.ackedLsn = startLsn;
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
    this.decoder = new ChangeDecoder({
      database,
      onInvalidMessage: (info) => {
        opts.metrics.messages.inc({ outcome: 'invalid' });
        this.log.warn({ lsn: formatLsn(info.lsn), error: info.error }, 'invalid outbox message');
      },
    });
    this.client = new ReplicationClient({
      connectionString: opts.connectionString,
      slot: opts.slot,
      publication: opts.publication,
      startLsn,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: log,
      onMessage: (msg) => this.onMessage(msg),
      onClose: (err) => this.end(err ?? new Error('replication stream closed')),
    });
  }

  get inFlight(): number {
    return this.seq - this.acked;
  }

  async start(): Promise<void> {
    await this.client.start();
    this.opts.metrics.paused.set(0);
  }

  /** Ends the session (idempotent). `err` undefined = clean stop. */
  end(err?: Error): void {
    if (this.endedWith) return;
    this.endedWith = err ? { err } : {};
    this.buffer = [];
    void this.client.stop();
    this.resolveEnded(err);
  }

  /** Waits for the batches at the sink (if any) to settle, so no two sessions ever send at once. */
  async settled(): Promise<void> {
    await Promise.all(this.pending.map((p) => p.settled));
  }

  /** Stops reading, waits (up to `timeoutMs`) until everything read is accepted, then ends cleanly. */
  async drainAndStop(timeoutMs: number): Promise<void> {
    this.client.pause();
    const deadline = Date.now() + timeoutMs;
    while (!this.endedWith && this.inFlight > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    this.client.sendStatus();
    this.end();
  }

  private onMessage(msg: ReplicationMessage): void {
    if (this.endedWith) return;
    if (this.queue) {
      this.queue.push(msg);
      return;
    }
    this.handle(msg);
  }

  private handle(msg: ReplicationMessage): void {
    if (msg.kind === 'keepalive') {
      // Outside a transaction everything up to the server's position has been sent to us: once all of it is
      // accepted the slot may move there, so idle or filtered-out WAL is not pinned.
      if (!this.decoder.inTransaction) this.mark(msg.walEnd, undefined);
      return;
    }
    const pgmsg: PgOutputMessage = decodePgOutput(msg.data);
    const events = this.decoder.decode(pgmsg);
    for (const e of events) this.buffer.push(e);
    this.seq += events.length;
    const observed = this.tracker?.observe(pgmsg, this.decoder);
    if (observed) {
      for (const e of observed.events) this.buffer.push(e);
      this.seq += observed.events.length;
      this.whenAccepted(this.seq, observed.onAccepted);
    }
    switch (pgmsg.tag) {
      case 'commit':
        this.mark(pgmsg.endLsn, pgTimestampToMillis(pgmsg.commitTime));
        break;
      case 'message':
        if (
          !pgmsg.transactional &&
          (pgmsg.prefix === HEARTBEAT_PREFIX || pgmsg.prefix === BACKFILL_PREFIX) &&
          !this.decoder.inTransaction
        ) {
          this.mark(pgmsg.lsn, undefined);
        }
        break;
      case 'relation':
        if (pgmsg.replicaIdentity === 'f' || pgmsg.replicaIdentity === 'n') this.lookupKey(pgmsg.relationId);
        break;
    }
    if (events.length > 0 || (observed && observed.events.length > 0)) {
      if (this.inFlight >= this.maxInFlight) this.pause();
      this.scheduleSend();
    }
  }

  /** REPLICA IDENTITY FULL/NOTHING: the Relation message does not say which columns are the primary key. */
  private lookupKey(relationId: number): void {
    const rel = this.decoder.relation(relationId);
    if (!rel) return;
    this.queue = [];
    this.pause();
    primaryKeyColumns(this.opts.pool, rel.schema, rel.table).then(
      (cols) => {
        this.decoder.setPrimaryKey(relationId, cols);
        const pending = this.queue ?? [];
        this.queue = undefined;
        for (let i = 0; i < pending.length; i++) {
          if (this.endedWith) return;
          try {
            this.handle(pending[i] as ReplicationMessage);
          } catch (err) {
            this.end(err as Error);
            return;
          }
          const held = this.queue as ReplicationMessage[] | undefined;
          if (held) {
            // Another look-up started: keep the rest behind it.
            held.unshift(...pending.slice(i + 1));
            return;
          }
        }
        this.maybeResume();
      },
      (err: Error) => this.end(err),
    );
  }

  private mark(lsn: Lsn, commitMs: number | undefined): void {
    if (this.acked === this.seq) {
      this.acknowledge(lsn, commitMs);
      return;
    }
    const last = this.markers[this.markers.length - 1];
    if (last && this.markers.length > this.head && last.seq === this.seq) {
      last.lsn = maxLsn(last.lsn, lsn);
      if (commitMs !== undefined) last.commitMs = commitMs;
    } else {
      this.markers.push({ seq: this.seq, lsn, commitMs });
    }
  }

  private acknowledge(lsn: Lsn, commitMs: number | undefined): void {
    if (lsn <= this.ackedLsn) return;
    this.ackedLsn = lsn;
    this.client.acknowledge(lsn);
    if (commitMs !== undefined) {
      const lag = Math.max(0, Date.now() - commitMs) / 1000;
      this.opts.metrics.commitToAck.observe(lag);
      this.opts.metrics.lagSeconds.set(lag);
    } else if (this.acked === this.seq) {
      this.opts.metrics.lagSeconds.set(0);
    }
  }

  private pause(): void {
    if (this.client.isPaused) return;
    this.client.pause();
    this.opts.metrics.paused.set(1);
  }

  private maybeResume(): void {
    if (!this.client.isPaused || this.queue || this.endedWith) return;
    if (this.inFlight > this.maxInFlight / 2) return;
    this.client.resume();
    this.opts.metrics.paused.set(0);
  }

  /**
   * A batch goes out when the sink is idle (whatever the buffer holds: low latency at low rates), or when a
   * full batch is ready and fewer than `batchesInFlight` are at the sink (full batches under load).
   */
  private canSend(): boolean {
    const n = this.pending.length;
    return n === 0
      ? this.buffer.length > 0
      : n < this.batchesInFlight && this.buffer.length >= this.batchSize;
  }

  private scheduleSend(): void {
    if (this.sendScheduled || !this.canSend()) return;
    this.sendScheduled = true;
    // Let the rest of the socket chunk decode first, so batches fill up under load.
    setImmediate(() => {
      this.sendScheduled = false;
      while (!this.endedWith && this.canSend()) this.sendNext();
    });
  }

  private sendNext(): void {
    let batch: DecodedEvent[];
    if (this.buffer.length <= this.batchSize) {
      batch = this.buffer;
      this.buffer = [];
    } else {
      batch = this.buffer.slice(0, this.batchSize);
      this.buffer = this.buffer.slice(this.batchSize);
    }
    const last = this.sent + batch.length;
    this.sent = last;
    const events: CloudEvent<unknown>[] = batch.map((d) => d.event);
    const started = process.hrtime.bigint();
    this.opts.metrics.inFlight.set(this.inFlight);
    const entry: Pending = { last, done: false, settled: Promise.resolve() };
    this.pending.push(entry);
    entry.settled = this.opts.sink.send(events).then(
      () => {
        this.opts.metrics.sinkLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
        this.opts.metrics.published.inc(events.length);
        this.count(batch);
        entry.done = true;
        if (this.endedWith) return;
        this.applyCompleted();
      },
      (err: Error) => {
        if (!this.endedWith) {
          this.log.error({ err: err.message }, 'sink failed; restarting from the last acknowledged commit');
        }
        this.end(err);
      },
    );
  }

  /** Applies accepted batches in send order: `acked` advances only over a contiguous prefix of them. */
  private applyCompleted(): void {
    let advanced = false;
    while (this.pending.length > 0 && (this.pending[0] as Pending).done) {
      this.acked = (this.pending.shift() as Pending).last;
      advanced = true;
    }
    if (!advanced) return;
    this.release();
    this.opts.metrics.inFlight.set(this.inFlight);
    this.maybeResume();
    this.scheduleSend();
  }

  private whenAccepted(seq: number, fn: () => void): void {
    if (seq <= this.acked) fn();
    else this.accepted.push({ seq, fn });
  }

  /** Acknowledges the last marker whose events are all accepted. */
  private release(): void {
    while (this.accepted.length > 0 && (this.accepted[0] as { seq: number }).seq <= this.acked) {
      (this.accepted.shift() as { fn: () => void }).fn();
    }
    let lsn: Lsn | undefined;
    let commitMs: number | undefined;
    const commits: number[] = [];
    while (this.head < this.markers.length) {
      const m = this.markers[this.head] as Marker;
      if (m.seq > this.acked) break;
      lsn = m.lsn;
      commitMs = m.commitMs;
      if (m.commitMs !== undefined) commits.push(m.commitMs);
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > this.markers.length) {
      this.markers = this.markers.slice(this.head);
      this.head = 0;
    }
    if (lsn === undefined) return;
    const now = Date.now();
    // Every commit released here took until now; the last one also sets the lag gauge.
    for (let i = 0; i < commits.length - 1; i++) {
      this.opts.metrics.commitToAck.observe(Math.max(0, now - (commits[i] as number)) / 1000);
    }
    this.acknowledge(lsn, commitMs);
  }

  private count(batch: DecodedEvent[]): void {
    // Per table, then per operation: no key string built per event (that was ~1 % of db-events' CPU).
    const counts = new Map<string, Map<string, number>>();
    for (const d of batch) {
      if (d.op === 'MESSAGE' || d.op === 'INVALID_MESSAGE') {
        if (d.op === 'MESSAGE') this.opts.metrics.messages.inc({ outcome: 'valid' });
        continue;
      }
      const table = d.table as string;
      const op = d.op as string;
      let byOp = counts.get(table);
      if (byOp === undefined) {
        byOp = new Map();
        counts.set(table, byOp);
      }
      byOp.set(op, (byOp.get(op) ?? 0) + 1);
    }
    for (const [table, byOp] of counts) {
      for (const [op, n] of byOp) this.opts.metrics.changes.inc({ table, op }, n);
    }
  }
}

/**
 * Runs replication sessions until stopped: sets up the publication and slot, streams, and reconnects with
 * backoff after any failure (connection loss, sink failure), resuming from the last acknowledged commit.
 * A permanent failure (a `TributaryError` whose catalogue code is not retriable, e.g.
 * `REPLICATION_SLOT_MISMATCH`) ends the loop instead: {@link failed} resolves with it, and the process exits.
 */
export class DbEvents {
  private session: Session | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private lastAckedLsn: Lsn = INVALID_LSN;
  private database: string | undefined;
  private readonly log: Logger;
  private connectedWaiters: (() => void)[] = [];
  /** Aborted by stop(): ends a reconnect wait at once. */
  private readonly stopping = new AbortController();
  private resolveFailed!: (err: TributaryError) => void;
  /** Resolves with the permanent error that ended the run loop; never resolves while retrying can help. */
  readonly failed: Promise<TributaryError> = new Promise((resolve) => {
    this.resolveFailed = resolve;
  });

  constructor(private readonly opts: DbEventsOptions) {
    this.log = opts.logger.child({ component: 'replication' });
  }

  /** True while a replication stream is connected (served as /readyz). */
  get connected(): boolean {
    return this.session !== undefined;
  }

  /** Events read but not yet accepted by the sink. */
  get inFlight(): number {
    return this.session?.inFlight ?? 0;
  }

  /** The flush LSN last reported to Postgres. */
  get acknowledgedLsn(): Lsn {
    return this.session ? maxLsn(this.session.ackedLsn, this.lastAckedLsn) : this.lastAckedLsn;
  }

  /** Starts the run loop in the background; see {@link waitUntilConnected}. */
  start(): void {
    this.running ??= this.run();
    const heartbeatMs = this.opts.heartbeatMs ?? 10_000;
    if (heartbeatMs > 0) {
      const t = setInterval(() => void this.heartbeat(), heartbeatMs);
      t.unref();
      this.timers.push(t);
    }
    const poll = setInterval(() => void this.pollSlot(), Math.max(1_000, heartbeatMs || 10_000));
    poll.unref();
    this.timers.push(poll);
  }

  /** Resolves once a replication stream is up; rejects with the permanent error if the loop gives up. */
  waitUntilConnected(): Promise<void> {
    if (this.session) return Promise.resolve();
    return Promise.race([
      new Promise<void>((resolve) => this.connectedWaiters.push(resolve)),
      this.failed.then((err) => Promise.reject(err)),
    ]);
  }

  /** Stops reading, lets in-flight events reach the sink (up to `drainMs`), acknowledges them and disconnects. */
  async stop(drainMs = 10_000): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    for (const t of this.timers) clearInterval(t);
    await this.session?.drainAndStop(drainMs);
    await this.running;
  }

  private async run(): Promise<void> {
    const initial = this.opts.reconnectInitialMs ?? RECONNECT_INITIAL_MS;
    const max = this.opts.reconnectMaxMs ?? RECONNECT_MAX_MS;
    let delay = initial;
    while (!this.stopped) {
      const startedAt = Date.now();
      let err: Error | undefined;
      try {
        err = await this.runSession();
      } catch (e) {
        err = e as Error;
      }
      if (this.stopped) break;
      if (err instanceof TributaryError && !err.retriable) {
        // Retrying cannot help (docs/ERRORS.md): give up loudly rather than reconnect for ever.
        this.log.fatal({ err: err.message, code: err.code }, 'replication cannot continue');
        this.stopped = true;
        for (const t of this.timers) clearInterval(t);
        this.resolveFailed(err);
        break;
      }
      this.opts.metrics.reconnects.inc();
      if (Date.now() - startedAt > 30_000) delay = initial;
      this.log.warn({ err: err?.message, retryInMs: delay }, 'replication session ended; reconnecting');
      await sleep(delay, undefined, { signal: this.stopping.signal }).catch(() => {}); // stop() ends it
      delay = Math.min(max, delay * 2);
    }
  }

  private async runSession(): Promise<Error | undefined> {
    const setup = {
      slot: this.opts.slot,
      publication: this.opts.publication,
      tables: this.opts.tables,
      logger: this.log,
    };
    await ensurePublication(this.opts.pool, setup);
    const slot = await ensureSlot(this.opts.pool, setup);
    this.database = slot.database;
    const startLsn = maxLsn(slot.confirmedFlushLsn ?? INVALID_LSN, this.lastAckedLsn);
    const session = new Session(this.opts, slot.database, startLsn, this.log);
    try {
      await session.start();
    } catch (err) {
      session.end(err as Error);
      throw err;
    }
    if (this.stopped) {
      session.end();
      return undefined;
    }
    this.session = session;
    session.tracker = this.opts.backfill?.attach({
      database: slot.database,
      inFlight: () => session.inFlight,
    });
    this.opts.metrics.connected.set(1);
    this.log.info({ slot: this.opts.slot, resumeFrom: formatLsn(startLsn) }, 'streaming changes');
    for (const w of this.connectedWaiters.splice(0)) w();
    // One heartbeat on connect lets a quiet slot advance at once; DB_EVENTS_HEARTBEAT_MS=0 writes none at all.
    if ((this.opts.heartbeatMs ?? 10_000) > 0) void this.heartbeat();
    const err = await session.ended;
    this.opts.backfill?.detach();
    // A batch still at the sink must settle before the next session sends anything (order, no overlap).
    if (!this.stopped) await session.settled();
    this.lastAckedLsn = maxLsn(this.lastAckedLsn, session.ackedLsn);
    this.session = undefined;
    this.opts.metrics.connected.set(0);
    this.opts.metrics.inFlight.set(0);
    return err;
  }

  /** A non-transactional message: lets the slot advance while the published tables are quiet. */
  private async heartbeat(): Promise<void> {
    if (!this.session || this.stopped) return;
    try {
      await this.opts.pool.query('SELECT pg_logical_emit_message(false, $1, now()::text)', [
        HEARTBEAT_PREFIX,
      ]);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'heartbeat failed');
    }
  }

  private async pollSlot(): Promise<void> {
    try {
      const { rows } = await this.opts.pool.query<{
        wal_status: string | null;
        safe_wal_size: string | null;
        lag: string | null;
      }>(
        `SELECT wal_status, safe_wal_size::text,
                pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint::text AS lag
           FROM pg_replication_slots WHERE slot_name = $1`,
        [this.opts.slot],
      );
      const row = rows[0];
      if (!row) return;
      for (const s of WAL_STATUSES)
        this.opts.metrics.slotWalStatus.set({ status: s }, row.wal_status === s ? 1 : 0);
      this.opts.metrics.slotSafeWalSize.set(row.safe_wal_size === null ? -1 : Number(row.safe_wal_size));
      if (row.lag !== null) this.opts.metrics.lagBytes.set(Math.max(0, Number(row.lag)));
      if (row.wal_status === 'lost')
        this.log.error({ slot: this.opts.slot }, 'replication slot lost: WAL was removed');
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'slot poll failed');
    }
  }
}
