import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * The chaos suite's subscribers: one HTTP server, one path per Trigger (`/<trigger>`). It records every
 * delivery it accepts (the event's `source`, `id`, `partitionkey`, `subject` and its data's `seq`) and can be
 * told, per Trigger, to fail (500) or to hang (never answer) for a while.
 */
export interface Delivery {
  trigger: string;
  id: string;
  source: string;
  key: string | undefined;
  subject: string | undefined;
  seq: number | undefined;
  /** Date.now() when it arrived. */
  at: number;
}

export type Behaviour = 'ok' | 'fail' | 'hang';

export class Collector {
  readonly deliveries: Delivery[] = [];
  private readonly behaviour = new Map<string, Behaviour>();
  private readonly hanging = new Set<ServerResponse>();
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  set(trigger: string, b: Behaviour): void {
    this.behaviour.set(trigger, b);
    if (b !== 'hang') {
      for (const res of this.hanging) res.destroy();
      this.hanging.clear();
    }
  }

  /** The first delivery to `trigger` at or after `since` (Date.now()). */
  firstSince(trigger: string, since: number): Delivery | undefined {
    let first: Delivery | undefined;
    for (let i = this.deliveries.length - 1; i >= 0; i--) {
      const d = this.deliveries[i] as Delivery;
      if (d.at < since) break;
      if (d.trigger === trigger) first = d;
    }
    return first;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const trigger = (req.url ?? '/').slice(1).split('?')[0] ?? '';
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const b = this.behaviour.get(trigger) ?? 'ok';
      if (b === 'fail') {
        res.writeHead(500).end('failing on purpose');
        return;
      }
      if (b === 'hang') {
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
        return;
      }
      const h = (name: string) => {
        const v = req.headers[name];
        return typeof v === 'string' ? decodeURIComponent(v) : undefined;
      };
      let seq: number | undefined;
      try {
        const data = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { seq?: unknown } | null;
        if (data && typeof data.seq === 'number') seq = data.seq;
      } catch {
        // not JSON (db events carry their row as data; the seq comes from the row)
      }
      this.deliveries.push({
        trigger,
        id: h('ce-id') ?? '',
        source: h('ce-source') ?? '',
        key: h('ce-partitionkey'),
        subject: h('ce-subject'),
        seq,
        at: Date.now(),
      });
      res.writeHead(204).end();
    });
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
