export * from './catalog/index.js';
export * from './cloudevents/index.js';
export * from './config.js';
export * from './errors.js';
export * from './lifecycle.js';
export * from './logging.js';
export * from './publisher/index.js';
export * from './server.js';
