// A real Kubernetes API server for tests: kube-apiserver built once from the Go module proxy, on etcd from
// Debian's `etcd-server` package, with certificates made per run. No nodes, no controllers: tests that need
// a controller's effect (status, endpoints) write it themselves.
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError } from '@tributary/client';
import { cacheDir, type Log, seconds, stderrLog } from './paths.js';
import { freePort } from './ports.js';
import {
  commandLine,
  isAlive,
  requireTool,
  type SpawnedService,
  spawnService,
  stopProcessGroup,
  tail,
  waitUntilReady,
} from './process.js';
import { VERSIONS } from './versions.js';

/** The Kubernetes version infra/ targets, pinned in versions.json. */
export const KUBERNETES_VERSION = VERSIONS.kubernetes.version;
/** The published version of the staging modules (k8s.io/api, k8s.io/apiserver, ...) of that release: v1.X.Y -> v0.X.Y. */
export const KUBERNETES_STAGING_VERSION = KUBERNETES_VERSION.replace(/^v1\./, 'v0.');

/**
 * The staging modules k8s.io/kubernetes replaces with `./staging/src/k8s.io/<name>` in its own go.mod. A
 * module that requires k8s.io/kubernetes must replace each of them with the published version, since the
 * relative paths do not exist in the module zip.
 */
export const KUBERNETES_STAGING_MODULES = [
  'api',
  'apiextensions-apiserver',
  'apimachinery',
  'apiserver',
  'cli-runtime',
  'client-go',
  'cloud-provider',
  'cluster-bootstrap',
  'code-generator',
  'component-base',
  'component-helpers',
  'controller-manager',
  'cri-api',
  'cri-client',
  'csi-translation-lib',
  'dynamic-resource-allocation',
  'endpointslice',
  'externaljwt',
  'kms',
  'kube-aggregator',
  'kube-controller-manager',
  'kube-proxy',
  'kube-scheduler',
  'kubectl',
  'kubelet',
  'metrics',
  'mount-utils',
  'pod-security-admission',
  'sample-apiserver',
  'sample-cli-plugin',
  'sample-controller',
] as const;

export function kubeApiServerBinary(): string {
  return join(cacheDir(), 'kube-apiserver', KUBERNETES_VERSION, 'kube-apiserver');
}

/** The go.mod of the throwaway module that builds kube-apiserver. */
export function kubeApiServerGoMod(): string {
  const replaces = KUBERNETES_STAGING_MODULES.map(
    (name) => `\tk8s.io/${name} => k8s.io/${name} ${KUBERNETES_STAGING_VERSION}`,
  );
  return [
    'module tributary.local/kube-apiserver-build',
    '',
    'go 1.24.0',
    '',
    // What k8s.io/kubernetes itself declares; keeps the runtime's defaults those of its release.
    'godebug default=go1.24',
    '',
    `require k8s.io/kubernetes ${KUBERNETES_VERSION}`,
    '',
    'replace (',
    ...replaces,
    ')',
    '',
  ].join('\n');
}

function runGo(
  args: string[],
  cwd: string,
  log: Log,
  started: number,
  what: string,
  output: { text: string },
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn('go', args, {
      cwd,
      env: { ...process.env, GOFLAGS: '-mod=mod', GOWORK: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let downloads = 0;
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output.text += text;
      downloads += text.split('\n').filter((line) => line.startsWith('go: downloading')).length;
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const ticker = setInterval(() => {
      log(`kube-apiserver: still ${what} (${seconds(started)}, ${downloads} modules downloaded)…`);
    }, 30_000);
    child.on('error', (error) => {
      clearInterval(ticker);
      reject(error);
    });
    child.on('exit', (code) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else {
        const last = output.text.trim().split('\n').slice(-20).join('\n');
        reject(
          new TributaryError(`kube-apiserver: go ${args[0]} exited with code ${code}:\n${last}`, {
            code: 'EMBEDDED_BUILD_FAILED',
          }),
        );
      }
    });
  });
}

/**
 * Returns the path of the kube-apiserver binary, building it the first time (several minutes on 2 cores):
 * a module that requires k8s.io/kubernetes at KUBERNETES_VERSION, replaces its 31 staging modules with
 * their published KUBERNETES_STAGING_VERSION and keeps them with a tools.go, then `go build
 * k8s.io/kubernetes/cmd/kube-apiserver`. The build runs in a temporary directory next to the cache entry,
 * which is renamed into place when it succeeds, so an interrupted build leaves nothing half-made.
 */
export async function ensureKubeApiServerBinary(log: Log = stderrLog): Promise<string> {
  const binary = kubeApiServerBinary();
  if (existsSync(binary)) {
    log(`kube-apiserver: using cached binary ${binary}`);
    return binary;
  }
  requireTool(
    'kube-apiserver',
    'go',
    ['version'],
    'install Go (kube-apiserver is built from the Go module proxy once)',
  );
  const started = Date.now();
  log(
    `kube-apiserver: building k8s.io/kubernetes/cmd/kube-apiserver@${KUBERNETES_VERSION} (once; takes several minutes)…`,
  );
  const parent = join(cacheDir(), 'kube-apiserver');
  mkdirSync(parent, { recursive: true });
  const staging = mkdtempSync(join(parent, `.build-${KUBERNETES_VERSION}-`));
  const output = { text: '' };
  try {
    writeFileSync(join(staging, 'go.mod'), kubeApiServerGoMod());
    writeFileSync(
      join(staging, 'tools.go'),
      '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n',
    );
    await runGo(['mod', 'tidy'], staging, log, started, 'resolving modules', output);
    const minor = KUBERNETES_VERSION.split('.')[1];
    const pkg = 'k8s.io/component-base/version';
    const ldflags = [
      '-s',
      '-w',
      `-X ${pkg}.gitVersion=${KUBERNETES_VERSION}`,
      `-X ${pkg}.gitMajor=1`,
      `-X ${pkg}.gitMinor=${minor}`,
      `-X ${pkg}.gitTreeState=clean`,
    ].join(' ');
    await runGo(
      [
        'build',
        '-trimpath',
        `-ldflags=${ldflags}`,
        '-o',
        join(staging, 'kube-apiserver'),
        'k8s.io/kubernetes/cmd/kube-apiserver',
      ],
      staging,
      log,
      started,
      'compiling',
      output,
    );
    mkdirSync(join(parent, KUBERNETES_VERSION), { recursive: true });
    // Same filesystem, so the binary appears atomically and complete.
    renameSync(join(staging, 'kube-apiserver'), binary);
  } catch (error) {
    writeFileSync(join(parent, `build-${KUBERNETES_VERSION}.log`), output.text);
    throw error;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  log(`kube-apiserver: built in ${seconds(started)}`);
  return binary;
}

/** etcd from PATH (Debian: `apt-get install etcd-server`), or `$ETCD`. */
export function etcdBinary(): string {
  const configured = process.env.ETCD;
  if (configured) return configured;
  const probe = spawnSync('etcd', ['--version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    throw new TributaryError(
      'kube-apiserver: etcd is not installed: `apt-get install etcd-server` (Debian; .ci/run does this), or set ETCD to an etcd 3.4+ binary',
      { code: 'EMBEDDED_TOOL_MISSING' },
    );
  }
  return 'etcd';
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new TributaryError(`kube-apiserver: openssl ${args[0]} failed: ${r.error?.message ?? r.stderr}`, {
      code: r.error ? 'EMBEDDED_TOOL_MISSING' : 'EMBEDDED_START_FAILED',
    });
  }
}

/**
 * A CA, the API server's serving certificate (127.0.0.1 and localhost), an admin client certificate in
 * `system:masters` and the service-account signing key; EC P-256, valid for a day.
 */
export function makeCertificates(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const key = (name: string) =>
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', name], dir);
  key('ca.key');
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-days',
      '1',
      '-subj',
      '/CN=tributary-test-ca',
      '-out',
      'ca.crt',
    ],
    dir,
  );
  const sign = (name: string, subject: string, ext: string) => {
    key(`${name}.key`);
    openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], dir);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '1',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.crt`,
      ],
      dir,
    );
  };
  sign(
    'apiserver',
    '/CN=kube-apiserver',
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n',
  );
  sign(
    'admin',
    '/O=system:masters/CN=tributary-admin',
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
  );
  key('sa.key');
  openssl(['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
}

export interface StartKubeApiServerOptions {
  /** Holds etcd's data, the certificates, the kubeconfig and the logs. Default: a new tmp dir. */
  dataDir?: string;
  /** Keep running after this process exits (the shared instance of a test run). */
  background?: boolean;
  log?: Log;
  /** Readiness timeout. Default 180 s (a loaded 2-core machine). */
  timeoutMs?: number;
  /** Append the pid of each process as it is spawned (so that an interrupted start can be cleaned up). */
  pidsFile?: string;
}

export interface KubeApiServerInstance {
  /** `https://127.0.0.1:<port>` */
  server: string;
  port: number;
  /** A kubeconfig (context `tributary-test`) with the admin client certificate, for KUBECONFIG. */
  kubeconfig: string;
  dataDir: string;
  /** Files of the admin client's TLS identity. */
  tls: { ca: string; cert: string; key: string };
  pids: { etcd: number; apiserver: number };
  logFiles: { etcd: string; apiserver: string };
  /** HTTP request to the API server as the admin (see `kubeRequest`). */
  request(method: string, path: string, body?: unknown, contentType?: string): Promise<KubeResponse>;
  stop(): Promise<void>;
}

export interface KubeResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the response is JSON, else the text. */
  body: unknown;
  text: string;
}

/** One request to the API server with the admin client certificate. Objects in `body` are sent as JSON. */
export function kubeRequest(
  target: Pick<KubeApiServerInstance, 'server' | 'tls'>,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<KubeResponse> {
  const url = new URL(path, target.server);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method,
        ca: readFileSync(target.tls.ca),
        cert: readFileSync(target.tls.cert),
        key: readFileSync(target.tls.key),
        headers: {
          accept: 'application/json',
          ...(payload !== undefined ? { 'content-type': contentType } : {}),
        },
        timeout: 60_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          if (String(res.headers['content-type'] ?? '').includes('json')) {
            try {
              parsed = JSON.parse(text);
            } catch {
              // keep the text
            }
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, text });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

function kubeconfigYaml(server: string, dir: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: tributary-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority: ${join(dir, 'ca.crt')}`,
    'users:',
    '- name: tributary-admin',
    '  user:',
    `    client-certificate: ${join(dir, 'admin.crt')}`,
    `    client-key: ${join(dir, 'admin.key')}`,
    'contexts:',
    '- name: tributary-test',
    '  context:',
    '    cluster: tributary-test',
    '    user: tributary-admin',
    'current-context: tributary-test',
    '',
  ].join('\n');
}

/**
 * The egress the API server uses for "cluster" traffic (its service and pod proxy): HTTP CONNECT through the
 * unix socket `<dataDir>/cluster-egress.sock`. Nothing listens there unless a test does (see
 * `serveClusterEgress`), so a proxy request fails as it would with no route to the pod.
 */
function egressConfig(socket: string): string {
  return [
    'apiVersion: apiserver.k8s.io/v1beta1',
    'kind: EgressSelectorConfiguration',
    'egressSelections:',
    '- name: cluster',
    '  connection:',
    '    proxyProtocol: HTTPConnect',
    '    transport:',
    '      uds:',
    `        udsName: ${socket}`,
    '',
  ].join('\n');
}

interface Started {
  etcd: SpawnedService;
  apiserver: SpawnedService;
  port: number;
}

async function startProcesses(
  binary: string,
  dataDir: string,
  options: StartKubeApiServerOptions,
  log: Log,
): Promise<Started> {
  // A free port can be taken before the process binds it: up to three attempts when that happens.
  for (let attempt = 1; ; attempt++) {
    const started = await startEtcd(dataDir, options, attempt);
    if (!started) continue;
    const { etcd, clientPort } = started;
    log(`kube-apiserver: etcd ready on 127.0.0.1:${clientPort}; starting kube-apiserver…`);
    const served = await startApiServer(binary, dataDir, options, { etcd, clientPort }, attempt);
    if (!served) continue;
    return { etcd, apiserver: served.apiserver, port: served.port };
  }
}

/** Starts etcd on free ports; `undefined` when a port was taken meanwhile (and another attempt is left). */
async function startEtcd(
  dataDir: string,
  options: StartKubeApiServerOptions,
  attempt: number,
): Promise<{ etcd: SpawnedService; clientPort: number } | undefined> {
  rmSync(join(dataDir, 'etcd'), { recursive: true, force: true });
  const clientPort = await freePort();
  const peerPort = await freePort();
  const etcdLog = join(dataDir, 'etcd.log');
  const etcd = spawnService({
    name: 'etcd',
    command: etcdBinary(),
    args: etcdArgs(dataDir, clientPort, peerPort),
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    logFile: etcdLog,
    background: options.background,
  });
  if (options.pidsFile) appendFileSync(options.pidsFile, `${etcd.pid}\n`);
  try {
    await waitUntilReady(
      etcd,
      async () => {
        const r = await fetch(`http://127.0.0.1:${clientPort}/health`, {
          signal: AbortSignal.timeout(2_000),
        });
        return r.ok && ((await r.json()) as { health?: string }).health === 'true';
      },
      60_000,
    );
  } catch (error) {
    if (attempt < 3 && /address already in use/i.test(tail(etcdLog, 20))) return undefined;
    throw error;
  }
  return { etcd, clientPort };
}

/**
 * Starts kube-apiserver on a free port against etcd, and waits until it is ready and has its `default`
 * namespace; `undefined` (etcd stopped) when the port was taken meanwhile and another attempt is left.
 */
async function startApiServer(
  binary: string,
  dataDir: string,
  options: StartKubeApiServerOptions,
  { etcd, clientPort }: { etcd: SpawnedService; clientPort: number },
  attempt: number,
): Promise<{ apiserver: SpawnedService; port: number } | undefined> {
  const certs = join(dataDir, 'pki');
  const timeoutMs = options.timeoutMs ?? 180_000;
  const port = await freePort();
  const apiserverLog = join(dataDir, 'kube-apiserver.log');
  const apiserver = spawnService({
    name: 'kube-apiserver',
    command: binary,
    args: apiServerArgs(dataDir, clientPort, port),
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    logFile: apiserverLog,
    background: options.background,
    stopTimeoutMs: 10_000,
  });
  if (options.pidsFile) appendFileSync(options.pidsFile, `${apiserver.pid}\n`);
  const target = {
    server: `https://127.0.0.1:${port}`,
    tls: { ca: join(certs, 'ca.crt'), cert: join(certs, 'admin.crt'), key: join(certs, 'admin.key') },
  };
  try {
    await waitUntilReady(
      apiserver,
      async () => {
        const ready = await kubeRequest(target, 'GET', '/readyz');
        if (ready.status !== 200) return false;
        // The system namespaces appear shortly after /readyz turns ok.
        return (await kubeRequest(target, 'GET', '/api/v1/namespaces/default')).status === 200;
      },
      timeoutMs,
      250,
    );
  } catch (error) {
    await etcd.stop();
    if (attempt < 3 && /address already in use/i.test(tail(apiserverLog, 30))) return undefined;
    throw error;
  }
  return { apiserver, port };
}

function etcdArgs(dataDir: string, clientPort: number, peerPort: number): string[] {
  return [
    '--name',
    'tributary-test',
    '--data-dir',
    join(dataDir, 'etcd'),
    '--listen-client-urls',
    `http://127.0.0.1:${clientPort}`,
    '--advertise-client-urls',
    `http://127.0.0.1:${clientPort}`,
    '--listen-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-cluster',
    `tributary-test=http://127.0.0.1:${peerPort}`,
    '--logger',
    'zap',
    '--log-level',
    'warn',
  ];
}

function apiServerArgs(dataDir: string, clientPort: number, port: number): string[] {
  const certs = join(dataDir, 'pki');
  return [
    `--etcd-servers=http://127.0.0.1:${clientPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--tls-cert-file=${join(certs, 'apiserver.crt')}`,
    `--tls-private-key-file=${join(certs, 'apiserver.key')}`,
    `--client-ca-file=${join(certs, 'ca.crt')}`,
    `--service-account-key-file=${join(certs, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(certs, 'sa.key')}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    '--service-cluster-ip-range=10.96.0.0/16',
    '--authorization-mode=RBAC',
    // The default reconciler would publish 127.0.0.1 as the `kubernetes` Service's endpoint, which
    // Endpoints validation refuses (loopback), and fail forever.
    '--endpoint-reconciler-type=none',
    `--egress-selector-config-file=${join(dataDir, 'egress.yaml')}`,
    '--profiling=false',
    '--v=1',
  ];
}

/**
 * Starts etcd and kube-apiserver on 127.0.0.1 (free ports), building kube-apiserver first if needed.
 * Returns once `/readyz` is ok and the `default` namespace exists.
 */
export async function startKubeApiServer(
  options: StartKubeApiServerOptions = {},
): Promise<KubeApiServerInstance> {
  const log = options.log ?? stderrLog;
  const binary = await ensureKubeApiServerBinary(log);
  const started = Date.now();
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tributary-kube-apiserver-'));
  mkdirSync(dataDir, { recursive: true });
  makeCertificates(join(dataDir, 'pki'));
  writeFileSync(join(dataDir, 'egress.yaml'), egressConfig(clusterEgressSocket(dataDir)));
  let processes: Started;
  try {
    processes = await startProcesses(binary, dataDir, options, log);
  } catch (error) {
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const { etcd, apiserver, port } = processes;
  const server = `https://127.0.0.1:${port}`;
  const kubeconfig = join(dataDir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigYaml(server, join(dataDir, 'pki')));
  const record: KubeApiServerRecord = {
    server,
    port,
    kubeconfig,
    dataDir,
    pids: { etcd: etcd.pid, apiserver: apiserver.pid },
  };
  log(
    `kube-apiserver ${KUBERNETES_VERSION} ready on 127.0.0.1:${port} in ${seconds(started)} (data ${dataDir})`,
  );
  const instance = fromRecord(record);
  return {
    ...instance,
    async stop() {
      await apiserver.stop();
      await etcd.stop();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Where the API server sends "cluster" egress (service proxy, pod proxy): see `serveClusterEgress`. */
export function clusterEgressSocket(dataDir: string): string {
  return join(dataDir, 'cluster-egress.sock');
}

/** What is needed to find a running instance again from another process. */
export interface KubeApiServerRecord {
  server: string;
  port: number;
  kubeconfig: string;
  dataDir: string;
  pids: { etcd: number; apiserver: number };
}

function fromRecord(record: KubeApiServerRecord): KubeApiServerInstance {
  const pki = join(record.dataDir, 'pki');
  const tls = { ca: join(pki, 'ca.crt'), cert: join(pki, 'admin.crt'), key: join(pki, 'admin.key') };
  return {
    ...record,
    tls,
    logFiles: {
      etcd: join(record.dataDir, 'etcd.log'),
      apiserver: join(record.dataDir, 'kube-apiserver.log'),
    },
    request: (method, path, body, contentType) =>
      kubeRequest({ server: record.server, tls }, method, path, body, contentType),
    // The shared instance belongs to the test run: its global teardown stops it.
    stop: async () => {},
  };
}

const SHARED_STATE = 'kube-apiserver.json';
const SHARED_LOCK = 'kube-apiserver.lock';
const SHARED_PIDS = 'kube-apiserver.pids';

/** Alive, and etcd or kube-apiserver (a recycled pid is never touched). */
function ours(pid: number): boolean {
  if (!isAlive(pid)) return false;
  const cmd = commandLine(pid);
  return cmd === undefined || cmd.includes('etcd') || cmd.includes('kube-apiserver');
}

function recordAlive(record: KubeApiServerRecord): boolean {
  return [record.pids.etcd, record.pids.apiserver].every(ours);
}

/** Every process a shared start spawned in `runDir`, finished or interrupted, apiserver first. */
function spawnedPids(runDir: string): number[] {
  try {
    return readFileSync(join(runDir, SHARED_PIDS), 'utf8').split('\n').filter(Boolean).map(Number).reverse();
  } catch {
    return [];
  }
}

let privateShared: Promise<KubeApiServerInstance> | undefined;

/**
 * The run's shared API server, started on first use: the test files that need Kubernetes share one etcd and
 * kube-apiserver, like the other services, but a run that selects none of them starts neither. The Jest
 * global setup exports `TRIBUTARY_TEST_RUN_DIR`; the first caller (in any worker) starts the servers in the
 * background, records them there under a lock file, and the global teardown stops them. Outside Jest it is
 * a private instance stopped when this process exits.
 */
export async function sharedKubeApiServer(log: Log = stderrLog): Promise<KubeApiServerInstance> {
  const runDir = process.env.TRIBUTARY_TEST_RUN_DIR;
  if (!runDir) {
    privateShared ??= startKubeApiServer({ log });
    return privateShared;
  }
  const lock = join(runDir, SHARED_LOCK);
  const stateFile = join(runDir, SHARED_STATE);
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (Date.now() > deadline) {
        throw new TributaryError(`kube-apiserver: ${lock} held for 30 minutes`, {
          code: 'EMBEDDED_START_FAILED',
        });
      }
      await sleep(250);
    }
  }
  try {
    if (existsSync(stateFile)) {
      const record = JSON.parse(readFileSync(stateFile, 'utf8')) as KubeApiServerRecord;
      if (recordAlive(record)) return fromRecord(record);
    }
    const dataDir = join(runDir, 'kube-apiserver');
    rmSync(dataDir, { recursive: true, force: true });
    const instance = await startKubeApiServer({
      dataDir,
      background: true,
      log,
      pidsFile: join(runDir, SHARED_PIDS),
    });
    const record: KubeApiServerRecord = {
      server: instance.server,
      port: instance.port,
      kubeconfig: instance.kubeconfig,
      dataDir: instance.dataDir,
      pids: instance.pids,
    };
    writeFileSync(stateFile, JSON.stringify(record, null, 2));
    return fromRecord(record);
  } finally {
    unlinkSync(lock);
  }
}

/** For the global teardown: stops the run's shared API server, if a test started one. */
export async function stopSharedKubeApiServer(runDir: string): Promise<boolean> {
  rmSync(join(runDir, SHARED_STATE), { force: true });
  const pids = spawnedPids(runDir).filter(ours);
  for (const pid of pids) await stopProcessGroup(pid, { signal: 'SIGTERM', timeoutMs: 10_000 });
  rmSync(join(runDir, SHARED_PIDS), { force: true });
  return pids.length > 0;
}

/** For a process-exit hook (synchronous): SIGKILLs the run's shared API server and etcd, if any. */
export function killSharedKubeApiServerSync(runDir: string): void {
  for (const pid of spawnedPids(runDir).filter(ours)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export interface ClusterEgress {
  /** The CONNECT targets (`ip:port`) the API server asked for, in order. */
  connects: string[];
  close(): Promise<void>;
}

/**
 * Plays the cluster network for the API server's service and pod proxy: listens on the instance's egress
 * socket and answers each HTTP CONNECT `<ip>:<port>` (an endpoint the API server picked from a Service's
 * Endpoints) by piping to the loopback port `route` maps it to; unmapped targets get 502. One listener per
 * instance at a time.
 */
export async function serveClusterEgress(
  kube: Pick<KubeApiServerInstance, 'dataDir'>,
  route: (target: string) => number | undefined,
): Promise<ClusterEgress> {
  const { createServer } = await import('node:http');
  const { connect } = await import('node:net');
  const socketPath = clusterEgressSocket(kube.dataDir);
  rmSync(socketPath, { force: true });
  const connects: string[] = [];
  const server = createServer((_req, res) => {
    res.writeHead(405).end('CONNECT only\n');
  });
  server.on('connect', (req, client, head) => {
    const target = req.url ?? '';
    connects.push(target);
    const port = route(target);
    if (port === undefined) {
      client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
      return;
    }
    const upstream = connect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    connects,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
