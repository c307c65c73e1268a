import {
  type CloudEvent,
  decodeHeaderValue,
  encodeHeaderValue,
  encodeHttpBinary,
  inLockedTransaction,
  type Logger,
  TributaryError,
} from '@tributary/shared';
import pg from 'pg';
import { Counter, Gauge, Registry } from 'prom-client';
import { request } from 'undici';
import { DEFAULT_SCHEMA } from '../log/postgres/migrations.js';
import type { BrokerRef } from '../log/types.js';

/** Extensions the dispatcher adds to a dead letter; a redrive strips them (the event goes back as it was). */
export const ERROR_EXTENSIONS = ['knativeerrordest', 'knativeerrorcode', 'knativeerrordata'] as const;

export type DeadLetterStatus = 'pending' | 'redriven';

/** One stored dead letter: the failed event and why it failed. */
export interface DeadLetter {
  id: string;
  namespace: string;
  broker: string;
  /** The event's `id`, `source`, `type`, `subject`. */
  eventId: string;
  source: string;
  type: string;
  subject: string | null;
  /** Every context attribute as received (string form), `knativeerror*` included. */
  attributes: Record<string, string>;
  /** `knativeerrordest`: the subscriber that failed. */
  errorDest: string | null;
  /** `knativeerrorcode`: its last HTTP status (absent on a timeout / connection error). */
  errorCode: number | null;
  /** `knativeerrordata`, base64-decoded: the start of the subscriber's response body. */
  errorData: string | null;
  dataContentType: string | null;
  /** The event's data bytes, base64. */
  dataBase64: string | null;
  /** The data as text when it is UTF-8 (JSON, text), for display. */
  dataText: string | null;
  /** How many times this event was dead-lettered to this destination. */
  times: number;
  firstReceivedAt: string;
  receivedAt: string;
  status: DeadLetterStatus;
  redrivenAt: string | null;
  redriveCount: number;
  lastRedriveStatus: number | null;
}

export type DeadLetterSummary = Omit<DeadLetter, 'attributes' | 'dataBase64' | 'dataText'>;

export interface DeadLetterQuery {
  namespace?: string | undefined;
  broker?: string | undefined;
  /** Default `all`. */
  status?: DeadLetterStatus | 'all' | undefined;
  /** Page size (default 50, max 500). */
  limit?: number | undefined;
  /** Keyset pagination: only ids below this one (newest first). */
  before?: string | undefined;
}

export interface RedriveResult {
  id: string;
  ok: boolean;
  /** The ingress' status, when it answered. */
  status?: number | undefined;
  error?: string | undefined;
  /** Another redrive of this dead letter is running (it was not sent again). */
  inProgress?: true | undefined;
}

export interface RedriveAllResult {
  redriven: number;
  failed: number;
  results: RedriveResult[];
}

export interface DeadLetterStoreOptions {
  /** Connection URL (the store then owns and closes its pool) or an existing pool. */
  databaseUrl?: string | undefined;
  pool?: pg.Pool | undefined;
  logger: Logger;
  /** Schema of the table (default `tributary_broker`, shared with the Postgres broker log). */
  schema?: string | undefined;
  /**
   * Where redriven events go: the broker ingress base URL (`http://127.0.0.1:8080`, events are POSTed to
   * `<base>/<namespace>/<broker>`), or a function giving the full URL per broker.
   */
  ingress?: string | ((broker: BrokerRef) => string) | undefined;
  /** Bearer token for the ingress when its JWT auth is on. */
  token?: string | undefined;
  /** Per-request timeout of a redrive POST (default 10 s). */
  redriveTimeoutMs?: number | undefined;
  registry?: Registry | undefined;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

const MAX_BIGINT = 9223372036854775807n;

/**
 * True when `id` can name a row: decimal digits within Postgres' bigint range. Anything else is "no such
 * dead letter" (404), never a query that fails (SQLSTATE 22003 for `9223372036854775808`).
 */
export function isDeadLetterId(id: string): boolean {
  return /^\d{1,19}$/.test(id) && BigInt(id) <= MAX_BIGINT;
}

interface Row {
  id: string;
  namespace: string;
  broker: string;
  event_id: string;
  event_source: string;
  event_type: string;
  subject: string | null;
  attributes?: Record<string, string>;
  error_dest: string;
  error_code: number | null;
  error_data: Buffer | null;
  datacontenttype: string | null;
  data?: Buffer | null;
  times: number;
  first_received_at: Date;
  received_at: Date;
  redriven_at: Date | null;
  redrive_count: number;
  last_redrive_status: number | null;
}

const SUMMARY_COLUMNS = `id::text, namespace, broker, event_id, event_source, event_type, subject, error_dest,
  error_code, error_data, datacontenttype, times, first_received_at, received_at, redriven_at, redrive_count,
  last_redrive_status`;

/**
 * The dead-letter store: a durable home for events a Trigger could not deliver, in Postgres table
 * `<schema>.dead_letters`, with list/get/delete and redrive back to the broker ingress.
 *
 * One row per (broker, event source + id, failed destination): an event dead-lettered again after a redrive
 * updates its row (`times` + 1, status back to pending) instead of piling up copies, and a dispatcher that
 * retries a delivery whose 2xx it missed does not create a duplicate.
 */
export class DeadLetterStore {
  readonly schema: string;
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly logger: Logger;
  private ready: Promise<void> | undefined;
  private readonly metrics: DeadLetterMetrics;

  constructor(private readonly options: DeadLetterStoreOptions) {
    this.schema = options.schema ?? DEFAULT_SCHEMA;
    if (!IDENTIFIER.test(this.schema)) throw new Error(`invalid schema name "${this.schema}"`);
    if (options.pool) {
      this.pool = options.pool;
      this.ownsPool = false;
    } else if (options.databaseUrl) {
      this.pool = new pg.Pool({ connectionString: options.databaseUrl, max: 5 });
      this.ownsPool = true;
    } else {
      throw new TributaryError('the dead-letter store needs `databaseUrl` or `pool`', {
        code: 'CONFIG_INVALID',
        retriable: false,
      });
    }
    this.logger = options.logger.child({ component: 'dead-letters' });
    this.pool.on('error', (err) => this.logger.warn({ err }, 'idle Postgres connection failed'));
    this.metrics = deadLetterMetrics(options.registry ?? new Registry(), this);
  }

  /** Creates the schema and table if missing (idempotent; serialized with the broker log's migrations). */
  migrate(): Promise<void> {
    const s = this.schema;
    // The Postgres broker log migrates under the same lock key: no CREATE SCHEMA race between them.
    this.ready ??= inLockedTransaction(this.pool, `${s}.migrate`, async (client) => {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${s}.dead_letters (
             id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             namespace text NOT NULL,
             broker text NOT NULL,
             event_id text NOT NULL,
             event_source text NOT NULL,
             event_type text NOT NULL,
             subject text,
             attributes jsonb NOT NULL,
             error_dest text NOT NULL DEFAULT '',
             error_code integer,
             error_data bytea,
             datacontenttype text,
             data bytea,
             times integer NOT NULL DEFAULT 1,
             first_received_at timestamptz NOT NULL DEFAULT now(),
             received_at timestamptz NOT NULL DEFAULT now(),
             redriven_at timestamptz,
             redrive_count integer NOT NULL DEFAULT 0,
             last_redrive_status integer,
             UNIQUE (namespace, broker, event_source, event_id, error_dest)
           )`,
      );
      // A redrive claims its rows until then, instead of holding row locks while it sends (see redriveAll).
      await client.query(
        `ALTER TABLE ${s}.dead_letters ADD COLUMN IF NOT EXISTS redrive_claimed_until timestamptz`,
      );
      await client.query(
        `CREATE INDEX IF NOT EXISTS dead_letters_pending
             ON ${s}.dead_letters (namespace, broker, id) WHERE redriven_at IS NULL`,
      );
    });
    this.ready.catch(() => {
      this.ready = undefined;
    });
    return this.ready;
  }

  /** Stores one dead-lettered event; resolves once the row is committed. Returns its id. */
  async store(broker: BrokerRef, event: CloudEvent<unknown>): Promise<string> {
    await this.migrate();
    const { headers, body } = encodeHttpBinary(event);
    const attributes: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (name.startsWith('ce-')) attributes[name.slice(3)] = safeDecode(value);
    }
    const ct = headers['content-type'];
    if (ct !== undefined) attributes.datacontenttype = ct;
    const code = Number.parseInt(attributes.knativeerrorcode ?? '', 10);
    const errorData = attributes.knativeerrordata ? Buffer.from(attributes.knativeerrordata, 'base64') : null;
    const { rows } = await this.pool.query<{ id: string }>(
      `INSERT INTO ${this.schema}.dead_letters AS d
         (namespace, broker, event_id, event_source, event_type, subject, attributes, error_dest, error_code,
          error_data, datacontenttype, data)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (namespace, broker, event_source, event_id, error_dest) DO UPDATE SET
         attributes = EXCLUDED.attributes, error_code = EXCLUDED.error_code, error_data = EXCLUDED.error_data,
         datacontenttype = EXCLUDED.datacontenttype, data = EXCLUDED.data, event_type = EXCLUDED.event_type,
         subject = EXCLUDED.subject, times = d.times + 1, received_at = now(), redriven_at = NULL
       RETURNING id::text`,
      [
        broker.namespace,
        broker.name,
        event.id,
        event.source,
        event.type,
        event.subject ?? null,
        JSON.stringify(attributes),
        attributes.knativeerrordest ?? '',
        Number.isFinite(code) ? code : null,
        errorData,
        ct ?? null,
        body.length > 0 || event.data !== undefined ? body : null,
      ],
    );
    this.metrics.received.inc({ namespace: broker.namespace, broker: broker.name });
    return rows[0]!.id;
  }

  async list(query: DeadLetterQuery = {}): Promise<{ items: DeadLetterSummary[]; total: number }> {
    await this.migrate();
    const { where, params } = this.where(query);
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 500);
    const page = [...params];
    let pageWhere = where;
    if (query.before !== undefined && isDeadLetterId(query.before)) {
      page.push(query.before);
      pageWhere += ` AND id < $${page.length}::bigint`;
    }
    page.push(limit);
    const [items, total] = await Promise.all([
      this.pool.query<Row>(
        `SELECT ${SUMMARY_COLUMNS} FROM ${this.schema}.dead_letters WHERE ${pageWhere}
          ORDER BY id DESC LIMIT $${page.length}`,
        page,
      ),
      this.pool.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ${this.schema}.dead_letters WHERE ${where}`,
        params,
      ),
    ]);
    return { items: items.rows.map(summary), total: Number(total.rows[0]?.n ?? 0) };
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    if (!isDeadLetterId(id)) return undefined;
    await this.migrate();
    const { rows } = await this.pool.query<Row>(
      `SELECT ${SUMMARY_COLUMNS}, attributes, data FROM ${this.schema}.dead_letters WHERE id = $1`,
      [id],
    );
    const row = rows[0];
    return row ? full(row) : undefined;
  }

  async delete(id: string): Promise<boolean> {
    if (!isDeadLetterId(id)) return false;
    await this.migrate();
    const r = await this.pool.query(`DELETE FROM ${this.schema}.dead_letters WHERE id = $1`, [id]);
    return (r.rowCount ?? 0) > 0;
  }

  /** Deletes every dead letter matching the query (its `limit`/`before` are ignored). */
  async deleteMany(query: DeadLetterQuery): Promise<number> {
    await this.migrate();
    const { where, params } = this.where(query);
    const r = await this.pool.query(`DELETE FROM ${this.schema}.dead_letters WHERE ${where}`, params);
    return r.rowCount ?? 0;
  }

  /** Pending and total dead letters per broker. */
  async counts(): Promise<{ namespace: string; broker: string; pending: number; total: number }[]> {
    await this.migrate();
    const { rows } = await this.pool.query<{
      namespace: string;
      broker: string;
      pending: string;
      total: string;
    }>(
      `SELECT namespace, broker, count(*) FILTER (WHERE redriven_at IS NULL)::text AS pending,
              count(*)::text AS total
         FROM ${this.schema}.dead_letters GROUP BY namespace, broker ORDER BY namespace, broker`,
    );
    return rows.map((r) => ({
      namespace: r.namespace,
      broker: r.broker,
      pending: Number(r.pending),
      total: Number(r.total),
    }));
  }

  /**
   * Sends one dead letter back to its broker's ingress: the original event in binary mode, without the
   * `knativeerror*` extensions, and marks it redriven once the ingress accepted it (2xx). The row is claimed
   * for the time of the send (no transaction or lock is held meanwhile), so a concurrent redrive of the same
   * dead letter does not send it again: it answers `inProgress`.
   */
  async redrive(id: string): Promise<RedriveResult | undefined> {
    if (!isDeadLetterId(id)) return undefined;
    await this.migrate();
    const [row] = await this.claim('id = $1', [id], 1);
    if (!row) {
      const exists = await this.pool.query(`SELECT 1 FROM ${this.schema}.dead_letters WHERE id = $1`, [id]);
      if (exists.rowCount === 0) return undefined;
      return { id, ok: false, inProgress: true, error: 'a redrive of this dead letter is in progress' };
    }
    const result = await this.send(row);
    await this.mark(row, result);
    return result;
  }

  /**
   * Redrives every pending dead letter matching the query, oldest first, in batches of up to 100 claimed rows
   * (rows another redrive has claimed are left to it). Stops at `max` (default 10 000) dead letters. The
   * sends happen outside any transaction: holding `FOR UPDATE` locks over up to 100 sends of up to
   * `redriveTimeoutMs` each blocked the dispatcher storing a new dead letter for the same event, and kept a
   * pooled connection in a transaction for minutes.
   */
  async redriveAll(query: DeadLetterQuery = {}, max = 10_000): Promise<RedriveAllResult> {
    await this.migrate();
    const out: RedriveAllResult = { redriven: 0, failed: 0, results: [] };
    const failedIds: string[] = [];
    while (out.redriven + out.failed < max) {
      const { where, params } = this.where({ ...query, status: 'pending' });
      const p = [...params, failedIds];
      const rows = await this.claim(
        `${where} AND NOT (id::text = ANY($${p.length}::text[]))`,
        p,
        Math.min(100, max - out.redriven - out.failed),
      );
      if (rows.length === 0) break;
      for (const row of rows) {
        const result = await this.send(row);
        await this.mark(row, result);
        out.results.push(result);
        if (result.ok) out.redriven++;
        else {
          out.failed++;
          failedIds.push(row.id);
        }
      }
    }
    if (out.results.length > 200) out.results = out.results.slice(0, 200);
    return out;
  }

  /**
   * Claims up to `limit` rows matching `where` that no other redrive holds, oldest first, in one statement
   * (row locks only for its duration). A claim lasts the send timeout plus a margin, so the rows of a
   * process that died mid-redrive become free again.
   */
  private async claim(where: string, params: unknown[], limit: number): Promise<Row[]> {
    const s = this.schema;
    const claimMs = (this.options.redriveTimeoutMs ?? 10_000) + 5_000;
    const p = [...params, limit, claimMs];
    const { rows } = await this.pool.query<Row>(
      `UPDATE ${s}.dead_letters SET redrive_claimed_until = now() + $${p.length}::int * interval '1 ms'
        WHERE id IN (
          SELECT id FROM ${s}.dead_letters
           WHERE ${where} AND (redrive_claimed_until IS NULL OR redrive_claimed_until < now())
           ORDER BY id LIMIT $${p.length - 1} FOR UPDATE SKIP LOCKED)
        RETURNING ${SUMMARY_COLUMNS}, attributes, data`,
      p,
    );
    return rows.sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
  }

  private async mark(row: Row, result: RedriveResult): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.schema}.dead_letters
          SET redriven_at = CASE WHEN $2 THEN now() ELSE redriven_at END,
              redrive_count = redrive_count + CASE WHEN $2 THEN 1 ELSE 0 END,
              last_redrive_status = $3,
              redrive_claimed_until = NULL
        WHERE id = $1`,
      [row.id, result.ok, result.status ?? null],
    );
    this.metrics.redriven.inc({
      namespace: row.namespace,
      broker: row.broker,
      outcome: result.ok ? 'ok' : 'error',
    });
  }

  private ingressUrl(broker: BrokerRef): string {
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
  private async send(row: Row): Promise<RedriveResult> {
    const url = this.ingressUrl({ namespace: row.namespace, name: row.broker });
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

  private where(q: DeadLetterQuery): { where: string; params: unknown[] } {
    const parts = ['true'];
    const params: unknown[] = [];
    if (q.namespace) {
      params.push(q.namespace);
      parts.push(`namespace = $${params.length}`);
    }
    if (q.broker) {
      params.push(q.broker);
      parts.push(`broker = $${params.length}`);
    }
    if (q.status === 'pending') parts.push('redriven_at IS NULL');
    else if (q.status === 'redriven') parts.push('redriven_at IS NOT NULL');
    return { where: parts.join(' AND '), params };
  }

  async close(): Promise<void> {
    this.metrics.stores.delete(this);
    if (this.ownsPool) await this.pool.end();
  }
}

export function createDeadLetterStore(options: DeadLetterStoreOptions): DeadLetterStore {
  return new DeadLetterStore(options);
}

function safeDecode(value: string): string {
  try {
    return decodeHeaderValue(value);
  } catch {
    return value;
  }
}

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

function summary(r: Row): DeadLetterSummary {
  return {
    id: r.id,
    namespace: r.namespace,
    broker: r.broker,
    eventId: r.event_id,
    source: r.event_source,
    type: r.event_type,
    subject: r.subject,
    errorDest: r.error_dest || null,
    errorCode: r.error_code,
    errorData: r.error_data ? r.error_data.toString('utf8') : null,
    dataContentType: r.datacontenttype,
    times: r.times,
    firstReceivedAt: r.first_received_at.toISOString(),
    receivedAt: r.received_at.toISOString(),
    status: r.redriven_at ? 'redriven' : 'pending',
    redrivenAt: iso(r.redriven_at),
    redriveCount: r.redrive_count,
    lastRedriveStatus: r.last_redrive_status,
  };
}

function full(r: Row): DeadLetter {
  const data = r.data ?? null;
  let dataText: string | null = null;
  if (data) {
    const text = data.toString('utf8');
    // Only show it as text when it round-trips (valid UTF-8).
    if (Buffer.from(text, 'utf8').equals(data)) dataText = text;
  }
  return {
    ...summary(r),
    attributes: r.attributes ?? {},
    dataBase64: data ? data.toString('base64') : null,
    dataText,
  };
}

interface DeadLetterMetrics {
  received: Counter<'namespace' | 'broker'>;
  redriven: Counter<'namespace' | 'broker' | 'outcome'>;
  stores: Set<DeadLetterStore>;
}

const metricsByRegistry = new WeakMap<Registry, DeadLetterMetrics>();

/** The store's metrics, registered once per registry; the pending gauge counts rows at scrape time. */
function deadLetterMetrics(registry: Registry, store: DeadLetterStore): DeadLetterMetrics {
  let m = metricsByRegistry.get(registry);
  if (!m) {
    const registers = [registry];
    const stores = new Set<DeadLetterStore>();
    m = {
      stores,
      received: new Counter({
        name: 'tributary_dead_letters_received_total',
        help: 'Dead-lettered events stored by the dead-letter store',
        labelNames: ['namespace', 'broker'],
        registers,
      }),
      redriven: new Counter({
        name: 'tributary_dead_letters_redriven_total',
        help: 'Dead letters sent back to the broker ingress, by outcome (ok, error)',
        labelNames: ['namespace', 'broker', 'outcome'],
        registers,
      }),
    };
    new Gauge({
      name: 'tributary_dead_letters_pending',
      help: 'Stored dead letters not redriven yet, per broker',
      labelNames: ['namespace', 'broker'],
      registers,
      async collect() {
        this.reset();
        for (const s of stores) {
          try {
            for (const c of await s.counts())
              this.inc({ namespace: c.namespace, broker: c.broker }, c.pending);
          } catch {
            // Postgres unreachable: the series are absent for this scrape.
          }
        }
      },
    });
    metricsByRegistry.set(registry, m);
  }
  m.stores.add(store);
  return m;
}
