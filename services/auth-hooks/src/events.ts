import { createHash } from 'node:crypto';
import { CloudEvent } from 'cloudevents';
import type { HookDefinition } from './hooks/types.js';

/** Every auth event's source (DESIGN.md §3.3). */
export const AUTH_SOURCE = '/auth';

function metadataOf(payload: Record<string, unknown>): Record<string, unknown> | undefined {
  // Auth's hooks carry `metadata`; an experimental v1 shape calls it `header`.
  const m = payload.metadata ?? payload.header;
  return m && typeof m === 'object' ? (m as Record<string, unknown>) : undefined;
}

/**
 * The event id: the hook call's `metadata.uuid`, which Auth keeps across its retries of one call (each
 * retry gets a new `webhook-id`, so that is not the id). A payload without `metadata.uuid` (older Auth
 * versions) gets `sha256-<hex>` of the hook name and the raw body: Auth marshals the payload once per call
 * and resends the same bytes on each retry, so this is deterministic too.
 */
export function eventId(hookName: string, payload: Record<string, unknown>, rawBody: Buffer): string {
  const uuid = metadataOf(payload)?.uuid;
  if (typeof uuid === 'string' && uuid.length > 0) return uuid;
  const hash = createHash('sha256').update(hookName).update('\n').update(rawBody).digest('hex');
  return `sha256-${hash}`;
}

function eventTime(payload: Record<string, unknown>): string {
  const t = metadataOf(payload)?.time;
  if (typeof t === 'string') {
    const d = new Date(t);
    if (!Number.isNaN(d.getTime())) return d.toISOString();
  }
  return new Date().toISOString();
}

/**
 * The CloudEvent for one hook call. `data` is the payload exactly as Auth sent it, plus `result` (what
 * this service decided, e.g. `{ decision: "reject" }`) for hooks that decide something. `partitionkey` is
 * the user id, so one user's auth events stay in order on Kafka.
 */
export function buildHookEvent(
  hook: HookDefinition<unknown>,
  payload: Record<string, unknown>,
  rawBody: Buffer,
  subject: string | undefined,
  result: Record<string, unknown> | undefined,
): CloudEvent<Record<string, unknown>> {
  const data = result ? { ...payload, result } : payload;
  return new CloudEvent<Record<string, unknown>>({
    specversion: '1.0',
    id: eventId(hook.name, payload, rawBody),
    source: AUTH_SOURCE,
    type: hook.eventType,
    time: eventTime(payload),
    datacontenttype: 'application/json',
    ...(subject ? { subject, partitionkey: subject } : {}),
    data,
  });
}
