import { encodeHeaderValue, type Logger, TributaryError } from '@tributary/shared';
import { request } from 'undici';
import type { BrokerRef } from '../log/types.js';
import type { RedriveResult } from '../wire.js';

/** Extensions the dispatcher adds to a dead letter; a redrive strips them (the event goes back as it was). */
export const ERROR_EXTENSIONS = ['knativeerrordest', 'knativeerrorcode', 'knativeerrordata'] as const;

/** What a redrive sends: a stored dead letter's broker, context attributes and data. */
export interface RedriveRow {
  id: string;
  namespace: string;
  broker: string;
  attributes?: Record<string, string>;
  data?: Buffer | null;
}

export interface RedriveSenderOptions {
  /**
   * Where redriven events go: the broker ingress base URL (`http://127.0.0.1:8080`, events are POSTed to
   * `<base>/<namespace>/<broker>`), or a function giving the full URL per broker.
   */
  ingress?: string | ((broker: BrokerRef) => string) | undefined;
  /** Bearer token for the ingress when its JWT auth is on. */
  token?: string | undefined;
  /** Per-request timeout of a redrive POST (default 10 s). */
  redriveTimeoutMs?: number | undefined;
}

/** Sends dead letters back to their broker's ingress. */
export class RedriveSender {
  constructor(
    private readonly options: RedriveSenderOptions,
    private readonly logger: Logger,
  ) {}

  private url(broker: BrokerRef): string {
    const ingress = this.options.ingress;
    if (typeof ingress === 'function') return ingress(broker);
    if (!ingress) {
      throw new TributaryError('no broker ingress URL configured: cannot redrive', {
        code: 'REDRIVE_NOT_CONFIGURED',
        retriable: false,
        statusCode: 409,
      });
    }
    return `${ingress.replace(/\/+$/, '')}/${encodeURIComponent(broker.namespace)}/${encodeURIComponent(broker.name)}`;
  }

  /** The original event in binary mode, without the knativeerror* extensions. */
  async send(row: RedriveRow): Promise<RedriveResult> {
    const url = this.url({ namespace: row.namespace, name: row.broker });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(row.attributes ?? {})) {
      if ((ERROR_EXTENSIONS as readonly string[]).includes(name)) continue;
      if (name === 'datacontenttype') headers['content-type'] = value;
      else headers[`ce-${name}`] = encodeHeaderValue(value);
    }
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    try {
      const timeout = this.options.redriveTimeoutMs ?? 10_000;
      const res = await request(url, {
        method: 'POST',
        headers,
        body: row.data ?? Buffer.alloc(0),
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      const text = await res.body.text();
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      if (!ok)
        this.logger.warn({ id: row.id, status: res.statusCode, body: text.slice(0, 500) }, 'redrive refused');
      return { id: row.id, ok, status: res.statusCode, ...(ok ? {} : { error: text.slice(0, 1000) }) };
    } catch (err) {
      this.logger.warn({ err, id: row.id }, 'redrive failed');
      return { id: row.id, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }
}
