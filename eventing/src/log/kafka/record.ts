import { fromKafkaMessage, kafkaToHttpBinary } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import type { IHeaders, KafkaMessage } from 'kafkajs';
import { TTL_ATTRIBUTE } from '../../ingress/ttl.js';
import type { ForwardView, LogRecord } from '../types.js';

/** Headers the dispatcher never forwards: the broker's loop guard (the MT broker filter deletes it too). */
const NOT_FORWARDED = new Set([TTL_ATTRIBUTE]);

/**
 * A consumed record. Its attributes are validated and its HTTP form built up front (all a dispatcher
 * needs); the CloudEvent, data decoding included, is built only when something reads `event`.
 */
export class KafkaLogRecord implements LogRecord {
  readonly offset: string;
  readonly key: string | null;
  readonly timestamp: number;
  readonly forward: ForwardView;
  private decoded: CloudEvent<unknown> | undefined;
  private readonly input: { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer> };

  constructor(
    readonly partition: number,
    m: KafkaMessage,
  ) {
    this.offset = m.offset;
    this.key = m.key ? m.key.toString('utf8') : null;
    this.timestamp = Number(m.timestamp);
    this.input = { key: m.key, value: m.value, headers: flattenHeaders(m.headers) };
    this.forward = kafkaToHttpBinary(this.input, NOT_FORWARDED);
  }

  get event(): CloudEvent<unknown> {
    this.decoded ??= fromKafkaMessage(this.input);
    return this.decoded;
  }
}

/** One value per header name; a repeated header counts with its last value, as in Knative (`lastHeader`). */
export function flattenHeaders(headers: IHeaders | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  if (!headers) return out;
  for (const [name, value] of Object.entries(headers)) {
    const v = Array.isArray(value) ? value[value.length - 1] : value;
    if (v === undefined) continue;
    out[name] = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  }
  return out;
}
