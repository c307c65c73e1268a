// Entry point `@tributary/eventing/broker`: what the `tributary broker` command needs, until the package
// index re-exports it.
export {
  type BrokerLogConfig,
  createBrokerLog,
  dispatcherTrigger,
  type RunningBroker,
  type StartBrokerOptions,
  startBroker,
  topicSettings,
} from './broker.js';
export { deadLetterTokenSource } from './deadletters/auth.js';
export { type DispatchMetrics, dispatchMetrics } from './metrics/dispatch.js';
export * from './resources/index.js';
