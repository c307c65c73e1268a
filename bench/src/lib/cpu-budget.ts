// The CPU budget of a pipeline on this machine: what each process of the path (the reader, the Postgres
// walsender decoding for it, the Kafka broker storing its records) spends per row, read from /proc in the same
// run, and the rate those costs allow on the machine's cores.
//
// Linux only. Figures are utime + stime (/proc/<pid>/stat fields 14-15, in clock ticks): CPU a process used,
// not wall time, so they hold on a shared machine where wall time measures the scheduler.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { clockTicks } from './proc.js';

/** One thread's CPU so far: its id, its name (`comm`, cut by the kernel to 15 characters) and seconds. */
export interface ThreadCpu {
  tid: number;
  name: string;
  cpuSec: number;
}

/**
 * Parses a /proc/<pid>/stat (or task/<tid>/stat) line: the name, utime + stime in seconds, and stime alone
 * (time in the kernel on the process' behalf: system calls such as a socket send, and what they trigger).
 */
export function parseStat(
  stat: string,
  ticks = clockTicks(),
): { name: string; cpuSec: number; sysSec: number } {
  // The name (field 2) sits in parentheses and may hold spaces or parentheses: cut at the last ')'.
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return {
    name: stat.slice(open + 1, close),
    cpuSec: (Number(fields[11]) + Number(fields[12])) / ticks,
    sysSec: Number(fields[12]) / ticks,
  };
}

/** Every live thread of `pid` with its CPU so far (empty once the process is gone). */
export function threadsOf(pid: number): ThreadCpu[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: ThreadCpu[] = [];
  for (const tid of tids) {
    try {
      const { name, cpuSec } = parseStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      out.push({ tid: Number(tid), name, cpuSec });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/**
 * A thread's family: its name without the trailing number and separator, so that a pool's threads add up
 * ("data-plane-kafka-request-handler-3" -> "data-plane-kafk", cut by the kernel; "GC Thread#1" -> "GC Thread").
 */
export function threadGroup(name: string): string {
  return name.replace(/[\s#_-]*\d+$/, '').replace(/[\s#_-]+$/, '') || name;
}

/**
 * CPU per thread family between two readings of the same process, largest first. A thread born in between
 * counts from zero; one that ended in between is missing from `after` and is left out (the process total,
 * from /proc/<pid>/stat, still holds it).
 */
export function threadDelta(before: ThreadCpu[], after: ThreadCpu[]): { group: string; cpuSec: number }[] {
  const start = new Map(before.map((t) => [t.tid, t.cpuSec]));
  const groups = new Map<string, number>();
  for (const t of after) {
    const d = t.cpuSec - (start.get(t.tid) ?? 0);
    if (d <= 0) continue;
    const g = threadGroup(t.name);
    groups.set(g, (groups.get(g) ?? 0) + d);
  }
  return [...groups.entries()]
    .map(([group, cpuSec]) => ({ group, cpuSec }))
    .sort((a, b) => b.cpuSec - a.cpuSec);
}

/** The whole machine's CPU so far (/proc/stat, first line): busy, idle and stolen seconds, summed over cores. */
export interface MachineCpu {
  busySec: number;
  idleSec: number;
  /** Time the hypervisor ran something else while this VM wanted a core. */
  stealSec: number;
}

export function parseProcStat(text: string, ticks = clockTicks()): MachineCpu {
  const line = text.split('\n').find((l) => l.startsWith('cpu ')) ?? '';
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user already)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number) as number[];
  const n = (v: number | undefined) => (Number.isFinite(v) ? (v as number) : 0);
  return {
    busySec: (n(user) + n(nice) + n(system) + n(irq) + n(softirq)) / ticks,
    idleSec: (n(idle) + n(iowait)) / ticks,
    stealSec: n(steal) / ticks,
  };
}

export function machineCpu(): MachineCpu {
  return parseProcStat(readFileSync('/proc/stat', 'utf8'));
}

/** Cores this process may use (the machine's, or fewer under a CPU set). */
export const cores = (): number => availableParallelism();

/** Finds a socket's inode in /proc/net/tcp{,6} text listening on `port` (state 0A = LISTEN). */
export function listeningInodes(tcpText: string, port: number): number[] {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const out: number[] = [];
  for (const line of tcpText.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    const local = f[1];
    if (!local || f[3] !== '0A') continue;
    if (local.slice(local.lastIndexOf(':') + 1) === hex) out.push(Number(f[9]));
  }
  return out;
}

/**
 * The pid of the local process listening on TCP `port` (e.g. the Kafka broker of KAFKA_BROKERS), found from
 * the socket's inode in /proc/net/tcp and the processes' open descriptors; undefined when none is visible
 * (another user's process without privileges, or a server on another machine).
 */
export function listenerPid(port: number): number | undefined {
  const inodes = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const i of listeningInodes(readFileSync(file, 'utf8'), port)) inodes.add(i);
    } catch {
      // no IPv6
    }
  }
  if (inodes.size === 0) return undefined;
  const wanted = new Set([...inodes].map((i) => `socket:[${i}]`));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (wanted.has(readlinkSync(`/proc/${entry}/fd/${fd}`))) return Number(entry);
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

/**
 * Follows the CPU of one process over a window. The process may end before the window does (a walsender
 * exits with its client): the reading is polled every `intervalMs` and the last one taken while it lived
 * counts, so such a window loses at most one interval of CPU.
 */
export class CpuFollower {
  private readonly cpu0: number;
  private last: number;
  private readonly sys0: number;
  private lastSys: number;
  private readonly threads0: ThreadCpu[];
  private threadsLast: ThreadCpu[];
  private readonly timer: NodeJS.Timeout;
  private stopped:
    | { cpuSec: number; sysSec: number; threads: { group: string; cpuSec: number }[] }
    | undefined;

  /** `fromBirth`: count the process' CPU since it started (a walsender born for this reader), not since now. */
  constructor(
    readonly pid: number,
    opts: { fromBirth?: boolean; intervalMs?: number } = {},
  ) {
    const now = this.read() ?? { cpuSec: 0, sysSec: 0 };
    this.cpu0 = opts.fromBirth ? 0 : now.cpuSec;
    this.sys0 = opts.fromBirth ? 0 : now.sysSec;
    this.last = now.cpuSec;
    this.lastSys = now.sysSec;
    this.threads0 = opts.fromBirth ? [] : threadsOf(pid);
    this.threadsLast = this.threads0;
    this.timer = setInterval(() => this.poll(), opts.intervalMs ?? 10);
    this.timer.unref();
  }

  private read(): { cpuSec: number; sysSec: number } | undefined {
    try {
      return parseStat(readFileSync(`/proc/${this.pid}/stat`, 'utf8'));
    } catch {
      return undefined;
    }
  }

  private poll(): void {
    const now = this.read();
    if (now === undefined) return;
    this.last = now.cpuSec;
    this.lastSys = now.sysSec;
  }

  /** CPU seconds in the window so far. */
  cpuSoFar(): number {
    this.poll();
    return this.last - this.cpu0;
  }

  /** Ends the window: total CPU seconds (of which in the kernel) and CPU per thread family (largest first). */
  stop(): { cpuSec: number; sysSec: number; threads: { group: string; cpuSec: number }[] } {
    if (this.stopped) return this.stopped;
    this.poll();
    const threads = threadsOf(this.pid);
    if (threads.length > 0) this.threadsLast = threads;
    clearInterval(this.timer);
    this.stopped = {
      cpuSec: this.last - this.cpu0,
      sysSec: this.lastSys - this.sys0,
      threads: threadDelta(this.threads0, this.threadsLast),
    };
    return this.stopped;
  }
}

/** CPU per row of each process of the path, µs. */
export interface RowCosts {
  /** The reader (pg_recvlogical, db-events, Debezium Server): the whole process. */
  reader: number;
  /** The reader's busiest thread (a Node.js main thread can use one core at most); undefined if unknown. */
  readerThread?: number;
  /** The walsender decoding the WAL for this reader (one process, so at most one core). */
  walsender: number;
  /** The Kafka broker storing the reader's records (0 for a reader that writes nowhere). */
  kafka: number;
}

export interface Bound {
  /** 1 / walsender µs per row: one process, one core. */
  walsenderCap: number;
  /** cores / (walsender + Kafka + reader µs per row). */
  coresCap: number;
  /** 1 / reader's busiest thread µs per row, when known. */
  threadCap?: number;
  /** The least of the above, rows/s. */
  bound: number;
  /** Which cap it is. */
  boundBy: 'walsender' | 'cores' | 'reader thread';
}

/** The highest rate the machine allows a reader with these costs (rows/s). */
export function boundOf(costs: RowCosts, nCores: number): Bound {
  const walsenderCap = 1e6 / costs.walsender;
  const coresCap = (nCores * 1e6) / (costs.walsender + costs.kafka + costs.reader);
  const threadCap = costs.readerThread !== undefined ? 1e6 / costs.readerThread : undefined;
  let bound = walsenderCap;
  let boundBy: Bound['boundBy'] = 'walsender';
  if (coresCap < bound) {
    bound = coresCap;
    boundBy = 'cores';
  }
  if (threadCap !== undefined && threadCap < bound) {
    bound = threadCap;
    boundBy = 'reader thread';
  }
  return { walsenderCap, coresCap, ...(threadCap !== undefined ? { threadCap } : {}), bound, boundBy };
}

/**
 * The reader CPU per row (µs) that a rate of `rate` rows/s would allow, the walsender and Kafka costing what
 * they cost: the cores leave cores/rate - walsender - kafka; a reader whose work sits on one thread also needs
 * its busiest thread under 1/rate (`threadShare` = that thread's share of the reader's CPU, 1 = all of it).
 * Negative or zero: no reader can do it (the walsender and Kafka alone fill the cores); undefined when the
 * walsender alone cannot go that fast.
 */
export function readerBudget(
  rate: number,
  costs: Pick<RowCosts, 'walsender' | 'kafka'>,
  nCores: number,
  threadShare = 1,
): number | undefined {
  if (1e6 / costs.walsender < rate) return undefined;
  const cores = (nCores * 1e6) / rate - costs.walsender - costs.kafka;
  const thread = 1e6 / rate / threadShare;
  return Math.min(cores, thread);
}
