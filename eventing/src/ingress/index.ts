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
export { DEFAULT_TTL, nextTtl, stampReply, TTL_ATTRIBUTE, ttlExpired, ttlOf } from './ttl.js';
