import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';

/** Every service process the suite started, SIGKILLed if the suite itself exits without stopping them. */
const all = new Set<NodeService>();
process.on('exit', () => {
  for (const s of all) s.child?.kill('SIGKILL');
});

/**
 * One of the platform's own Node.js services (a broker, db-events, a function), run from source with tsx as
 * `tributary dev` runs them, its output appended to `<logDir>/<name>.log`.
 */
export class NodeService {
  child: ChildProcess | undefined;
  /** Date.now() of the last (re)start. */
  startedAt = 0;

  constructor(
    readonly name: string,
    private readonly entry: string,
    private readonly args: string[],
    private readonly env: Record<string, string>,
    private readonly repoRoot: string,
    private readonly logDir: string,
  ) {}

  start(): void {
    const fd = openSync(join(this.logDir, `${this.name}.log`), 'a');
    try {
      this.child = spawn(
        process.execPath,
        ['--conditions=development', '--import', 'tsx', this.entry, ...this.args],
        {
          cwd: this.repoRoot,
          env: { ...process.env, NODE_OPTIONS: '', ...this.env },
          stdio: ['ignore', fd, fd],
        },
      );
    } finally {
      closeSync(fd);
    }
    this.startedAt = Date.now();
    all.add(this);
  }

  get running(): boolean {
    const c = this.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** kill -9, and wait until the process is gone. */
  async kill9(): Promise<void> {
    const c = this.child;
    if (!c || !this.running) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM (clean shutdown), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    const c = this.child;
    all.delete(this);
    if (!c || !this.running) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

/** Polls `probe` until it resolves true; returns Date.now() then, or undefined after `timeoutMs`. */
export async function until(
  probe: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 25,
): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return Date.now();
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return undefined;
}

/** True when `url` answers 2xx within a second. */
export async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
