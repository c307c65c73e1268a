import { isIP } from 'node:net';
import { TributaryError } from '@tributary/shared';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

/**
 * Who may use the dashboard (docs/SECURITY.md). Operators prove it with the platform's own credentials:
 *
 * - `jwt` (the default, and the only mode off loopback): an HS256 JWT signed with the platform's JWT secret
 *   (the Supabase / PostgREST secret, BROKER_JWT_SECRET) whose `role` is allowed (default `service_role`,
 *   i.e. the Supabase service key). A browser signs in once with it at `POST /api/session` and then holds a
 *   session cookie (HttpOnly, SameSite=Strict, 8 h) that is good for the dashboard only (`aud`); scripts send
 *   `Authorization: Bearer <token>` on every call.
 * - `local` (`tributary dev`): the dashboard listens on loopback and lets in requests from loopback that name
 *   a loopback host (a page on another site that resolves its name to 127.0.0.1, DNS rebinding, does not).
 *
 * Either way, state-changing calls also pass {@link checkCrossSite}.
 */
export interface DashboardAuthOptions {
  mode: 'jwt' | 'local';
  /**
   * The platform JWT secret: verifies operator tokens and signs sessions, and verifies the dispatchers'
   * tokens at the dead-letter sink. Required in `jwt` mode; without it in `local` mode the sink takes no one.
   */
  jwtSecret?: string | undefined;
  /** `role` claims that make an operator (default `service_role`). */
  roles?: readonly string[] | undefined;
  /** Session cookie lifetime (default 8 h). */
  sessionTtlSeconds?: number | undefined;
}

export const SESSION_COOKIE = 'tributary_dashboard_session';
export const SESSION_AUDIENCE = 'tributary-dashboard';
export const DEFAULT_OPERATOR_ROLES: readonly string[] = ['service_role'];
export const DEFAULT_SESSION_TTL_S = 8 * 3600;

export interface Operator {
  /** Who, for the audit log: the token's `sub` or `email`, else its role; `local` on loopback. */
  actor: string;
  via: 'bearer' | 'session' | 'local';
}

export type OperatorResult = { ok: true; operator: Operator } | { ok: false; message: string };

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (a === '::1') return true;
  return isIP(a) === 4 && a.startsWith('127.');
}

/** True for a Host header naming this machine (`localhost`, `127.0.0.1`, `[::1]`, any port). */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
  return LOOPBACK_NAMES.has(name.toLowerCase()) || (isIP(name) === 4 && name.startsWith('127.'));
}

/** True for a bind address that only this machine can reach. */
export function isLoopbackBind(host: string): boolean {
  return host === 'localhost' || isLoopbackAddress(host);
}

function cookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function actorOf(payload: Record<string, unknown>): string {
  for (const k of ['email', 'sub']) {
    const v = payload[k];
    if (typeof v === 'string' && v !== '') return v.slice(0, 200);
  }
  return typeof payload.role === 'string' ? `role:${payload.role}` : 'unknown';
}

function joseMessage(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'token expired';
  if (err instanceof joseErrors.JOSEError) return `invalid token: ${err.message}`;
  return 'invalid token';
}

export interface OperatorAuth {
  readonly mode: 'jwt' | 'local';
  /** Who the request comes from, or why it is refused. */
  authenticate(req: {
    headers: Record<string, string | string[] | undefined>;
    remoteAddress: string | undefined;
  }): Promise<OperatorResult>;
  /** Verifies an operator token (the sign-in form's) and returns a session cookie value for it. */
  signIn(
    token: string,
  ): Promise<{ ok: true; operator: Operator; session: string } | { ok: false; message: string }>;
  /** `Set-Cookie` for a session (`undefined` clears it). */
  sessionCookie(session: string | undefined, secure: boolean): string;
}

export function createOperatorAuth(options: DashboardAuthOptions): OperatorAuth {
  if (options.mode === 'jwt' && !options.jwtSecret) {
    throw new TributaryError('dashboard auth mode "jwt" needs the platform JWT secret', {
      code: 'CONFIG_INVALID',
    });
  }
  const key = options.jwtSecret ? new TextEncoder().encode(options.jwtSecret) : undefined;
  const roles = new Set(options.roles ?? DEFAULT_OPERATOR_ROLES);
  const ttl = options.sessionTtlSeconds ?? DEFAULT_SESSION_TTL_S;

  const verifyOperatorToken = async (token: string): Promise<OperatorResult> => {
    if (!key) return { ok: false, message: 'no JWT secret is configured: tokens cannot be checked' };
    try {
      const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'] });
      if (typeof payload.role !== 'string' || !roles.has(payload.role)) {
        return {
          ok: false,
          message: `the token's role may not operate the dashboard (allowed: ${[...roles].join(', ')})`,
        };
      }
      return { ok: true, operator: { actor: actorOf(payload), via: 'bearer' } };
    } catch (err) {
      return { ok: false, message: joseMessage(err) };
    }
  };

  return {
    mode: options.mode,
    async authenticate(req) {
      const authorization = req.headers.authorization;
      if (typeof authorization === 'string' && authorization !== '') {
        const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
        if (!m) return { ok: false, message: 'Authorization is not a Bearer token' };
        return verifyOperatorToken(m[1]!);
      }
      const session = cookie(req.headers.cookie as string | undefined, SESSION_COOKIE);
      if (session && key) {
        try {
          const { payload } = await jwtVerify(session, key, {
            algorithms: ['HS256'],
            audience: SESSION_AUDIENCE,
          });
          return { ok: true, operator: { actor: actorOf(payload), via: 'session' } };
        } catch (err) {
          if (options.mode === 'jwt')
            return { ok: false, message: `session: ${joseMessage(err)}; sign in again` };
        }
      }
      if (
        options.mode === 'local' &&
        isLoopbackAddress(req.remoteAddress) &&
        isLoopbackHost(req.headers.host as string | undefined)
      ) {
        return { ok: true, operator: { actor: 'local', via: 'local' } };
      }
      return {
        ok: false,
        message:
          options.mode === 'local'
            ? 'only this machine may use the dashboard (open it as http://127.0.0.1:<port>)'
            : 'sign in with an operator token (a JWT with role service_role, signed with the platform JWT secret)',
      };
    },
    async signIn(token) {
      const r = await verifyOperatorToken(token.trim());
      if (!r.ok || !key) return { ok: false, message: r.ok ? 'no JWT secret is configured' : r.message };
      const session = await new SignJWT({ sub: r.operator.actor, typ: 'session' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setAudience(SESSION_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + ttl)
        .sign(key);
      return { ok: true, operator: { actor: r.operator.actor, via: 'session' }, session };
    },
    sessionCookie(session, secure) {
      const attrs = ['Path=/', 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : [])];
      return session === undefined
        ? `${SESSION_COOKIE}=; Max-Age=0; ${attrs.join('; ')}`
        : `${SESSION_COOKIE}=${session}; Max-Age=${ttl}; ${attrs.join('; ')}`;
    },
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Cross-site request forgery guard for state-changing calls (anything but GET/HEAD/OPTIONS):
 * - an `Origin` header must name this dashboard (scheme-less compare of host:port with `Host`);
 * - `Sec-Fetch-Site`, when the browser sends it, must be `same-origin` or `none`;
 * - a body must be `application/json`, which no form or `text/plain` fetch can send cross-site without a
 *   CORS preflight (which the dashboard never grants).
 * Returns the refusal, or undefined when the call may proceed.
 */
export function checkCrossSite(req: {
  method: string;
  headers: Record<string, string | string[] | undefined>;
}): { status: 403 | 415; code: string; message: string } | undefined {
  if (SAFE_METHODS.has(req.method)) return undefined;
  const origin = req.headers.origin;
  if (typeof origin === 'string') {
    let originHost: string | undefined;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = undefined;
    }
    if (!originHost || originHost !== req.headers.host) {
      return {
        status: 403,
        code: 'CROSS_ORIGIN',
        message: `cross-origin request refused (Origin ${origin.slice(0, 200)} is not this dashboard)`,
      };
    }
  }
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') {
    return {
      status: 403,
      code: 'CROSS_ORIGIN',
      message: `cross-site request refused (Sec-Fetch-Site: ${site})`,
    };
  }
  const hasBody =
    req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0'
      ? true
      : req.headers['transfer-encoding'] !== undefined;
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if ((req.method === 'POST' || hasBody) && type !== 'application/json') {
    return {
      status: 415,
      code: 'JSON_REQUIRED',
      message: 'state-changing calls take Content-Type: application/json (send {} for no options)',
    };
  }
  return undefined;
}
