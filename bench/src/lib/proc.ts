// What a benchmarked process costs, read from /proc (Linux): CPU time (utime + stime) and resident memory
// (VmRSS sampled over the run, VmHWM = the kernel's own peak). Each figure is printed with the load average,
// because on a shared machine a throughput without the load beside it cannot be read.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

let ticks: number | undefined;
/** Clock ticks per second (`getconf CLK_TCK`, 100 on Linux x86-64). */
export function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** CPU seconds (user + system) a live process has used, or undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return undefined;
  }
}

/** Resident set and its peak (VmHWM), MiB, of a live process. */
export function memoryMiB(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** The 1-minute load average, two decimals: printed beside every figure. */
export const load1 = (): number => Number(loadavg()[0]?.toFixed(2));
export const loadAverages = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

export interface MeterReading {
  /** CPU seconds used between start() and stop(). */
  cpuSec: number;
  /** The process' peak RSS (VmHWM) since it started, MiB. */
  peakRssMiB: number;
  /** RSS samples over the metered window, MiB, with their time (s since start()). */
  samples: { t: number; rssMiB: number }[];
}

/**
 * Samples a process every `intervalMs` (RSS) and reads its CPU time at start and stop. Call stop() while the
 * process still runs (before killing it), so its last CPU figure is read.
 */
export class ProcessMeter {
  private readonly cpu0: number;
  private readonly t0 = performance.now();
  private readonly samples: { t: number; rssMiB: number }[] = [];
  private lastHwm = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly pid: number,
    intervalMs = 100,
  ) {
    this.cpu0 = cpuSeconds(pid) ?? 0;
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    const m = memoryMiB(this.pid);
    if (!m) return;
    this.lastHwm = Math.max(this.lastHwm, m.hwm);
    this.samples.push({ t: (performance.now() - this.t0) / 1000, rssMiB: m.rss });
  }

  /** CPU since start, as far as now. */
  cpuSoFar(): number {
    return (cpuSeconds(this.pid) ?? this.cpu0) - this.cpu0;
  }

  stop(): MeterReading {
    this.sample();
    clearInterval(this.timer);
    return { cpuSec: this.cpuSoFar(), peakRssMiB: this.lastHwm, samples: this.samples };
  }
}

/**
 * RSS over a drain: the samples taken while `from`..`to` (seconds since the meter started), cut in tenths;
 * returns each tenth's median, and max/min over the tenths after the first (start-up excluded).
 */
export function rssProfile(
  samples: { t: number; rssMiB: number }[],
  from: number,
  to: number,
): { tenths: number[]; spread: number } {
  const tenths: number[] = [];
  for (let i = 0; i < 10; i++) {
    const a = from + ((to - from) * i) / 10;
    const b = from + ((to - from) * (i + 1)) / 10;
    const inside = samples
      .filter((s) => s.t >= a && s.t < b)
      .map((s) => s.rssMiB)
      .sort((x, y) => x - y);
    if (inside.length > 0) tenths.push(Math.round(inside[Math.floor(inside.length / 2)] as number));
  }
  const steady = tenths.slice(1);
  const spread = steady.length > 0 ? Math.max(...steady) / Math.min(...steady) : Number.NaN;
  return { tenths, spread: Number(spread.toFixed(3)) };
}

/** Runs `argv` under GNU time when it is installed: exact CPU and peak RSS of a short-lived child. */
export function timeWrapped(argv: string[], outFile: string): string[] {
  try {
    readFileSync('/usr/bin/time');
  } catch {
    return argv;
  }
  return ['/usr/bin/time', '-f', '%U %S %M', '-o', outFile, ...argv];
}

/** Reads what {@link timeWrapped} wrote: CPU seconds and peak RSS (MiB), or undefined without GNU time. */
export function readTimeFile(outFile: string): { cpuSec: number; peakRssMiB: number } | undefined {
  try {
    const [user, sys, maxKib] = readFileSync(outFile, 'utf8').trim().split('\n').at(-1)?.split(' ') ?? [];
    return { cpuSec: Number(user) + Number(sys), peakRssMiB: Number(maxKib) / 1024 };
  } catch {
    return undefined;
  }
}
