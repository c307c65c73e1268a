import { catalog, type Logger } from '@tributary/shared';
import type { FastifyRequest } from 'fastify';

/**
 * The dashboard's audit log: every delete, redrive, Trigger replay, sign-in and request to see secrets, with who (the
 * operator), from where, what (ids or the query) and the outcome. Each entry is one log line at `info`
 * (component `audit`, field `audit`), so it lands wherever the platform's logs go, and the last
 * {@link AUDIT_KEPT} are served at `GET /api/audit`.
 */
export const AUDIT_KEPT = 500;

export interface AuditEntry {
  time: string;
  action: string;
  actor: string;
  via: string;
  ip: string;
  method: string;
  path: string;
  /** Route parameters and query (which dead letter, which broker, which filter). */
  target: Record<string, unknown>;
  status: number;
  /** What the call did, from its answer: `deleted`, `redriven`/`failed`, `ok`. */
  result?: Record<string, unknown>;
}

/** The audited action of a route, if it is one. */
export function auditedAction(method: string, route: string | undefined): string | undefined {
  if (method === 'DELETE' && (route === '/api/dead-letters/:id' || route === '/api/dead-letters'))
    return 'dead-letters.delete';
  if (
    method === 'POST' &&
    (route === '/api/dead-letters/:id/redrive' || route === '/api/dead-letters/redrive')
  )
    return 'dead-letters.redrive';
  if (method === 'POST' && route === '/api/replay/:namespace/:trigger') return 'triggers.replay';
  if (method === 'POST' && route === '/api/backfills/:id/cancel') return 'backfills.cancel';
  return undefined;
}

const RESULT_FIELDS = ['deleted', 'redriven', 'failed', 'ok', 'status', 'error', 'events', 'applied'];

function resultOf(payload: unknown): Record<string, unknown> | undefined {
  if (typeof payload !== 'string' || payload === '') return undefined;
  try {
    const body = JSON.parse(payload) as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of RESULT_FIELDS) if (body[k] !== undefined) out[k] = body[k];
    if (typeof body.message === 'string') out.message = body.message.slice(0, 300);
    return out;
  } catch {
    return undefined;
  }
}

export class AuditLog {
  private readonly log: Logger;
  private readonly kept: AuditEntry[] = [];

  constructor(logger: Logger) {
    this.log = logger.child({ component: 'audit' });
  }

  record(action: string, req: FastifyRequest, status: number, payload: unknown): AuditEntry {
    const query = (req.query ?? {}) as Record<string, unknown>;
    const params = (req.params ?? {}) as Record<string, unknown>;
    const body = req.body && typeof req.body === 'object' && !Buffer.isBuffer(req.body) ? req.body : {};
    const target: Record<string, unknown> = { ...query, ...(body as Record<string, unknown>), ...params };
    delete target.token; // the sign-in body: never logged
    const entry: AuditEntry = {
      time: new Date().toISOString(),
      action,
      actor: req.operator?.actor ?? 'unknown',
      via: req.operator?.via ?? 'unknown',
      ip: req.ip,
      method: req.method,
      path: req.url.split('?')[0] ?? '',
      target,
      status,
    };
    const result = resultOf(payload);
    if (result) entry.result = result;
    this.kept.push(entry);
    if (this.kept.length > AUDIT_KEPT) this.kept.shift();
    this.log.info({ audit: entry }, `audit: ${action} by ${entry.actor} (${status})`);
    return entry;
  }

  /** Newest first. */
  entries(): AuditEntry[] {
    return [...this.kept].reverse();
  }
}

/**
 * A dead letter's JSON (`GET /api/dead-letters/:id`) with the data fields the catalog marks secret
 * redacted: `dataText` re-serialized, `dataBase64` of the redacted text, `redacted` the count.
 */
export function redactDeadLetter(payload: string): string {
  let d: { type?: unknown; dataText?: unknown; dataBase64?: unknown; redacted?: number };
  try {
    d = JSON.parse(payload) as typeof d;
  } catch {
    return payload;
  }
  if (typeof d.type !== 'string' || catalog.secretPaths(d.type).length === 0) return payload;
  if (typeof d.dataText !== 'string') {
    // Not text: nothing we can redact field by field, so show none of it.
    if (d.dataBase64) return JSON.stringify({ ...d, dataBase64: null, redacted: 1 });
    return payload;
  }
  let data: unknown;
  try {
    data = JSON.parse(d.dataText);
  } catch {
    return payload;
  }
  const r = catalog.redact(d.type, data);
  if (r.redacted === 0) return payload;
  const text = JSON.stringify(r.data);
  return JSON.stringify({
    ...d,
    dataText: text,
    dataBase64: Buffer.from(text).toString('base64'),
    redacted: r.redacted,
  });
}
