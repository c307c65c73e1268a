// The lean client (catalog, CloudEvents bindings, errors, publisher SDK), so that services import one package.
export * from '@tributary/client';
export * from './config.js';
export * from './json-depth.js';
export * from './kafka-compat.js';
export * from './kafka-partitioner.js';
export * from './lifecycle.js';
export * from './logging.js';
export * from './metric-vocabulary.js';
export * from './pg.js';
export * from './server.js';
