import { type BrokerLog, type LoadedResources, parseReplayRequest, replayTrigger } from '@tributary/eventing';
import { isRetriable, type Logger } from '@tributary/shared';
import type { FastifyInstance } from 'fastify';

/**
 * The dashboard's Trigger replay (`tributary replay` in the browser): `GET /api/replay/triggers` lists the
 * Triggers it knows (from the local YAML), `POST /api/replay/<namespace>/<trigger>` with
 * `{"from": "<RFC 3339>|earliest", "dryRun": bool}` previews or applies a replay through the broker log
 * (`BrokerLog.replay`). Both sit behind the dashboard's operator auth, the POST behind its cross-site check,
 * and the POST is audit-logged (`triggers.replay`, dry runs included) by app.ts' hook.
 *
 * Under `tributary dev` the dashboard shares the broker's log object, so on Kafka the running dispatchers
 * seek; a dashboard in its own process replays a Postgres log fully, and on Kafka only a Trigger whose
 * dispatcher is stopped (409 otherwise, with the reason).
 */
export interface ReplayRoutesOptions {
  log?: BrokerLog | undefined;
  resources?: LoadedResources | undefined;
  logger: Logger;
}

export const REPLAY_ROUTE = '/api/replay/:namespace/:trigger';

/** What `GET /api/replay/triggers` answers: the Triggers the replay panel offers. */
export interface ReplayTriggerList {
  /** False when the dashboard has no broker log (a replay would answer 503). */
  available: boolean;
  triggers: { namespace: string; name: string; broker: string }[];
}

export function registerReplayRoutes(app: FastifyInstance, opts: ReplayRoutesOptions): void {
  const triggers = opts.resources?.triggers ?? [];
  const fail = (status: number, code: string, message: string) => ({
    status,
    body: { error: code, code, message },
  });

  app.get<{ Reply: ReplayTriggerList }>('/api/replay/triggers', async () => ({
    available: opts.log !== undefined,
    triggers: triggers.map((t) => ({ namespace: t.namespace, name: t.name, broker: t.broker })),
  }));

  app.post<{ Params: { namespace: string; trigger: string }; Body: unknown }>(
    REPLAY_ROUTE,
    async (req, reply) => {
      const answer = (r: { status: number; body: unknown }) => reply.status(r.status).send(r.body);
      const log = opts.log;
      if (!log)
        return answer(
          fail(503, 'LOG_UNAVAILABLE', 'the dashboard has no broker log (set DATABASE_URL or KAFKA_BROKERS)'),
        );
      const { namespace, trigger } = req.params;
      const t = triggers.find((x) => x.namespace === namespace && x.name === trigger);
      if (!t) {
        const known = triggers.map((x) => `${x.namespace}/${x.name}`).join(', ') || 'none';
        return answer(fail(404, 'TRIGGER_NOT_FOUND', `no Trigger ${namespace}/${trigger} (known: ${known})`));
      }
      try {
        return await replayTrigger(log, t, parseReplayRequest(req.body));
      } catch (err) {
        const e = err as { statusCode?: number; code?: string; message?: string };
        if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500)
          return answer(fail(e.statusCode, e.code ?? 'BAD_REQUEST', e.message ?? String(err)));
        opts.logger.warn({ err, trigger: `${namespace}/${trigger}` }, 'replay failed');
        const status = isRetriable(err) ? 503 : 500;
        return answer(
          fail(status, status === 503 ? 'LOG_UNAVAILABLE' : 'INTERNAL', e.message ?? 'replay failed'),
        );
      }
    },
  );
}
