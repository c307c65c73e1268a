import { createHash } from 'node:crypto';
import { EVENT_TYPES, eventAttributes, TributaryError } from '@tributary/shared';
import { CloudEvent } from 'cloudevents';

/**
 * Notifications that can never be published (the broker refuses their events with a 4xx: an event over a
 * limit, data that fails its catalog schema) must not block storage: MinIO's queue store retries every
 * non-2xx answer every 3 s and holds every later notification behind it (minio internal/store/store.go,
 * `sendItems`). So storage-events records such events durably as dead letters and then answers 2xx.
 *
 * A dead letter goes to a dead-letter sink URL (STORAGE_EVENTS_DEAD_LETTER_SINK) the way a Knative
 * dispatcher sends one: the event with `knativeerrordest` (the broker), `knativeerrorcode` (its status) and
 * `knativeerrordata` (base64 of the start of its answer), POSTed in structured mode (a 10,000-character key
 * does not fit in headers). The dashboard's sink (`/dead-letters/<namespace>/<broker>`) stores it in
 * Postgres, where it is listed, redriven and counted; a Knative KafkaSink works too.
 */
export interface DeadLetterSink {
  /** Resolves once the sink stored every event (2xx); throws otherwise (the caller answers 503). */
  record(events: readonly CloudEvent<unknown>[], failure: DeadLetterReason): Promise<void>;
}

export interface DeadLetterReason {
  /** Where the events were refused (the broker URL). */
  destination: string;
  /** The broker's status, when it answered. */
  status?: number | undefined;
  /** Why (the broker's answer, or the error). */
  message: string;
}

/** The Kafka broker's KN_ERROR_DATA_MAX_BYTES. */
const ERROR_DATA_MAX_BYTES = 1024;

function sha256(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** The structured-mode JSON of `event` plus the dead-letter extensions. */
function deadLetterJson(event: CloudEvent<unknown>, reason: DeadLetterReason): Record<string, unknown> {
  const attrs = eventAttributes(event);
  const out: Record<string, unknown> = { ...attrs };
  delete out.data;
  delete out.data_base64;
  const data = event.data;
  if (data instanceof Uint8Array) out.data_base64 = Buffer.from(data).toString('base64');
  else if (data !== undefined) out.data = data;
  out.knativeerrordest = reason.destination;
  if (reason.status !== undefined) out.knativeerrorcode = String(reason.status);
  out.knativeerrordata = Buffer.from(reason.message, 'utf8')
    .subarray(0, ERROR_DATA_MAX_BYTES)
    .toString('base64');
  return out;
}

/**
 * A valid stand-in for an event the sink cannot take as it is (its attributes are what made it
 * unpublishable): type `dev.tributary.storage.event`, source `/storage`, a deterministic id, and the original
 * event in `data.event`.
 */
export function wrapUnpublishable(event: CloudEvent<unknown> | Record<string, unknown>, why: string) {
  const original = event instanceof CloudEvent ? eventAttributes(event) : event;
  const json = JSON.stringify(original);
  return new CloudEvent<unknown>(
    {
      specversion: '1.0',
      type: EVENT_TYPES.storageEvent,
      source: '/storage',
      id: `unpublishable-${sha256(json).slice(0, 32)}`,
      datacontenttype: 'application/json',
      data: { unpublishable: true, error: why.slice(0, 2000), event: original },
    },
    false,
  );
}

export interface HttpDeadLetterSinkOptions {
  url: string;
  /** Bearer token for the sink (the dashboard's sink takes dispatcher tokens only). */
  token?: string | undefined;
  timeoutMs?: number;
}

export function createHttpDeadLetterSink(options: HttpDeadLetterSinkOptions): DeadLetterSink {
  const timeout = options.timeoutMs ?? 10_000;
  const post = async (body: Record<string, unknown>): Promise<{ status: number; text: string }> => {
    const res = await fetch(options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/cloudevents+json; charset=utf-8',
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
      body: JSON.stringify(body),
      redirect: 'error',
      signal: AbortSignal.timeout(timeout),
    });
    return { status: res.status, text: (await res.text()).slice(0, 500) };
  };
  return {
    async record(events, reason) {
      for (const event of events) {
        let r = await post(deadLetterJson(event, reason));
        // The sink refuses the event itself as invalid: store it wrapped in a valid one instead.
        if (r.status === 400)
          r = await post(deadLetterJson(wrapUnpublishable(event, reason.message), reason));
        if (r.status < 200 || r.status >= 300) {
          throw new TributaryError(`dead-letter sink answered ${r.status}: ${r.text}`, {
            code: 'DEAD_LETTER_SINK_FAILED',
          });
        }
      }
    },
  };
}
