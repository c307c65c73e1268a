// MinIO built from source with `go install` at a pinned version, once, into the cache.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TributaryError } from '@tributary/client';
import { cacheDir, type Log, seconds, stderrLog } from './paths.js';
import { freePort } from './ports.js';
import { requireTool, spawnOnFreePort, spawnService, stopAndRemove } from './process.js';
import { VERSIONS } from './versions.js';

/** The MinIO version (a Go pseudo-version of github.com/minio/minio), pinned in versions.json. */
export const MINIO_VERSION = VERSIONS.minio.version;
export const MINIO_MODULE = VERSIONS.minio.module;

/**
 * Go packages in MinIO's build at MINIO_VERSION (`go list -deps .` in its module, standard library included):
 * the denominator of the build's progress. Measure it again when MINIO_VERSION changes; a stale figure only
 * makes the percentage approximate (it is capped at 99 until the build ends).
 */
export const MINIO_BUILD_PACKAGES = 1301;

/** How far a MinIO build is: fetching modules, then compiling (`percent` of MINIO_BUILD_PACKAGES). */
export interface MinioBuildProgress {
  phase: 'downloading' | 'compiling';
  percent: number;
  modules: number;
}

export interface EnsureMinioOptions {
  /** Called when the phase or the whole percentage changes. */
  onProgress?: (progress: MinioBuildProgress) => void;
  /** Stops the build (the go process is killed; the next call starts over, with Go's caches). */
  signal?: AbortSignal;
}

export const MINIO_ACCESS_KEY = 'minioadmin';
export const MINIO_SECRET_KEY = 'minioadmin';

export function minioBinary(): string {
  return join(cacheDir(), 'minio', MINIO_VERSION, 'minio');
}

/**
 * Returns the path of the MinIO binary, building it with `go install` the first time (several minutes).
 * GOBIN points at a temporary directory that is renamed into place when the build succeeds.
 */
export async function ensureMinioBinary(
  log: Log = stderrLog,
  options: EnsureMinioOptions = {},
): Promise<string> {
  const binary = minioBinary();
  if (existsSync(binary)) {
    log(`minio: using cached binary ${binary}`);
    return binary;
  }
  requireTool('minio', 'go', ['version'], 'install Go (MinIO is built from source with `go install` once)');
  const started = Date.now();
  log(`minio: building ${MINIO_MODULE}@${MINIO_VERSION} with go install (once; takes several minutes)…`);
  const parent = join(cacheDir(), 'minio');
  mkdirSync(parent, { recursive: true });
  const staging = mkdtempSync(join(parent, `.build-${MINIO_VERSION}-`));
  const buildLog = join(staging, 'go-install.log');
  try {
    await new Promise<void>((resolve, reject) => {
      // -v names each package as it is compiled: the progress.
      const child = spawn('go', ['install', '-v', `${MINIO_MODULE}@${MINIO_VERSION}`], {
        env: { ...process.env, GOBIN: join(staging, 'bin') },
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(options.signal ? { signal: options.signal } : {}),
      });
      let output = '';
      let downloads = 0;
      let compiled = 0;
      let last = '';
      const onData = (chunk: Buffer) => {
        const text = chunk.toString();
        output += text;
        for (const line of text.split('\n')) {
          if (line.startsWith('go: downloading')) downloads++;
          else if (/^[\w.-]+(\/[\w.~-]+)*$/.test(line.trim())) compiled++;
        }
        const progress: MinioBuildProgress = {
          phase: compiled > 0 ? 'compiling' : 'downloading',
          percent: Math.min(99, Math.floor((compiled / MINIO_BUILD_PACKAGES) * 100)),
          modules: downloads,
        };
        const key = `${progress.phase}:${progress.percent}`;
        if (key !== last) {
          last = key;
          options.onProgress?.(progress);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      const ticker = setInterval(() => {
        log(
          `minio: still building (${seconds(started)}, ${downloads} modules downloaded, ${compiled} packages compiled)…`,
        );
      }, 30_000);
      child.on('error', (error) => {
        clearInterval(ticker);
        reject(error);
      });
      child.on('exit', (code) => {
        clearInterval(ticker);
        writeFileSync(buildLog, output);
        if (code === 0) resolve();
        else
          reject(
            new TributaryError(
              `minio: go install exited with code ${code}:\n${output.trim().split('\n').slice(-20).join('\n')}`,
              { code: 'EMBEDDED_BUILD_FAILED' },
            ),
          );
      });
    });
    mkdirSync(join(parent, MINIO_VERSION), { recursive: true });
    // Same filesystem, so the binary appears atomically and complete.
    renameSync(join(staging, 'bin', 'minio'), binary);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  log(`minio: built in ${seconds(started)}`);
  return binary;
}

export interface StartMinioOptions {
  /** Extra environment, e.g. `MINIO_NOTIFY_WEBHOOK_ENABLE_<ID>=on` and friends for notification tests. */
  env?: Record<string, string>;
  /** Holds `data/` and `minio.log`. Default: a new tmp dir. */
  dataDir?: string;
  /** Keep the data dir on stop(). Default: true when `dataDir` is given, false otherwise. */
  persistent?: boolean;
  /** S3 API port. Default: a free port. */
  port?: number;
  /** Keep the server running after this process exits (`services:up`). */
  background?: boolean;
  log?: Log;
  /** Readiness timeout. Default 60 s. */
  timeoutMs?: number;
}

export interface MinioInstance {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  consolePort: number;
  accessKey: string;
  secretKey: string;
  dataDir: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

async function isLive(endpoint: string): Promise<boolean> {
  const response = await fetch(`${endpoint}/minio/health/live`, { signal: AbortSignal.timeout(2_000) });
  await response.arrayBuffer();
  return response.ok;
}

/** Starts a single-drive MinIO on 127.0.0.1 with root credentials minioadmin/minioadmin. */
export async function startMinio(options: StartMinioOptions = {}): Promise<MinioInstance> {
  const log = options.log ?? stderrLog;
  const started = Date.now();
  const binary = await ensureMinioBinary(log);
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tributary-minio-'));
  const persistent = options.persistent ?? options.dataDir !== undefined;
  mkdirSync(join(dataDir, 'data'), { recursive: true });
  const logFile = join(dataDir, 'minio.log');

  let consolePort = 0;
  const { service: running, port } = await spawnOnFreePort({
    port: options.port,
    spawn: async (port) => {
      consolePort = await freePort();
      return spawnService({
        name: 'minio',
        command: binary,
        args: [
          'server',
          join(dataDir, 'data'),
          '--address',
          `127.0.0.1:${port}`,
          '--console-address',
          `127.0.0.1:${consolePort}`,
        ],
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          MINIO_ROOT_USER: MINIO_ACCESS_KEY,
          MINIO_ROOT_PASSWORD: MINIO_SECRET_KEY,
          MINIO_UPDATE: 'off',
          MINIO_CALLHOME_ENABLE: 'off',
          ...options.env,
        },
        logFile,
        background: options.background,
        ...(persistent ? {} : { removeOnExit: dataDir }),
      });
    },
    ready: (port) => isLive(`http://127.0.0.1:${port}`),
    timeoutMs: options.timeoutMs ?? 60_000,
    portTaken: /address already in use|bind:/i,
    portTakenLines: 20,
    removeOnFailure: persistent ? undefined : dataDir,
  });
  log(`minio ready on 127.0.0.1:${port} in ${seconds(started)} (data ${dataDir})`);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    consolePort,
    accessKey: MINIO_ACCESS_KEY,
    secretKey: MINIO_SECRET_KEY,
    dataDir,
    pid: running.pid,
    logFile,
    stop: stopAndRemove(running, persistent ? undefined : dataDir),
  };
}
