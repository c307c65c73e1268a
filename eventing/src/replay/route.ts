import { isRetriable, type Logger, TributaryError } from '@tributary/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createJwtAuth, type JwtAuthOptions } from '../ingress/auth.js';
import type { BrokerLog, BrokerRef, ReplayOptions, ReplayResult } from '../log/types.js';
import { parseRfc3339 } from '../resources/load.js';
import type { TriggerResource } from '../resources/types.js';
import type { ReplayResponse } from '../wire.js';

export type { ReplayResponse } from '../wire.js';

/**
 * `POST /-/replay/<namespace>/<trigger>` on the broker (`tributary replay` and the dashboard call it):
 * moves one Trigger's consumer group back to a time or the log start (`BrokerLog.replay`), through the
 * broker process that runs its dispatcher, so the running dispatcher applies it. Body
 * `{"from": "<RFC 3339>|earliest", "dryRun": true|false}`; answers the plan per partition.
 *
 * Operators only: with BROKER_JWT_SECRET a Bearer JWT whose `role` is `service_role` (the key
 * `tributary keys` makes for operators; the ingress' publishing roles are not enough); without it (dev)
 * only loopback clients.
 */
export const REPLAY_PATH_PREFIX = '/-/replay';
/** Roles that may replay: the operator's (Supabase's admin role). */
export const REPLAY_ROLES: readonly string[] = ['service_role'];

export interface ReplayRouteOptions {
  log: BrokerLog;
  triggers: readonly TriggerResource[];
  auth?: JwtAuthOptions | undefined;
  logger: Logger;
}

/** `earliest` or an RFC 3339 time; anything else is a client error naming what is expected. */
export function parseReplayFrom(value: unknown): 'earliest' | Date {
  if (value === 'earliest') return value;
  const time = typeof value === 'string' ? parseRfc3339(value) : undefined;
  if (!time) {
    throw new TributaryError(
      `"from" must be "earliest" or an RFC 3339 time such as 2026-01-31T09:00:00Z, got ${JSON.stringify(value)}`,
      { code: 'BAD_REQUEST', statusCode: 400, retriable: false },
    );
  }
  if (time.getTime() > Date.now() + 60_000) {
    throw new TributaryError(`"from" is in the future (${value}): nothing to replay`, {
      code: 'BAD_REQUEST',
      statusCode: 400,
      retriable: false,
    });
  }
  return time;
}

/** A replay request's body, `{"from": "<RFC 3339>|earliest", "dryRun": bool}`, checked; a 400 naming the fault. */
export function parseReplayRequest(body: unknown): Required<ReplayOptions> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new TributaryError('body must be {"from": "<RFC 3339>|earliest", "dryRun": bool}', {
      code: 'BAD_REQUEST',
      statusCode: 400,
      retriable: false,
    });
  }
  const { from, dryRun } = body as { from?: unknown; dryRun?: unknown };
  if (dryRun !== undefined && typeof dryRun !== 'boolean') {
    throw new TributaryError('"dryRun" must be true or false', {
      code: 'BAD_REQUEST',
      statusCode: 400,
      retriable: false,
    });
  }
  return { from: parseReplayFrom(from), dryRun: dryRun === true };
}

/** Replays one Trigger's consumer group (`BrokerLog.replay`) and gives the answer of a replay route. */
export async function replayTrigger(
  log: BrokerLog,
  trigger: TriggerResource,
  { from, dryRun }: Required<ReplayOptions>,
): Promise<ReplayResponse> {
  const broker = { namespace: trigger.namespace, name: trigger.broker };
  const result = await log.replay(broker, trigger.groupId, { from, dryRun });
  return replayResponse(result, trigger, broker, { from, dryRun });
}

/** A replay's answer (what the routes send and `tributary replay` prints): the plan, named and summed. */
export function replayResponse(
  result: ReplayResult,
  trigger: { namespace: string; name: string },
  broker: BrokerRef,
  { from, dryRun }: Required<ReplayOptions>,
): ReplayResponse {
  return {
    ...result,
    trigger: `${trigger.namespace}/${trigger.name}`,
    broker: `${broker.namespace}/${broker.name}`,
    from: from === 'earliest' ? from : from.toISOString(),
    dryRun,
    events: result.partitions.reduce((s, p) => s + p.events, 0),
  };
}

export async function replayRoutes(app: FastifyInstance, options: ReplayRouteOptions): Promise<void> {
  const auth = options.auth
    ? createJwtAuth({ jwtSecret: options.auth.jwtSecret, allowedRoles: REPLAY_ROLES })
    : undefined;
  const logger = options.logger.child({ component: 'replay' });
  const fail = (reply: FastifyReply, status: number, code: string, message: string) =>
    reply.status(status).send({ error: code, code, message });

  app.post<{ Params: { namespace: string; trigger: string }; Body: unknown }>(
    `${REPLAY_PATH_PREFIX}/:namespace/:trigger`,
    async (req: FastifyRequest<{ Params: { namespace: string; trigger: string }; Body: unknown }>, reply) => {
      let actor = 'loopback';
      if (auth) {
        const r = await auth(req.headers.authorization);
        if (!r.ok) {
          if (r.status === 401) reply.header('www-authenticate', 'Bearer');
          const message =
            r.status === 403 && r.message.startsWith('role')
              ? `${r.message.replace('may not publish events', 'may not replay')}: replay needs a service_role token`
              : r.message;
          return fail(reply, r.status, r.code, message);
        }
        actor = r.role;
      } else if (!isLoopback(req.socket.remoteAddress)) {
        return fail(
          reply,
          403,
          'FORBIDDEN',
          'replay without BROKER_JWT_SECRET is only open to loopback clients',
        );
      }
      const { namespace, trigger } = req.params;
      const t = options.triggers.find((x) => x.namespace === namespace && x.name === trigger);
      if (!t) {
        const known = options.triggers.map((x) => `${x.namespace}/${x.name}`);
        return fail(
          reply,
          404,
          'TRIGGER_NOT_FOUND',
          `no Trigger ${namespace}/${trigger} on this broker (known: ${known.join(', ') || 'none'})`,
        );
      }
      try {
        const request = parseReplayRequest(req.body ?? {});
        const response = await replayTrigger(options.log, t, request);
        if (!request.dryRun) {
          logger.info(
            {
              actor,
              trigger: response.trigger,
              from: response.from,
              events: response.events,
              applied: response.applied,
            },
            'trigger replayed',
          );
        }
        return reply.send(response);
      } catch (err) {
        const e = err as { statusCode?: number; code?: string; message?: string };
        if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
          return fail(reply, e.statusCode, e.code ?? 'BAD_REQUEST', e.message ?? String(err));
        }
        logger.warn({ err, trigger: `${namespace}/${trigger}` }, 'replay failed');
        const status = isRetriable(err) ? 503 : 500;
        return fail(
          reply,
          status,
          status === 503 ? 'LOG_UNAVAILABLE' : 'INTERNAL',
          e.message ?? 'replay failed',
        );
      }
    },
  );
}

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}
