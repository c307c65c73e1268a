export * from './catalog/index.js';
export * from './cloudevents/index.js';
export * from './errors.js';
export * from './publisher/index.js';
export { redactUrl } from './redact-url.js';
