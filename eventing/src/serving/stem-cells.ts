import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from 'pino';
import type { RuntimeCommand } from './function-pool.js';

/**
 * Prewarmed, function-less runtime processes ("stem cells", as OpenWhisk's prewarmed containers): Node.js,
 * the function runtime and its dependencies are already loaded, but no function code is. A cold start
 * takes one and tells it which function to load, so it pays only the function's own import and init.
 * Scale to zero still holds for every function: an idle function has no process; only the shared spare
 * (one by default) stays up. A new spare is started in the background after each take.
 */
export class StemCells {
  private readonly spares: ChildProcess[] = [];
  private starting = 0;
  private closed = false;

  constructor(
    private readonly runtime: RuntimeCommand,
    private readonly logger: Logger,
    private readonly size = 1,
  ) {}

  /** Spares ready to take right now. */
  get ready(): number {
    return this.spares.length;
  }

  /** Starts spares up to `size`. */
  fill(): void {
    while (!this.closed && this.spares.length + this.starting < this.size) this.spawnSpare();
  }

  /** A ready spare, or undefined when none is ready (the caller then starts a process from scratch). */
  take(): ChildProcess | undefined {
    const proc = this.spares.shift();
    this.fill();
    return proc;
  }

  private spawnSpare(): void {
    this.starting++;
    const proc = spawn(this.runtime.execPath ?? process.execPath, this.runtime.args, {
      env: { ...process.env, ...this.runtime.env, TRIBUTARY_STEM_CELL: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let ready = false;
    proc.once('message', (m: { type?: string }) => {
      if (m?.type !== 'stem-ready') return;
      ready = true;
      this.starting--;
      if (this.closed) {
        proc.kill('SIGTERM');
        return;
      }
      this.spares.push(proc);
    });
    proc.once('exit', (code, signal) => {
      const idx = this.spares.indexOf(proc);
      if (idx >= 0) this.spares.splice(idx, 1);
      if (!ready) {
        this.starting--;
        const clean = code === 0 || signal === 'SIGINT' || signal === 'SIGTERM';
        if (!this.closed && !clean)
          this.logger.warn({ code, signal }, 'prewarmed runtime exited before it was ready');
      }
    });
    proc.stderr?.resume();
  }

  async close(): Promise<void> {
    this.closed = true;
    const procs = this.spares.splice(0);
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((r) => {
            if (p.exitCode !== null || p.signalCode !== null) return r();
            p.once('exit', () => r());
            p.kill('SIGTERM');
          }),
      ),
    );
  }
}
