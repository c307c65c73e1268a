// The dead-letter store: a deadLetterSink endpoint that keeps failed events in Postgres, with list/get/delete
// and redrive back to the broker ingress.
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
  type DeadLetter,
  type DeadLetterPage,
  type DeadLetterQuery,
  type DeadLetterStatus,
  DeadLetterStore,
  type DeadLetterStoreOptions,
  type DeadLetterSummary,
  ERROR_EXTENSIONS,
  isDeadLetterId,
  type RedriveAllResult,
  type RedriveResult,
} from './store.js';
