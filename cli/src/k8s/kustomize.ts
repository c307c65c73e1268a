import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { VERSIONS } from '@tributary/embedded/versions';
import { TributaryError } from '@tributary/shared';

/**
 * The kustomize version, pinned in versions.json (infra/scripts/install-kustomize.sh reads the same file).
 * Built from source with `go install`, once, into the Tributary cache.
 */
export const KUSTOMIZE_VERSION = VERSIONS.kustomize.version;
export const KUSTOMIZE_MODULE = VERSIONS.kustomize.module;

type Env = Record<string, string | undefined>;

/** `$TRIBUTARY_CACHE_DIR`, else `$XDG_CACHE_HOME/tributary`, else `~/.cache/tributary` (as @tributary/testing). */
export function cacheDir(env: Env): string {
  if (env.TRIBUTARY_CACHE_DIR) return env.TRIBUTARY_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'tributary');
}

export function kustomizeBinPath(env: Env): string {
  return join(cacheDir(env), 'kustomize', KUSTOMIZE_VERSION, 'kustomize');
}

/**
 * Path of a kustomize binary: `$KUSTOMIZE` if set, else the pinned version in the cache, built there with
 * `go install` on first use (a few minutes; needs Go and the Go module proxy).
 */
export async function ensureKustomize(env: Env, log: (line: string) => void = () => {}): Promise<string> {
  if (env.KUSTOMIZE) return env.KUSTOMIZE;
  const bin = kustomizeBinPath(env);
  if (existsSync(bin)) return bin;
  await mkdir(dirname(bin), { recursive: true });
  // Build into a private folder and rename: concurrent builds (parallel test workers) never see a
  // half-written binary.
  const gobin = await mkdtemp(join(dirname(bin), '.build-'));
  log(`kustomize: building ${KUSTOMIZE_MODULE}@${KUSTOMIZE_VERSION} with go install (once)…`);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('go', ['install', `${KUSTOMIZE_MODULE}@${KUSTOMIZE_VERSION}`], {
        env: { ...env, GOBIN: gobin, GOFLAGS: '-mod=mod', GO111MODULE: 'on' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-4000);
      });
      child.on('error', (err) =>
        reject(
          new TributaryError(
            `kustomize ${KUSTOMIZE_VERSION} is not in ${bin} and Go could not be run (${err.message}): install Go, run infra/scripts/install-kustomize.sh, or set KUSTOMIZE=/path/to/kustomize`,
            { code: 'KUSTOMIZE_UNAVAILABLE', cause: err },
          ),
        ),
      );
      child.on('exit', (code) =>
        code === 0
          ? resolve()
          : reject(
              new TributaryError(`go install ${KUSTOMIZE_MODULE}@${KUSTOMIZE_VERSION} failed:\n${stderr}`, {
                code: 'KUSTOMIZE_UNAVAILABLE',
              }),
            ),
      );
    });
    await rename(join(gobin, 'kustomize'), bin);
  } finally {
    await rm(gobin, { recursive: true, force: true });
  }
  log(`kustomize: ${bin}`);
  return bin;
}

/** `kustomize build <dir>`: the rendered YAML stream. */
export async function kustomizeBuild(dir: string, env: Env, log?: (line: string) => void): Promise<string> {
  const bin = await ensureKustomize(env, log);
  try {
    const { stdout } = await promisify(execFile)(bin, ['build', dir], {
      maxBuffer: 64 * 1024 * 1024,
      env: env as NodeJS.ProcessEnv,
    });
    return stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new TributaryError(`kustomize build ${dir} failed: ${stderr || (err as Error).message}`, {
      code: 'KUSTOMIZE_BUILD_FAILED',
      cause: err,
    });
  }
}
