// Test support (not part of the build): a broker stand-in that records CloudEvents as the ingress would
// (decodes binary/structured/batch, answers 202), and can be switched to answer 503 or stop listening.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeHttp } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';

export type BrokerMode = 'accept' | 'unavailable';

export interface RecordingBroker {
  /** The ingress URL to use as K_SINK. */
  url: string;
  port: number;
  readonly events: CloudEvent<unknown>[];
  /** Requests answered 503. */
  readonly refused: number;
  setMode(mode: BrokerMode): void;
  /** Stops listening (connections are refused); `start()` listens again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startRecordingBroker(path = '/default/default', port = 0): Promise<RecordingBroker> {
  const events: CloudEvent<unknown>[] = [];
  let mode: BrokerMode = 'accept';
  let refused = 0;
  let server: Server | undefined;
  const listen = async (p: number): Promise<number> => {
    const s = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== path) {
          res.writeHead(404).end();
          return;
        }
        if (mode === 'unavailable') {
          refused++;
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"unavailable"}');
          return;
        }
        try {
          events.push(...decodeHttp(req.headers, Buffer.concat(chunks)));
          res.writeHead(202).end();
        } catch (err) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err));
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(p, '127.0.0.1', () => resolve());
    });
    server = s;
    return (s.address() as AddressInfo).port;
  };
  const actualPort = await listen(port);
  return {
    url: `http://127.0.0.1:${actualPort}${path}`,
    port: actualPort,
    events,
    get refused() {
      return refused;
    },
    setMode(m) {
      mode = m;
    },
    async stop() {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async start() {
      if (!server) await listen(actualPort);
    },
  };
}
