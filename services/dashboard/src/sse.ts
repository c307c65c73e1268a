import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

export interface SseClient {
  raw: ServerResponse;
  close(): void;
}

/** Opens a Server-Sent Events stream on `reply` (Fastify hands the raw response over). */
export function openSse(reply: FastifyReply, clients: Set<SseClient>): SseClient {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  raw.write('retry: 2000\n\n');
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
  const client: SseClient = {
    raw,
    close() {
      clearInterval(heartbeat);
      clients.delete(client);
      if (!raw.writableEnded) raw.end();
    },
  };
  raw.on('close', () => client.close());
  clients.add(client);
  return client;
}

export function send(client: SseClient, event: string, data: unknown): boolean {
  return client.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
