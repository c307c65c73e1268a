import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ChildServiceOptions {
  name: string;
  /** Arguments for this Node.js (e.g. ['--import', 'tsx', 'services/db-events/src/index.ts']). */
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Each output line (stdout and stderr). */
  onLine: (line: string, name: string) => void;
  /** Called if the process exits while not being stopped. */
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

/** A platform service running as its own process, configured by env alone (as on Kubernetes). */
export class ChildService {
  private proc: ChildProcess | undefined;
  private stopping = false;

  constructor(readonly options: ChildServiceOptions) {}

  start(): void {
    const o = this.options;
    this.proc = spawn(process.execPath, o.args, {
      cwd: o.cwd,
      env: { ...process.env, ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    createInterface({ input: this.proc.stdout! }).on('line', (l) => o.onLine(l, o.name));
    createInterface({ input: this.proc.stderr! }).on('line', (l) => o.onLine(l, o.name));
    this.proc.once('exit', (code, signal) => {
      if (!this.stopping) o.onExit?.(code, signal);
    });
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** True from `start()` until the process exits (a pid stays set after exit, so it cannot tell). */
  get running(): boolean {
    const p = this.proc;
    return p?.pid !== undefined && p.exitCode === null && p.signalCode === null;
  }

  /** SIGTERM (the service drains and closes in order), SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    this.stopping = true;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

/** Polls `url` until it answers 2xx or `timeoutMs` passes. */
export async function waitReady(
  url: string,
  timeoutMs: number,
  isAlive: () => boolean = () => true,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) return false;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}
