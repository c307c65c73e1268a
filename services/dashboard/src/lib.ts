// @tributary/dashboard: the ops dashboard, as a library (`tributary dev` starts it in process).
export { buildDashboardApp, type DashboardApp, type DashboardAppOptions, eventJson } from './app.js';
export { type AuditEntry, AuditLog } from './audit.js';
export {
  checkCrossSite,
  createOperatorAuth,
  type DashboardAuthOptions,
  type Operator,
  SESSION_COOKIE,
} from './auth.js';
export {
  assessSlot,
  type BrokerView,
  type ClusterView,
  Collector,
  type CollectorOptions,
  type FunctionView,
  type MetricsSource,
  type PlatformMetrics,
  type PlatformReading,
  ScrapedMetrics,
  type SlotView,
  type Snapshot,
  type TriggerView,
} from './collector.js';
export {
  type CreateDashboardOptions,
  createDashboard,
  metricsSources,
  type RunningDashboard,
} from './dashboard.js';
export { describeFilter } from './filters.js';
export {
  KAFKA_EXPORTER,
  KNATIVE_KAFKA_BROKER,
  KNATIVE_SERVING,
  kubernetesMetricNames,
  triggerConsumerGroup,
} from './kubernetes-metrics.js';
export { histogramQuantile, parsePrometheusText } from './prometheus.js';
export {
  type DeadLetterSinkRef,
  PrometheusMetrics,
  type PrometheusMetricsOptions,
  parseDeadLetterSinks,
} from './prometheus-source.js';
