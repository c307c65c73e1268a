import { type CloudEvent, CloudEventDecodeError, decodeHttp, type ErrorBody } from '@tributary/shared';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { DeadLetterStatus } from '../wire.js';
import type { SinkAuthResult } from './auth.js';
import { type DeadLetterQuery, type DeadLetterStore, isDeadLetterId } from './store.js';

export interface DeadLetterRoutesOptions {
  store: DeadLetterStore;
  /**
   * Who may POST to the sink (e.g. `createSinkAuth(secret)`: dispatchers only). Without it the sink takes any
   * caller, which only an embedding that authenticates in front of it (or a test) should do.
   */
  sinkAuth?: (authorization: string | undefined) => Promise<SinkAuthResult>;
  /** Largest dead letter accepted (default 2 MiB: an event at the ingress' 1 MiB limit plus headers). */
  bodyLimit?: number;
}

interface BrokerParams {
  namespace: string;
  broker: string;
}

interface ListQuery {
  namespace?: string;
  broker?: string;
  status?: string;
  limit?: string;
  before?: string;
}

function toQuery(q: ListQuery): DeadLetterQuery {
  const status: DeadLetterStatus | 'all' | undefined =
    q.status === 'pending' || q.status === 'redriven' || q.status === 'all' ? q.status : undefined;
  const limit = q.limit !== undefined ? Number.parseInt(q.limit, 10) : undefined;
  return {
    namespace: q.namespace || undefined,
    broker: q.broker || undefined,
    status,
    limit: Number.isFinite(limit) ? limit : undefined,
    before: q.before !== undefined && isDeadLetterId(q.before) ? q.before : undefined,
  };
}

const notFound = (id: string): ErrorBody => ({
  error: 'Not Found',
  code: 'DEAD_LETTER_NOT_FOUND',
  message: `no dead letter ${id}`,
});

/**
 * The dead-letter store over HTTP (a Fastify plugin):
 *
 * - `POST /dead-letters/<namespace>/<broker>`: the sink a Broker/Trigger `delivery.deadLetterSink` points at.
 *   Any CloudEvents HTTP mode; answers 202 only once the event is committed to Postgres (400 when the body is
 *   not a CloudEvent, 503 when Postgres cannot take it, so the dispatcher retries).
 * - `GET /api/dead-letters?namespace=&broker=&status=pending|redriven|all&limit=&before=`: newest first.
 * - `GET /api/dead-letters/counts`, `GET /api/dead-letters/<id>` (attributes, error, body).
 * - `DELETE /api/dead-letters/<id>`, `DELETE /api/dead-letters?namespace=&broker=&status=`.
 * - `POST /api/dead-letters/<id>/redrive`, `POST /api/dead-letters/redrive` (body `{namespace?, broker?}`):
 *   back to the broker ingress in binary mode without the `knativeerror*` extensions.
 */
export const deadLetterRoutes: FastifyPluginAsync<DeadLetterRoutesOptions> = async (app, opts) => {
  const { store } = opts;
  await store.migrate().catch((err: unknown) => app.log.warn({ err }, 'dead-letter table not ready yet'));

  await app.register(async (sink: FastifyInstance) => {
    sink.removeAllContentTypeParsers();
    sink.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: opts.bodyLimit ?? 2 * 1024 * 1024 },
      (_r, body, done) => done(null, body),
    );
    const sinkAuth = opts.sinkAuth;
    if (sinkAuth) {
      // Before the body is read: an unauthenticated caller cannot make the sink buffer anything.
      sink.addHook('onRequest', async (req, reply) => {
        const r = await sinkAuth(req.headers.authorization);
        if (r.ok) return;
        req.log.warn({ ip: req.ip, code: r.code }, 'dead-letter sink refused a caller');
        if (r.status === 401) void reply.header('www-authenticate', 'Bearer realm="tributary-dead-letters"');
        return reply
          .status(r.status)
          .send({ error: r.status === 401 ? 'Unauthorized' : 'Forbidden', code: r.code, message: r.message });
      });
    }
    sink.post<{ Params: BrokerParams }>('/dead-letters/:namespace/:broker', async (req, reply) => {
      let events: CloudEvent<unknown>[];
      try {
        events = decodeHttp(req.headers, (req.body as Buffer | undefined) ?? Buffer.alloc(0));
      } catch (err) {
        if (err instanceof CloudEventDecodeError) {
          return reply
            .status(400)
            .send({ error: 'Bad Request', code: err.code, message: err.message } satisfies ErrorBody);
        }
        throw err;
      }
      const broker = { namespace: req.params.namespace, name: req.params.broker };
      const ids: string[] = [];
      try {
        for (const e of events) ids.push(await store.store(broker, e));
      } catch (err) {
        const sqlstate = (err as { code?: unknown }).code;
        if (typeof sqlstate === 'string' && (/^22/.test(sqlstate) || sqlstate === '54000')) {
          // Postgres cannot hold this event as it is (a value too large for the key index, an encoding):
          // retrying cannot help, and the SQLSTATE stays in the log.
          req.log.warn({ sqlstate, id: events[0]?.id.slice(0, 200) }, 'dead letter refused by Postgres');
          return reply.status(400).send({
            error: 'Bad Request',
            code: 'DEAD_LETTER_UNSTORABLE',
            message:
              'the dead letter cannot be stored: a value is too large or holds characters Postgres cannot store',
          });
        }
        req.log.error({ err }, 'could not store a dead letter');
        return reply.status(503).send({
          error: 'Service Unavailable',
          code: 'DEAD_LETTER_STORE_UNAVAILABLE',
          message: 'could not store the dead letter',
        });
      }
      return reply.status(202).send({ stored: ids.length, ids });
    });
  });

  app.get<{ Querystring: ListQuery }>('/api/dead-letters', async (req) => store.list(toQuery(req.query)));
  app.get('/api/dead-letters/counts', async () => ({ brokers: await store.counts() }));
  app.get<{ Params: { id: string } }>('/api/dead-letters/:id', async (req, reply) => {
    const d = await store.get(req.params.id);
    return d ?? reply.status(404).send(notFound(req.params.id));
  });
  app.delete<{ Params: { id: string } }>('/api/dead-letters/:id', async (req, reply) => {
    const ok = await store.delete(req.params.id);
    return ok ? reply.status(204).send() : reply.status(404).send(notFound(req.params.id));
  });
  app.delete<{ Querystring: ListQuery }>('/api/dead-letters', async (req) => ({
    deleted: await store.deleteMany(toQuery(req.query)),
  }));
  app.post<{ Params: { id: string } }>('/api/dead-letters/:id/redrive', async (req, reply) => {
    const r = await store.redrive(req.params.id);
    if (!r) return reply.status(404).send(notFound(req.params.id));
    return reply.status(r.ok ? 200 : r.inProgress ? 409 : 502).send(r);
  });
  app.post<{ Body: { namespace?: string; broker?: string } | undefined }>(
    '/api/dead-letters/redrive',
    async (req) => {
      const body = req.body ?? {};
      return store.redriveAll({ namespace: body.namespace, broker: body.broker });
    },
  );
};
