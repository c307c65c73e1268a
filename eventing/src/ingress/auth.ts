import { type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';

export interface JwtAuthOptions {
  /** HS256 secret (`BROKER_JWT_SECRET`), the same one PostgREST / Supabase sign their tokens with. */
  jwtSecret: string;
  /** Values of the `role` claim allowed to publish (default {@link DEFAULT_ALLOWED_ROLES}). */
  allowedRoles?: readonly string[];
}

/**
 * Roles that may publish when none are configured: Supabase's signed-in users and the service role, not
 * `anon` (an anonymous key would let anyone publish).
 */
export const DEFAULT_ALLOWED_ROLES: readonly string[] = ['authenticated', 'service_role'];

/** A failed check of a Bearer JWT: 401 when missing or invalid, 403 when valid but not allowed. */
export type JwtRefusal = {
  ok: false;
  status: 401 | 403;
  code: 'UNAUTHORIZED' | 'FORBIDDEN';
  message: string;
};

export type AuthResult = { ok: true; role: string } | JwtRefusal;

/**
 * Reads `Authorization: Bearer <jwt>` and verifies it as PostgREST does: HS256 signature with the shared
 * secret, `exp` / `nbf` (and `aud` when given) checked. Answers the token's claims, or a 401 whose message
 * starts with `prefix` when the header is missing or not a Bearer token.
 */
export async function verifyBearerJwt(
  authorization: string | undefined,
  key: Uint8Array,
  { audience, prefix = '' }: { audience?: string; prefix?: string } = {},
): Promise<{ ok: true; payload: JWTPayload } | JwtRefusal> {
  const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  if (!match) {
    return {
      ok: false,
      status: 401,
      code: 'UNAUTHORIZED',
      message: `${prefix}${authorization ? 'Authorization header is not a Bearer token' : 'missing Bearer token'}`,
    };
  }
  try {
    const { payload } = await jwtVerify(match[1]!, key, {
      algorithms: ['HS256'],
      ...(audience ? { audience } : {}),
    });
    return { ok: true, payload };
  } catch (err) {
    const message =
      err instanceof joseErrors.JWTExpired
        ? 'JWT expired'
        : err instanceof joseErrors.JOSEError
          ? `invalid JWT: ${err.message}`
          : 'invalid JWT';
    return { ok: false, status: 401, code: 'UNAUTHORIZED', message };
  }
}

/**
 * Verifies `Authorization: Bearer <jwt>` as PostgREST does: HS256 signature with the shared secret, `exp` /
 * `nbf` checked, and the `role` claim naming the database role. 401 when the token is missing or invalid,
 * 403 when it is valid but its role is missing or not allowed.
 */
export function createJwtAuth(
  options: JwtAuthOptions,
): (authorization: string | undefined) => Promise<AuthResult> {
  const key = new TextEncoder().encode(options.jwtSecret);
  const allowed = new Set(options.allowedRoles ?? DEFAULT_ALLOWED_ROLES);
  return async (authorization) => {
    const verified = await verifyBearerJwt(authorization, key);
    if (!verified.ok) return verified;
    const role = verified.payload.role;
    if (typeof role !== 'string' || role === '') {
      return { ok: false, status: 403, code: 'FORBIDDEN', message: 'the token has no role claim' };
    }
    if (!allowed.has(role)) {
      return { ok: false, status: 403, code: 'FORBIDDEN', message: `role "${role}" may not publish events` };
    }
    return { ok: true, role };
  };
}
