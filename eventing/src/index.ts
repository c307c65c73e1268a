// @tributary/eventing: the broker data plane (ingress, log backends, Trigger dispatch, filters, CESQL,
// Knative resource loading) and local Knative Serving (activator + scale to zero).
export * from './broker-entry.js';
export * from './cesql/index.js';
export * from './deadletters/index.js';
export * from './dispatcher/index.js';
export * from './filters/index.js';
export * from './ingress/index.js';
export * from './log/index.js';
export * from './metrics/names.js';
export * from './replay/index.js';
export * from './serving/index.js';
export * from './tail/index.js';
