import type { FastifyInstance } from 'fastify';
import { type AuditLog, auditedAction, redactDeadLetter } from './audit.js';
import { checkCrossSite, type OperatorAuth } from './auth.js';

/**
 * Routes anyone may call: the page shell (it holds no data), health, metrics, the sign-in endpoint, and the
 * dead-letter sink (which checks dispatcher tokens itself).
 */
const PUBLIC_ROUTES = new Set([
  '/',
  '/app.js',
  '/style.css',
  '/healthz',
  '/readyz',
  '/metrics',
  '/api/session',
  '/dead-letters/:namespace/:broker',
]);

/**
 * Every call but the page's static files, health, metrics and sign-in needs an operator; the dead-letter
 * sink has its own (dispatcher) authentication. State-changing calls must also come from this origin.
 */
export function requireOperator(app: FastifyInstance, auth: OperatorAuth): void {
  app.addHook('onRequest', async (req, reply) => {
    // By matched route, not by raw path: an encoded or dotted variant of a public path matches no public
    // route, so it needs an operator like everything else (unknown paths included).
    const route = req.routeOptions.url;
    if (route !== undefined && PUBLIC_ROUTES.has(route)) return;
    const r = await auth.authenticate({ headers: req.headers, remoteAddress: req.socket.remoteAddress });
    if (!r.ok) {
      void reply.header('www-authenticate', 'Bearer realm="tributary-dashboard"');
      return reply.status(401).send({ error: 'Unauthorized', code: 'UNAUTHORIZED', message: r.message });
    }
    req.operator = r.operator;
    const refused = checkCrossSite(req);
    if (refused) {
      req.log.warn({ actor: r.operator.actor, origin: req.headers.origin, code: refused.code }, 'refused');
      return reply
        .status(refused.status)
        .send({ error: refused.status === 403 ? 'Forbidden' : 'Unsupported Media Type', ...refused });
    }
  });
}

/** Delete and redrive are audit-logged with who and what; dead-letter bodies are redacted like the tail. */
export function auditActions(app: FastifyInstance, audit: AuditLog): void {
  app.addHook('onSend', async (req, reply, payload) => {
    const route = req.routeOptions.url;
    const action = auditedAction(req.method, route);
    if (action) audit.record(action, req, reply.statusCode, payload);
    if (req.method === 'GET' && route === '/api/dead-letters/:id' && reply.statusCode === 200) {
      const reveal = (req.query as { reveal?: string }).reveal === 'secrets';
      if (reveal) audit.record('dead-letters.reveal-secrets', req, reply.statusCode, undefined);
      else if (typeof payload === 'string') return redactDeadLetter(payload);
    }
    return payload;
  });
}

/** `/api/session` (who am I, sign in, sign out) and `/api/audit` (the audit log). */
export function registerSessionRoutes(app: FastifyInstance, auth: OperatorAuth, audit: AuditLog): void {
  app.get('/api/session', async (req, reply) => {
    const r = await auth.authenticate({ headers: req.headers, remoteAddress: req.socket.remoteAddress });
    if (!r.ok)
      return reply.status(401).send({ error: 'Unauthorized', code: 'UNAUTHORIZED', message: r.message });
    return { actor: r.operator.actor, via: r.operator.via, mode: auth.mode };
  });
  app.post<{ Body: { token?: unknown } | undefined }>('/api/session', async (req, reply) => {
    const refused = checkCrossSite(req);
    if (refused) return reply.status(refused.status).send({ error: 'Forbidden', ...refused });
    const token = req.body?.token;
    if (typeof token !== 'string' || token === '') {
      return reply.status(400).send({
        error: 'Bad Request',
        code: 'TOKEN_REQUIRED',
        message: 'body must be {"token": "<operator JWT>"}',
      });
    }
    const r = await auth.signIn(token);
    if (!r.ok) {
      req.log.warn({ ip: req.ip }, 'dashboard sign-in refused');
      return reply.status(401).send({ error: 'Unauthorized', code: 'UNAUTHORIZED', message: r.message });
    }
    audit.record('session.sign-in', Object.assign(req, { operator: r.operator }), 200, undefined);
    return reply
      .header('set-cookie', auth.sessionCookie(r.session, req.protocol === 'https'))
      .send({ actor: r.operator.actor });
  });
  app.delete('/api/session', async (req, reply) => {
    const refused = checkCrossSite(req);
    if (refused) return reply.status(refused.status).send({ error: 'Forbidden', ...refused });
    return reply
      .header('set-cookie', auth.sessionCookie(undefined, req.protocol === 'https'))
      .status(204)
      .send();
  });
  app.get('/api/audit', async () => ({ entries: audit.entries() }));
}
