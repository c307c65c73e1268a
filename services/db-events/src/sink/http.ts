/**
 * HTTP sink: POSTs batches to `K_SINK` (the broker ingress) in the CloudEvents HTTP binding's batched mode,
 * through the shared publisher (keep-alive connections, retries with backoff on transport errors, 5xx, 404,
 * 408, 409 and 429). A non-retryable refusal (400, 413, ...) means the ingress will never take that batch, so
 * it is bisected to find the refused events, which are reported and skipped; the rest are delivered.
 */
import { createPublisher, type Publisher, PublishRejectedError, toJsonFormat } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import type { Logger } from 'pino';
import { chunkBySize, type RejectedHandler, type Sink } from './sink.js';

export interface HttpSinkOptions {
  url: string;
  /** Bytes per request; default 900 KiB, under the ingress' 1 MiB body limit. */
  maxRequestBytes?: number;
  /** Per-attempt timeout (default 30 s). */
  timeoutMs?: number;
  /** Retries of a retryable failure before `send` rejects and replication restarts (default 8, ~25 s of backoff). */
  retries?: number;
  onRejected?: RejectedHandler;
  logger?: Logger;
}

export class HttpSink implements Sink {
  readonly kind = 'http';
  private readonly publisher: Publisher;

  constructor(private readonly options: HttpSinkOptions) {
    this.publisher = createPublisher({
      url: options.url,
      mode: 'batch',
      maxBatchSize: 100_000,
      timeoutMs: options.timeoutMs ?? 30_000,
      retries: options.retries ?? 8,
      maxBackoffMs: 5_000,
      connections: 2,
      // Events are built by the decoder (outbox events are validated when parsed).
      validate: false,
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  async send(events: readonly CloudEvent<unknown>[]): Promise<void> {
    // Sized by their JSON form as the batch writes it: raw `data` bytes as they are, never a parse of them.
    const sized = events.map((e) => ({ event: e, bytes: toJsonFormat(e).length + 1 }));
    for (const chunk of chunkBySize(sized, (x) => x.bytes, this.options.maxRequestBytes ?? 900 * 1024)) {
      await this.deliver(chunk.map((x) => x.event));
    }
  }

  private async deliver(events: CloudEvent<unknown>[]): Promise<void> {
    try {
      await this.publisher.publish(events);
    } catch (err) {
      if (!(err instanceof PublishRejectedError)) throw err;
      if (events.length === 1) {
        this.options.onRejected?.(events[0] as CloudEvent<unknown>, err.message);
        return;
      }
      const mid = Math.ceil(events.length / 2);
      await this.deliver(events.slice(0, mid));
      await this.deliver(events.slice(mid));
    }
  }

  async close(): Promise<void> {
    await this.publisher.close();
  }
}
