import { SignJWT } from 'jose';
import { type JwtRefusal, verifyBearerJwt } from '../ingress/auth.js';

/**
 * Who may write into the dead-letter store: a dispatcher (or an event source recording an unpublishable
 * event), not any caller. They prove it with a short-lived HS256 JWT signed with the platform's JWT secret
 * (BROKER_JWT_SECRET, the Supabase/PostgREST secret), scoped so that it is good for nothing else:
 *
 * - `role: tributary_dispatcher`: no Postgres role of that name exists, so PostgREST refuses it, and the
 *   broker ingress (roles `authenticated`, `service_role`) refuses it too;
 * - `aud: tributary-dead-letters`: the dashboard refuses it as an operator token.
 *
 * This mirrors Knative's OIDC sender identity (a token per sender, with the sink as audience) without an
 * identity provider.
 */
export const DEAD_LETTER_AUDIENCE = 'tributary-dead-letters';
export const DISPATCHER_ROLE = 'tributary_dispatcher';
/** Lifetime of a minted token (renewed at half-life). A leaked one expires within the hour. */
export const DEAD_LETTER_TOKEN_TTL_S = 3600;

/** Mints dead-letter tokens from `secret`, cached and renewed at half their lifetime. */
export function deadLetterTokenSource(
  secret: string,
  opts: { subject?: string; ttlSeconds?: number } = {},
): () => Promise<string> {
  const key = new TextEncoder().encode(secret);
  const ttl = opts.ttlSeconds ?? DEAD_LETTER_TOKEN_TTL_S;
  let cached: { token: string; renewAt: number } | undefined;
  return async () => {
    const now = Date.now();
    if (cached && now < cached.renewAt) return cached.token;
    const token = await new SignJWT({ role: DISPATCHER_ROLE })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setAudience(DEAD_LETTER_AUDIENCE)
      .setSubject(opts.subject ?? 'tributary-broker')
      .setIssuedAt()
      .setExpirationTime(Math.floor(now / 1000) + ttl)
      .sign(key);
    cached = { token, renewAt: now + (ttl * 1000) / 2 };
    return token;
  };
}

export type SinkAuthResult = { ok: true; subject: string } | JwtRefusal;

/**
 * Verifies `Authorization: Bearer <token>` on the dead-letter sink: HS256 with `secret`, not expired,
 * audience {@link DEAD_LETTER_AUDIENCE} and role {@link DISPATCHER_ROLE}.
 */
export function createSinkAuth(
  secret: string,
): (authorization: string | undefined) => Promise<SinkAuthResult> {
  const key = new TextEncoder().encode(secret);
  return async (authorization) => {
    const verified = await verifyBearerJwt(authorization, key, {
      audience: DEAD_LETTER_AUDIENCE,
      prefix: 'the dead-letter sink takes only dispatchers: ',
    });
    if (!verified.ok) return verified;
    const { payload } = verified;
    if (payload.role !== DISPATCHER_ROLE) {
      return {
        ok: false,
        status: 403,
        code: 'FORBIDDEN',
        message: `the dead-letter sink takes only role ${DISPATCHER_ROLE}`,
      };
    }
    return { ok: true, subject: typeof payload.sub === 'string' ? payload.sub : DISPATCHER_ROLE };
  };
}
