import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { Pool } from 'undici';
import { SERVING_METRICS } from '../metrics/names.js';
import type { ServiceSpec } from './service-spec.js';
import type { StemCells } from './stem-cells.js';

/** How to start a function host process (the @tributary/function-runtime main). */
export interface RuntimeCommand {
  /** Executable (default: this Node.js). */
  execPath?: string;
  /** Arguments before nothing else, e.g. ['--import', 'tsx', '.../runtime/src/main.ts']. */
  args: string[];
  /** Extra env for every function process (e.g. K_SINK, DATABASE_URL). */
  env?: Record<string, string>;
  /** Receives each line the function writes (its pino JSON logs); default: written to stdout. */
  onOutput?: (line: string, service: string) => void;
}

interface Instance {
  id: number;
  proc: ChildProcess;
  url?: string;
  pool?: Pool;
  ready: Promise<void>;
  inFlight: number;
  lastActive: number;
  stopping: boolean;
}

export interface ForwardRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ForwardResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ServingMetrics {
  instances: Gauge<'service'>;
  coldStarts: Counter<'service'>;
  coldStartSeconds: Histogram<'service'>;
  requests: Counter<'service' | 'code'>;
}

export function createServingMetrics(registry: Registry): ServingMetrics {
  return {
    instances: new Gauge({
      name: SERVING_METRICS.instances.name,
      help: 'Running function instances (processes) per service',
      labelNames: SERVING_METRICS.instances.labels,
      registers: [registry],
    }),
    coldStarts: new Counter({
      name: SERVING_METRICS.coldStarts.name,
      help: 'Instances started because an event arrived with none (or too few) running',
      labelNames: SERVING_METRICS.coldStarts.labels,
      registers: [registry],
    }),
    coldStartSeconds: new Histogram({
      name: SERVING_METRICS.coldStartSeconds.name,
      help: 'Time from starting an instance until it was ready',
      labelNames: SERVING_METRICS.coldStartSeconds.labels,
      buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10],
      registers: [registry],
    }),
    requests: new Counter({
      name: SERVING_METRICS.requests.name,
      help: 'Requests forwarded to function instances, by status code',
      labelNames: SERVING_METRICS.requests.labels,
      registers: [registry],
    }),
  };
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'host',
  'content-length',
  'upgrade',
]);

/**
 * The local stand-in for Knative Serving's activator + autoscaler for one Knative Service: it starts the
 * function's process when the first request arrives (holding requests meanwhile), adds processes up to
 * max-scale while every instance has `target` requests in flight, and stops instances that stayed idle for
 * the retention period, never going below min-scale.
 */
export class FunctionPool {
  private readonly instances: Instance[] = [];
  private nextId = 1;
  private reaper: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly label: { service: string };

  constructor(
    readonly spec: ServiceSpec,
    private readonly runtime: RuntimeCommand,
    private readonly logger: Logger,
    private readonly metrics?: ServingMetrics,
    private readonly startTimeoutMs = 60_000,
    private readonly stemCells?: StemCells,
  ) {
    this.label = { service: `${spec.namespace}/${spec.name}` };
  }

  /** Starts min-scale instances and the idle reaper. */
  async start(): Promise<void> {
    const starts: Promise<void>[] = [];
    for (let i = 0; i < this.spec.minScale; i++) starts.push(this.spawnInstance(false).ready);
    this.reaper = setInterval(() => this.reap(), Math.min(1000, Math.max(50, this.spec.idleMs / 4)));
    this.reaper.unref();
    await Promise.all(starts);
  }

  /** Current number of instances (starting or ready). */
  get scale(): number {
    return this.instances.filter((i) => !i.stopping).length;
  }

  get inFlight(): number {
    return this.instances.reduce((n, i) => n + i.inFlight, 0);
  }

  /** Forwards one request to an instance, starting or adding one as the scaling rules say. */
  async forward(req: ForwardRequest): Promise<ForwardResponse> {
    if (this.closed) return { status: 503, headers: {}, body: Buffer.from('service is shutting down') };
    const inst = this.pick();
    inst.inFlight++;
    inst.lastActive = Date.now();
    try {
      await inst.ready;
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
      const res = await inst.pool!.request({
        path: '/',
        method: req.method as 'POST',
        headers,
        body: req.body,
      });
      const body = Buffer.from(await res.body.arrayBuffer());
      this.metrics?.requests.inc({ ...this.label, code: String(res.statusCode) });
      return { status: res.statusCode, headers: res.headers, body };
    } catch (err) {
      this.logger.warn(
        { err: (err as Error).message, service: this.spec.name },
        'forwarding to function failed',
      );
      this.metrics?.requests.inc({ ...this.label, code: '503' });
      return {
        status: 503,
        headers: {},
        body: Buffer.from(`function ${this.spec.name} unavailable: ${(err as Error).message}`),
      };
    } finally {
      inst.inFlight--;
      inst.lastActive = Date.now();
    }
  }

  /** Picks the least-loaded live instance, scaling out (or from zero) when all are at target. */
  private pick(): Instance {
    const live = this.instances.filter((i) => !i.stopping);
    let best: Instance | undefined;
    for (const i of live) if (!best || i.inFlight < best.inFlight) best = i;
    if (!best) return this.spawnInstance(true);
    if (best.inFlight >= this.spec.target && live.length < this.spec.maxScale)
      return this.spawnInstance(true);
    return best;
  }

  private spawnInstance(cold: boolean): Instance {
    const id = this.nextId++;
    const started = process.hrtime.bigint();
    const functionEnv = {
      ...this.spec.env,
      FUNCTION_PATH: this.spec.functionPath,
      FUNCTION_NAME: this.spec.name,
      PORT: '0',
      HOST: '127.0.0.1',
      K_SERVICE: this.spec.name,
      // When the activator asked for this instance (epoch ms): the function measures its cold start from
      // here, so it and the activator report the same figure.
      TRIBUTARY_COLD_START_AT: String(performance.timeOrigin + performance.now()),
    };
    const stem = this.stemCells?.take();
    const proc =
      stem ??
      spawn(this.runtime.execPath ?? process.execPath, this.runtime.args, {
        env: { ...process.env, ...this.runtime.env, ...functionEnv },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      });
    if (stem) stem.send({ type: 'load', env: functionEnv });
    const inst: Instance = {
      id,
      proc,
      ready: Promise.resolve(),
      inFlight: 0,
      lastActive: Date.now(),
      stopping: false,
    };
    const log = this.logger.child({ service: this.spec.name, instance: id });
    inst.ready = new Promise<void>((resolveReady, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`did not become ready within ${this.startTimeoutMs} ms`));
        this.stopInstance(inst);
      }, this.startTimeoutMs);
      // The runtime reports its address over IPC once it listens (independent of its log level).
      const onMessage = (m: { type?: string; address?: string; coldStartMs?: number }) => {
        if (inst.url || m?.type !== 'ready' || !m.address) return;
        proc.off('message', onMessage);
        inst.url = m.address;
        inst.pool = new Pool(m.address, { connections: 64, pipelining: 1 });
        clearTimeout(timer);
        // The function's own figure (from TRIBUTARY_COLD_START_AT to listening) when it reports one.
        const secs =
          typeof m.coldStartMs === 'number'
            ? m.coldStartMs / 1000
            : Number(process.hrtime.bigint() - started) / 1e9;
        if (cold) {
          this.metrics?.coldStarts.inc(this.label);
          this.metrics?.coldStartSeconds.observe(this.label, secs);
        }
        log.info(
          { url: inst.url, startMs: Math.round(secs * 1000), cold, prewarmed: stem !== undefined },
          'instance ready',
        );
        resolveReady();
      };
      proc.on('message', onMessage);
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        // Pass the function's own structured log lines through.
        if (this.runtime.onOutput) this.runtime.onOutput(line, this.spec.name);
        else process.stdout.write(`${line}\n`);
      });
      createInterface({ input: proc.stderr! }).on('line', (line) =>
        log.warn({ err: line }, 'function stderr'),
      );
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        const idx = this.instances.indexOf(inst);
        if (idx >= 0) this.instances.splice(idx, 1);
        this.metrics?.instances.set(this.label, this.scale);
        void inst.pool?.close();
        if (!inst.url) reject(new Error(`exited before ready (code ${code}, signal ${signal})`));
        // A clean exit we did not ask for is a Ctrl-C that reached the whole process group: not a warning.
        const clean = code === 0 || signal === 'SIGINT' || signal === 'SIGTERM';
        if (!inst.stopping && !clean) log.warn({ code, signal }, 'instance exited unexpectedly');
        else log.info({ code, signal }, 'instance stopped');
      });
    });
    inst.ready.catch(() => undefined);
    this.instances.push(inst);
    this.metrics?.instances.set(this.label, this.scale);
    log.info({ cold, scale: this.scale }, cold ? 'starting instance (cold start)' : 'starting instance');
    return inst;
  }

  /**
   * Stops every running instance (each drains its in-flight events) so that the next event starts a new
   * one, e.g. after the function's code changed; min-scale instances are started again right away.
   */
  recycle(): void {
    if (this.closed) return;
    for (const inst of [...this.instances]) this.stopInstance(inst);
    for (let i = 0; i < this.spec.minScale; i++) this.spawnInstance(false);
  }

  private reap(): void {
    const now = Date.now();
    const live = this.instances.filter((i) => !i.stopping && i.url);
    let removable = live.length - this.spec.minScale;
    // Newest-idle first is arbitrary; stop the longest-idle instances beyond min-scale.
    for (const inst of [...live].sort((a, b) => a.lastActive - b.lastActive)) {
      if (removable <= 0) break;
      if (inst.inFlight === 0 && now - inst.lastActive >= this.spec.idleMs) {
        this.stopInstance(inst);
        removable--;
      }
    }
  }

  private stopInstance(inst: Instance): void {
    if (inst.stopping) return;
    inst.stopping = true;
    this.metrics?.instances.set(this.label, this.scale);
    inst.proc.kill('SIGTERM');
    setTimeout(() => inst.proc.kill('SIGKILL'), 10_000).unref();
  }

  /** Stops every instance (SIGTERM, so in-flight events drain) and waits for them to exit. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.reaper) clearInterval(this.reaper);
    const exits = this.instances.map(
      (i) =>
        new Promise<void>((r) =>
          i.proc.exitCode !== null || i.proc.signalCode !== null ? r() : i.proc.once('exit', () => r()),
        ),
    );
    for (const i of [...this.instances]) this.stopInstance(i);
    await Promise.all(exits);
  }
}
