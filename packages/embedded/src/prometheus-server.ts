// Prometheus and promtool built from source (the Go module github.com/prometheus/prometheus at the version
// pinned in versions.json), once, into the cache; and a Prometheus server on loopback for tests.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError } from '@tributary/client';
import { cacheDir, type Log, seconds, stderrLog } from './paths.js';
import { freePort } from './ports.js';
import { spawnService, tail, waitUntilReady } from './process.js';
import { VERSIONS } from './versions.js';

/** The Go module version (v0.305.0 is Prometheus 3.5.0 LTS), pinned in versions.json. */
export const PROMETHEUS_VERSION = VERSIONS.prometheus.version;
export const PROMETHEUS_MODULE = VERSIONS.prometheus.module;

export interface PrometheusBinaries {
  prometheus: string;
  promtool: string;
}

export function prometheusBinaries(): PrometheusBinaries {
  const dir = join(cacheDir(), 'prometheus', PROMETHEUS_VERSION);
  return { prometheus: join(dir, 'prometheus'), promtool: join(dir, 'promtool') };
}

function run(
  command: string,
  args: string[],
  cwd: string | undefined,
  log: Log,
  what: string,
): Promise<string> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const ticker = setInterval(() => log(`prometheus: still ${what} (${seconds(started)})…`), 30_000);
    child.on('error', (error) => {
      clearInterval(ticker);
      reject(error);
    });
    child.on('exit', (code) => {
      clearInterval(ticker);
      if (code === 0) resolve(output);
      else
        reject(
          new TributaryError(
            `prometheus: \`${command} ${args.join(' ')}\` exited with code ${code}:\n${output.trim().split('\n').slice(-20).join('\n')}`,
            { code: 'EMBEDDED_BUILD_FAILED' },
          ),
        );
    });
  });
}

/**
 * Returns the paths of `prometheus` and `promtool`, building them the first time (several minutes): the
 * module is fetched from the Go module proxy with `go mod download` and both commands are built inside it
 * with `go build` (`go install module@version` refuses a module whose go.mod has replace/exclude
 * directives, as Prometheus' has). The web UI assets are not embedded: the HTTP API is what tests use.
 */
export async function ensurePrometheusBinaries(log: Log = stderrLog): Promise<PrometheusBinaries> {
  const bins = prometheusBinaries();
  if (existsSync(bins.prometheus) && existsSync(bins.promtool)) return bins;
  const probe = spawnSync('go', ['version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0)
    throw new TributaryError(
      'prometheus: `go` is not available: install Go (Prometheus is built from source once)',
      {
        code: 'EMBEDDED_TOOL_MISSING',
      },
    );
  const started = Date.now();
  const parent = join(cacheDir(), 'prometheus');
  mkdirSync(parent, { recursive: true });
  // One build at a time (test files run in parallel workers): the others wait for its binaries.
  const lock = join(parent, `.lock-${PROMETHEUS_VERSION}`);
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (existsSync(bins.prometheus) && existsSync(bins.promtool)) return bins;
      // A lock older than an hour belongs to a build that died.
      if (Date.now() - statSync(lock).mtimeMs > 60 * 60_000) rmSync(lock, { recursive: true, force: true });
      else await sleep(2000);
    }
  }
  if (existsSync(bins.prometheus) && existsSync(bins.promtool)) {
    rmSync(lock, { recursive: true, force: true });
    return bins;
  }
  log(`prometheus: building ${PROMETHEUS_MODULE}@${PROMETHEUS_VERSION} (once; takes several minutes)…`);
  const staging = mkdtempSync(join(parent, `.build-${PROMETHEUS_VERSION}-`));
  try {
    const info = JSON.parse(
      await run(
        'go',
        ['mod', 'download', '-json', `${PROMETHEUS_MODULE}@${PROMETHEUS_VERSION}`],
        staging,
        log,
        'downloading',
      ),
    ) as { Dir?: string; Error?: string };
    if (!info.Dir) {
      throw new TributaryError(`prometheus: go mod download: ${info.Error ?? 'no module directory'}`, {
        code: 'EMBEDDED_BUILD_FAILED',
      });
    }
    await run(
      'go',
      ['build', '-ldflags=-s -w', '-o', `${staging}/`, './cmd/prometheus', './cmd/promtool'],
      info.Dir,
      log,
      'building',
    );
    mkdirSync(join(parent, PROMETHEUS_VERSION), { recursive: true });
    // Same filesystem, so each binary appears atomically and complete; promtool last (the existence check).
    renameSync(join(staging, 'prometheus'), bins.prometheus);
    renameSync(join(staging, 'promtool'), bins.promtool);
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(lock, { recursive: true, force: true });
  }
  log(`prometheus: built in ${seconds(started)}`);
  return bins;
}

export interface PrometheusScrapeJob {
  job: string;
  /** `host:port` targets, e.g. `127.0.0.1:9090`. */
  targets: string[];
  metricsPath?: string;
}

export interface StartPrometheusOptions {
  jobs: PrometheusScrapeJob[];
  /** Default `1s` (tests); production uses 15–30 s. */
  scrapeInterval?: string;
  /** Rule files to load (checked by Prometheus at start). */
  ruleFiles?: string[];
  log?: Log;
  timeoutMs?: number;
}

export interface PrometheusInstance {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  dataDir: string;
  logFile: string;
  stop(): Promise<void>;
}

/** Starts a Prometheus server on 127.0.0.1 (a throwaway TSDB) scraping the given loopback targets. */
export async function startPrometheus(options: StartPrometheusOptions): Promise<PrometheusInstance> {
  const log = options.log ?? stderrLog;
  const started = Date.now();
  const { prometheus } = await ensurePrometheusBinaries(log);
  const dataDir = mkdtempSync(join(tmpdir(), 'tributary-prometheus-'));
  const interval = options.scrapeInterval ?? '1s';
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval },
    ...(options.ruleFiles?.length ? { rule_files: options.ruleFiles } : {}),
    scrape_configs: options.jobs.map((j) => ({
      job_name: j.job,
      metrics_path: j.metricsPath ?? '/metrics',
      static_configs: [{ targets: j.targets }],
    })),
  };
  const configFile = join(dataDir, 'prometheus.yml');
  // JSON is YAML.
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const logFile = join(dataDir, 'prometheus.log');
  const port = await freePort();
  const service = spawnService({
    name: 'prometheus',
    command: prometheus,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dataDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    logFile,
    removeOnExit: dataDir,
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(
      service,
      async () => {
        const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        return res.ok;
      },
      options.timeoutMs ?? 60_000,
    );
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new TributaryError(`${error instanceof Error ? error.message : String(error)}\n${tail(logFile)}`, {
      code: 'EMBEDDED_START_FAILED',
      cause: error,
    });
  }
  log(`prometheus ready on ${url} in ${seconds(started)}`);
  return {
    url,
    port,
    dataDir,
    logFile,
    async stop() {
      await service.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `promtool check rules <files>`: resolves with its output, rejects with it when a rule is invalid. */
export async function promtoolCheckRules(files: string[], log: Log = stderrLog): Promise<string> {
  const { promtool } = await ensurePrometheusBinaries(log);
  const res = spawnSync(promtool, ['check', 'rules', ...files], { encoding: 'utf8' });
  const output = `${res.stdout ?? ''}${res.stderr ?? ''}`;
  if (res.status !== 0) {
    throw new TributaryError(`promtool check rules failed (exit ${res.status}):\n${output}`, {
      code: 'MANIFEST_INVALID',
    });
  }
  return output;
}
