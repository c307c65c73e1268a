export * from './auth.js';
export * from './db.js';
export {
  BUILTIN_SCHEMAS,
  catalog,
  EventCatalog,
  type EventDataMap,
  type EventType,
  formatZodIssues,
  isEventType,
  type TypedCloudEvent,
  type ValidateOptions,
  type ValidationResult,
  validateEvent,
} from './registry.js';
export { REDACTED, redactPaths, secret, secretPaths } from './secrets.js';
export * from './storage.js';
export * from './types.js';
