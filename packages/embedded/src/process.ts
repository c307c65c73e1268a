import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError } from '@tributary/client';
import { freePort } from './ports.js';

export interface SpawnServiceOptions {
  /** Short name used in errors, e.g. `postgres`. */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr are appended to this file (kept for debugging). */
  logFile: string;
  /** Run as this user/group (only when this process is root). */
  uid?: number;
  gid?: number;
  /** Signal that asks the server to shut down cleanly. Default SIGTERM. */
  stopSignal?: NodeJS.Signals;
  /** How long stop() waits for a clean exit before SIGKILLing the process group. Default 20 s. */
  stopTimeoutMs?: number;
  /**
   * Keep running after this Node process exits (`pnpm services:up`). Otherwise the process group is
   * SIGKILLed when this process exits without having called stop(), so no server is orphaned.
   */
  background?: boolean;
  /** A throwaway data dir to delete in that process-exit hook too (not used with `background`). */
  removeOnExit?: string;
}

export interface SpawnedService {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves with the exit code (or null when killed by a signal) once the server process exits. */
  exited: Promise<number | null>;
  /** Clean stop with the configured signal, then SIGKILL for the whole process group. Idempotent. */
  stop(): Promise<void>;
}

/** Process groups (and their throwaway data dirs) to kill if this process exits without stopping them. */
const exitHookPids = new Map<number, string | undefined>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of exitHookPids.keys()) killGroup(pid, 'SIGKILL');
    for (const dir of exitHookPids.values()) {
      if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    }
  });
}

/**
 * Spawns a server in its own process group (so stop() can kill everything it forked) with its output
 * appended to `logFile`.
 */
export function spawnService(options: SpawnServiceOptions): SpawnedService {
  const fd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
      ...(options.uid !== undefined ? { uid: options.uid } : {}),
      ...(options.gid !== undefined ? { gid: options.gid } : {}),
    });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  const pid = child.pid;
  if (pid === undefined) {
    throw new TributaryError(`${options.name}: could not start ${options.command} (see ${options.logFile})`, {
      code: 'EMBEDDED_START_FAILED',
    });
  }
  if (options.background) {
    child.unref();
  } else {
    installExitHook();
    exitHookPids.set(pid, options.removeOnExit);
    void exited.then(() => exitHookPids.delete(pid));
  }
  let stopping: Promise<void> | undefined;
  return {
    name: options.name,
    pid,
    logFile: options.logFile,
    exited,
    stop() {
      stopping ??= stopProcessGroup(pid, {
        signal: options.stopSignal ?? 'SIGTERM',
        timeoutMs: options.stopTimeoutMs ?? 20_000,
      }).finally(() => exitHookPids.delete(pid));
      return stopping;
    },
  };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** True while `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised command name: "123 (postgres) S ..."
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no procfs (macOS): trust kill(0)
  }
}

/** The command line of a running process, or undefined (no procfs, or no such process). */
export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

/**
 * Sends `signal` to the process group leader `pid`, waits up to `timeoutMs` for it to exit, then SIGKILLs
 * whatever is left in its process group.
 */
export async function stopProcessGroup(
  pid: number,
  { signal, timeoutMs }: { signal: NodeJS.Signals; timeoutMs: number },
): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  killGroup(pid, 'SIGKILL');
  const killDeadline = Date.now() + 5_000;
  while (isAlive(pid) && Date.now() < killDeadline) await sleep(20);
}

/** The last `lines` lines of a log file, for error messages. */
export function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Polls `check` until it resolves truthy; fails early with the log tail when the process exits, and after
 * `timeoutMs` with the last error.
 */
export async function waitUntilReady(
  service: SpawnedService,
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  let exitCode: number | null | undefined;
  void service.exited.then((code) => {
    exitCode = code;
  });
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (true) {
    if (exitCode !== undefined) {
      throw new TributaryError(
        `${service.name} exited with code ${exitCode} while starting; log ${service.logFile}:\n${tail(service.logFile)}`,
        { code: 'EMBEDDED_START_FAILED' },
      );
    }
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      await service.stop();
      const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new TributaryError(
        `${service.name} was not ready after ${timeoutMs} ms${reason}; log ${service.logFile}:\n${tail(service.logFile)}`,
        { code: 'EMBEDDED_START_FAILED', cause: lastError },
      );
    }
    await sleep(intervalMs);
  }
}

export interface SpawnOnFreePortOptions {
  /** A fixed port: one attempt. Without it, a free port, and another when the server finds it taken. */
  port?: number | undefined;
  /** Starts the server on `port` (called once per attempt). */
  spawn: (port: number) => SpawnedService | Promise<SpawnedService>;
  /** Resolves true once the server on `port` answers. */
  ready: (port: number) => Promise<boolean>;
  timeoutMs: number;
  intervalMs?: number | undefined;
  /** What the server logs when its port is taken, and how many lines at the end of its log to look in. */
  portTaken: RegExp;
  portTakenLines: number;
  /** A throwaway data dir, removed when the server does not start. */
  removeOnFailure?: string | undefined;
}

/**
 * Spawns a server and waits until it is ready. A free port can be taken between freePort() and the server's
 * bind(): when its log says so, tries another free port, three attempts in all (one with a fixed `port`).
 */
export async function spawnOnFreePort(
  options: SpawnOnFreePortOptions,
): Promise<{ service: SpawnedService; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const service = await options.spawn(port);
    try {
      await waitUntilReady(service, () => options.ready(port), options.timeoutMs, options.intervalMs);
      return { service, port };
    } catch (error) {
      const portTaken = options.portTaken.test(tail(service.logFile, options.portTakenLines));
      if (options.port !== undefined || attempt >= 3 || !portTaken) {
        if (options.removeOnFailure) rmSync(options.removeOnFailure, { recursive: true, force: true });
        throw error;
      }
    }
  }
}

/** stop() of a started server: stops it, then removes its throwaway data dir (`removeDir`, when given). */
export function stopAndRemove(service: SpawnedService, removeDir: string | undefined): () => Promise<void> {
  return async () => {
    await service.stop();
    if (removeDir) rmSync(removeDir, { recursive: true, force: true });
  };
}

/** Fails, naming what to install (`hint`), unless `command args` runs and exits 0; `name` is the caller's server. */
export function requireTool(name: string, command: string, args: string[], hint: string): void {
  const probe = spawnSync(command, args, { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    throw new TributaryError(`${name}: \`${command}\` is not available: ${hint}`, {
      code: 'EMBEDDED_TOOL_MISSING',
    });
  }
}
