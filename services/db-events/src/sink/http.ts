/**
 * HTTP sink: POSTs batches to `K_SINK` (the broker ingress) in the CloudEvents HTTP binding's batched mode,
 * over keep-alive connections. Transport errors, 5xx, 404, 408, 409 and 429 are retried with backoff (the
 * broker's retry rules, DESIGN.md §4); any other 4xx means the ingress will never take the batch, so it is
 * split to find the refused events, which are reported and skipped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeHttpBatch } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import { chunkBySize, type RejectedHandler, type Sink } from './sink.js';

export interface HttpSinkOptions {
  url: string;
  /** Bytes per request; default 900 KiB, under the ingress' 1 MiB body limit. */
  maxRequestBytes?: number;
  timeoutMs?: number;
  /** Attempts for a retriable failure before `send` rejects (default 8, about 25 s of backoff). */
  attempts?: number;
  onRejected?: RejectedHandler;
  logger?: Logger;
}

const RETRIABLE = new Set([404, 408, 409, 429]);

class RetriableHttpError extends Error {}

export class HttpSink implements Sink {
  readonly kind = 'http';
  private readonly agent: Agent;

  constructor(private readonly options: HttpSinkOptions) {
    this.agent = new Agent({ keepAliveTimeout: 30_000, connections: 4, pipelining: 1 });
  }

  async send(events: readonly CloudEvent<unknown>[]): Promise<void> {
    const encoded = events.map((e) => ({ event: e, bytes: JSON.stringify(e).length + 1 }));
    for (const chunk of chunkBySize(encoded, (x) => x.bytes, this.options.maxRequestBytes ?? 900 * 1024)) {
      await this.deliver(chunk.map((x) => x.event));
    }
  }

  /** Sends one batch with retries; on a permanent refusal, bisects it so only refused events are skipped. */
  private async deliver(events: CloudEvent<unknown>[]): Promise<void> {
    const status = await this.post(events);
    if (status === 'ok') return;
    if (events.length === 1) {
      this.options.onRejected?.(events[0] as CloudEvent<unknown>, status);
      return;
    }
    const mid = Math.ceil(events.length / 2);
    await this.deliver(events.slice(0, mid));
    await this.deliver(events.slice(mid));
  }

  private async post(events: CloudEvent<unknown>[]): Promise<'ok' | string> {
    const { headers, body } = encodeHttpBatch(events);
    const attempts = this.options.attempts ?? 8;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const res = await request(this.options.url, {
          method: 'POST',
          headers,
          body,
          dispatcher: this.agent,
          headersTimeout: this.options.timeoutMs ?? 30_000,
          bodyTimeout: this.options.timeoutMs ?? 30_000,
        });
        const text = await res.body.text();
        if (res.statusCode >= 200 && res.statusCode < 300) return 'ok';
        if (res.statusCode >= 500 || RETRIABLE.has(res.statusCode)) {
          throw new RetriableHttpError(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
        }
        return `HTTP ${res.statusCode}: ${text.slice(0, 500)}`;
      } catch (err) {
        lastError = err;
        if (attempt === attempts) break;
        const delay = Math.min(100 * 2 ** (attempt - 1), 5_000);
        this.options.logger?.warn(
          { err: (err as Error).message, attempt, delay },
          'sink request failed, retrying',
        );
        await sleep(delay);
      }
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
