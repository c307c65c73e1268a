import net from 'node:net';
import type { Logger } from '@tributary/shared';

/**
 * How often, while Kafka is unreachable, the bootstrap servers are probed with a TCP connect. A probe that
 * connects ends the fast-fail at once, so appends go back to Kafka within this time of it listening again.
 */
export const DEFAULT_PROBE_INTERVAL_MS = 250;
/** A probe connect that takes longer than this counts as failed. */
const PROBE_TIMEOUT_MS = 1000;
/** Socket errors that mean "nothing is listening there" or "the broker went away". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
]);

/**
 * What the Kafka client's own connections say about the brokers: every broker connection goes through the
 * log's socket factory, which reports here. Kafka counts as down when the latest connection attempt to
 * every broker address seen failed with an "unreachable" error (refused, reset...): then appends answer 503
 * at once instead of each waiting out the append timeout while kafkajs retries. While down, the bootstrap
 * servers are probed; the first that accepts a TCP connection ends it.
 */
export class KafkaReachability {
  private readonly failing = new Map<string, boolean>();
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private closed = false;
  private downSince: number | undefined;

  constructor(
    private readonly bootstrap: string[],
    private readonly logger: Logger,
    private readonly probeIntervalMs = DEFAULT_PROBE_INTERVAL_MS,
  ) {}

  /** True while every known broker address is unreachable. */
  get down(): boolean {
    return this.downSince !== undefined;
  }

  /** A connection to `address` (`host:port`) was established. */
  connected(address: string): void {
    this.failing.set(address, false);
    this.update();
  }

  /** A connection to `address` failed; only "unreachable" errors count. */
  failed(address: string, err: unknown): void {
    const code = (err as { code?: unknown } | undefined)?.code;
    if (typeof code !== 'string' || !UNREACHABLE_CODES.has(code)) return;
    this.failing.set(address, true);
    this.update();
  }

  close(): void {
    this.closed = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  private update(): void {
    const down = this.failing.size > 0 && [...this.failing.values()].every(Boolean);
    if (down && this.downSince === undefined && !this.closed) {
      this.downSince = Date.now();
      this.logger.warn(
        { brokers: [...this.failing.keys()] },
        'Kafka is unreachable: appends answer 503 at once until it is back',
      );
      this.probeTimer = setInterval(() => void this.probe(), this.probeIntervalMs);
      this.probeTimer.unref();
    } else if (!down && this.downSince !== undefined) {
      this.logger.info({ downMs: Date.now() - this.downSince }, 'Kafka is reachable again');
      this.downSince = undefined;
      if (this.probeTimer) clearInterval(this.probeTimer);
      this.probeTimer = undefined;
    }
  }

  private async probe(): Promise<void> {
    if (this.probing || this.closed) return;
    this.probing = true;
    try {
      const results = await Promise.all(this.bootstrap.map((a) => canConnect(a)));
      const i = results.indexOf(true);
      if (i >= 0 && !this.closed) this.connected(this.bootstrap[i] as string);
    } finally {
      this.probing = false;
    }
  }
}

function canConnect(address: string): Promise<boolean> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at);
  const port = Number(address.slice(at + 1));
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
