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
  KUBERNETES_STAGING_MODULES,
  KUBERNETES_VERSION,
  type KubeApiServerInstance,
  type KubeResponse,
  killSharedKubeApiServerSync,
  kubeApiServerBinary,
  kubeApiServerGoMod,
  kubeRequest,
  type StartKubeApiServerOptions,
  serveClusterEgress,
  sharedKubeApiServer,
  startKubeApiServer,
  stopSharedKubeApiServer,
} from './kube-apiserver.js';
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
export { cacheDir, type Log, seconds, stderrLog } from './paths.js';
export { freePort } from './ports.js';
export {
  connectionUrl,
  POSTGRES_EPHEMERAL_SETTINGS,
  POSTGRES_PASSWORD,
  POSTGRES_SETTINGS,
  POSTGRES_USER,
  type PostgresInstance,
  type StartPostgresOptions,
  startPostgres,
} from './postgres.js';
export {
  commandLine,
  isAlive,
  type SpawnedService,
  type SpawnServiceOptions,
  spawnService,
  stopProcessGroup,
  tail,
  waitUntilReady,
} from './process.js';
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
export { VERSIONS, VERSIONS_FILE, type Versions } from './versions.js';
