export {
  type BrokerResolver,
  createIngress,
  DEFAULT_MAX_BODY_BYTES,
  type EventValidator,
  type IngressErrorBody,
  type IngressOptions,
  ingressRoutes,
  knownBrokers,
} from './app.js';
export { type AuthResult, createJwtAuth, DEFAULT_ALLOWED_ROLES, type JwtAuthOptions } from './auth.js';
export { ARRIVAL_TIME_ATTRIBUTE, DEFAULT_TTL, nextTtl, stampEvent, TTL_ATTRIBUTE } from './ttl.js';
