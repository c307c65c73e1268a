export {
  type TestEnv,
  testEnv,
  uniqueBucket,
  uniqueName,
  uniquePublication,
  uniqueSchema,
  uniqueSlot,
  uniqueTopic,
  type WaitForOptions,
  waitFor,
} from './helpers.js';
export {
  ensureKafkaJars,
  KAFKA_VERSION,
  type KafkaInstance,
  kafkaHome,
  type StartKafkaOptions,
  startKafka,
} from './kafka.js';
export {
  type ClusterEgress,
  clusterEgressSocket,
  ensureKubeApiServerBinary,
  etcdBinary,
  KUBERNETES_VERSION,
  type KubeApiServerInstance,
  type KubeResponse,
  killSharedKubeApiServerSync,
  kubeApiServerBinary,
  kubeRequest,
  type StartKubeApiServerOptions,
  serveClusterEgress,
  sharedKubeApiServer,
  startKubeApiServer,
  stopSharedKubeApiServer,
} from './kube-apiserver.js';
export {
  applyAsInstaller,
  CRD_SETS,
  type CrdSet,
  crdsOf,
  createNamespaces,
  installCrds,
  installPrerequisites,
  PREREQUISITE_NAMESPACES,
} from './kube-crds.js';
export {
  type EnsureMinioOptions,
  ensureMinioBinary,
  MINIO_BUILD_PACKAGES,
  MINIO_VERSION,
  type MinioBuildProgress,
  type MinioInstance,
  minioBinary,
  type StartMinioOptions,
  startMinio,
} from './minio.js';
export { cacheDir, type Log } from './paths.js';
export { freePort } from './ports.js';
export {
  connectionUrl,
  POSTGRES_PASSWORD,
  POSTGRES_USER,
  type PostgresInstance,
  type StartPostgresOptions,
  startPostgres,
} from './postgres.js';
export {
  ensurePrometheusBinaries,
  PROMETHEUS_VERSION,
  type PrometheusBinaries,
  type PrometheusInstance,
  type PrometheusScrapeJob,
  prometheusBinaries,
  promtoolCheckRules,
  type StartPrometheusOptions,
  startPrometheus,
} from './prometheus-server.js';
export {
  type RunningServices,
  type ServiceName,
  servicesToStart,
  startServices,
} from './services.js';
export { reuseSharedServices, runningSharedServices } from './shared-services.js';
export { VERSIONS, VERSIONS_FILE, type Versions } from './versions.js';
