/**
 * A logical replication client for the pgoutput plugin on plain `pg`: it opens a `replication=database`
 * connection, runs START_REPLICATION and handles the CopyBoth stream itself
 * (https://www.postgresql.org/docs/17/protocol-replication.html).
 *
 * Unlike a client that acknowledges on a timer, it reports to the server only the flush position the caller
 * gives it through {@link ReplicationClient.acknowledge}; keepalives are answered with that position.
 * Reading pauses and resumes on request, so a slow consumer bounds memory: the server's send buffer and the
 * socket fill up and Postgres waits.
 */
import { quoteIdent } from '@tributary/shared';
import pg from 'pg';
import type { Logger } from 'pino';
import { formatLsn, INVALID_LSN, type Lsn, maxLsn } from './lsn.js';
import { type PgConnection, pgConnectionOf } from './pg-connection.js';
import { parseCopyData, type ReplicationMessage, standbyStatusUpdate } from './protocol.js';

/** GUCs for the walsender: the value formats the decoder parses do not depend on the server's defaults. */
export const REPLICATION_SESSION_OPTIONS =
  '-c DateStyle=ISO,MDY -c TimeZone=UTC -c IntervalStyle=postgres -c bytea_output=hex -c extra_float_digits=3';

export interface ReplicationClientOptions {
  connectionString: string;
  slot: string;
  publication: string;
  /**
   * Position to start from. Default `0/0`: the server then starts at the slot's `confirmed_flush_lsn`,
   * i.e. just after the last transaction we acknowledged.
   */
  startLsn?: Lsn;
  /** A status update is sent at least this often, even with nothing new (default 10 s; the server's `wal_sender_timeout` is 60 s). */
  statusIntervalMs?: number;
  /** How long connecting may take before it fails (default 5 s; db-events passes CONNECT_TIMEOUT_MS). */
  connectTimeoutMs?: number;
  /** Acknowledgements are coalesced to at most one status update per this many ms (default 100). */
  ackCoalesceMs?: number;
  logger?: Logger;
  /** Called for every XLogData and keepalive, in stream order. */
  onMessage: (msg: ReplicationMessage) => void;
  /** Called once when the stream ends: `err` is undefined only after {@link ReplicationClient.stop}. */
  onClose?: (err?: Error) => void;
}

function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export class ReplicationClient {
  private client: pg.Client | undefined;
  private connection: PgConnection | undefined;
  private flushed: Lsn = INVALID_LSN;
  private received: Lsn = INVALID_LSN;
  private lastStatusAt = 0;
  private ackTimer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private paused = false;
  private stopping = false;
  private closed = false;
  private readonly logger: Logger | undefined;

  constructor(private readonly options: ReplicationClientOptions) {
    this.logger = options.logger;
  }

  /** Flush position last reported to the server. */
  get flushedLsn(): Lsn {
    return this.flushed;
  }

  /** Highest WAL position seen on the stream (XLogData or keepalive). */
  get receivedLsn(): Lsn {
    return this.received;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Connects and starts streaming; resolves once the server has entered CopyBoth mode. */
  async start(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      replication: 'database',
      options: REPLICATION_SESSION_OPTIONS,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5_000,
    } as pg.ClientConfig);
    this.client = client;
    // Checked before connecting: a pg that changed its private connection fails here, not mid-stream.
    const connection = pgConnectionOf(client);
    client.on('error', (err) => this.close(err));
    client.on('end', () => this.close(this.stopping ? undefined : new Error('replication connection ended')));
    await client.connect();
    this.connection = connection;
    connection.on('copyData', (msg) => {
      let parsed: ReplicationMessage;
      try {
        parsed = parseCopyData(msg.chunk);
      } catch (err) {
        this.close(err as Error);
        return;
      }
      if (parsed.kind === 'xlogdata') {
        if (parsed.walEnd > this.received) this.received = parsed.walEnd;
      } else if (parsed.walEnd > this.received) {
        this.received = parsed.walEnd;
      }
      try {
        this.options.onMessage(parsed);
      } catch (err) {
        this.close(err as Error);
        return;
      }
      if (parsed.kind === 'keepalive' && parsed.replyRequested) this.sendStatus();
    });

    const start = this.options.startLsn ?? INVALID_LSN;
    const sql =
      `START_REPLICATION SLOT ${quoteIdent(this.options.slot)} LOGICAL ${formatLsn(start)} ` +
      `(proto_version '1', publication_names ${quoteLiteral(quoteIdent(this.options.publication))}, messages 'true')`;
    const started = new Promise<void>((resolve) => connection.once('replicationStart', () => resolve()));
    const streaming = client.query(sql).then(
      () => this.close(this.stopping ? undefined : new Error('replication stream ended by the server')),
      (err: Error) => {
        this.close(err);
        throw err;
      },
    );
    await Promise.race([started, streaming]);
    this.logger?.info({ slot: this.options.slot, startLsn: formatLsn(start) }, 'replication started');
    streaming.catch(() => undefined);
    this.statusTimer = setInterval(() => this.sendStatus(), this.options.statusIntervalMs ?? 10_000);
    this.statusTimer.unref();
  }

  /** Stops reading from the socket: Postgres stops sending once the socket buffers fill. */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.connection?.stream.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.connection?.stream.resume();
  }

  /**
   * Reports `lsn` as flushed: everything before it has been processed and need not be sent again.
   * Never moves backwards. Coalesced: at most one status update per `ackCoalesceMs`.
   */
  acknowledge(lsn: Lsn): void {
    if (lsn <= this.flushed) return;
    this.flushed = lsn;
    const wait = (this.options.ackCoalesceMs ?? 100) - (Date.now() - this.lastStatusAt);
    if (wait <= 0) this.sendStatus();
    else this.ackTimer ??= setTimeout(() => this.sendStatus(), wait);
  }

  /** Sends a standby status update with the current positions. */
  sendStatus(): void {
    if (this.ackTimer) {
      clearTimeout(this.ackTimer);
      this.ackTimer = undefined;
    }
    if (!this.connection || this.closed) return;
    this.lastStatusAt = Date.now();
    const write = maxLsn(this.received, this.flushed);
    try {
      this.connection.sendCopyFromChunk(standbyStatusUpdate(write, this.flushed, this.flushed));
    } catch (err) {
      this.close(err as Error);
    }
  }

  /** Sends a final status update and closes the connection. */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.stopping = true;
    this.sendStatus();
    const client = this.client;
    this.close();
    await client?.end().catch(() => undefined);
  }

  private close(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    if (this.statusTimer) clearInterval(this.statusTimer);
    if (err) {
      this.logger?.warn({ err: err.message }, 'replication connection lost');
      this.connection?.stream.destroy();
    }
    this.options.onClose?.(err);
  }
}
