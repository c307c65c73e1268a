// The dead-letter store: a deadLetterSink endpoint that keeps failed events in Postgres, with list/get/delete
// and redrive back to the broker ingress.

export type {
  DeadLetter,
  DeadLetterPage,
  DeadLetterStatus,
  DeadLetterSummary,
  RedriveAllResult,
  RedriveResult,
} from '../wire.js';
export {
  createSinkAuth,
  DEAD_LETTER_AUDIENCE,
  DEAD_LETTER_TOKEN_TTL_S,
  DISPATCHER_ROLE,
  deadLetterTokenSource,
  type SinkAuthResult,
} from './auth.js';
export { type DeadLetterRoutesOptions, deadLetterRoutes } from './routes.js';
export {
  createDeadLetterStore,
  type DeadLetterQuery,
  DeadLetterStore,
  type DeadLetterStoreOptions,
  ERROR_EXTENSIONS,
  isDeadLetterId,
} from './store.js';
