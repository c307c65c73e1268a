import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import {
  boundOf,
  CpuFollower,
  listenerPid,
  listeningInodes,
  parseProcStat,
  parseStat,
  readerBudget,
  threadDelta,
  threadGroup,
  threadsOf,
} from './cpu-budget.js';

describe('parseStat', () => {
  it('reads utime + stime after a name holding spaces and parentheses', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    const line = '42 (postgres: walsender (x) 127) S 1 42 42 0 -1 4194560 10 0 0 0 250 130 0 0 20 0 1 0';
    expect(parseStat(line, 100)).toEqual({ name: 'postgres: walsender (x) 127', cpuSec: 3.8, sysSec: 1.3 });
  });

  it('agrees with the kernel for this process', () => {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    const own = threadsOf(process.pid);
    expect(own.some((t) => t.tid === process.pid)).toBe(true);
    const usage = process.cpuUsage();
    const total = own.reduce((s, t) => s + t.cpuSec, 0);
    // Threads that ended are missing from the task list; the live ones cannot exceed the process' own total.
    expect(total).toBeLessThanOrEqual((usage.user + usage.system) / 1e6 + 2 / ticks);
  });
});

describe('threadGroup', () => {
  it('adds up a pool by dropping the trailing number', () => {
    expect(threadGroup('data-plane-kafk')).toBe('data-plane-kafk');
    expect(threadGroup('kafka-schedule10')).toBe('kafka-schedule');
    expect(threadGroup('GC Thread#1')).toBe('GC Thread');
    expect(threadGroup('broker-1-to-con')).toBe('broker-1-to-con');
    expect(threadGroup('V8Worker')).toBe('V8Worker');
    expect(threadGroup('123')).toBe('123');
  });
});

describe('threadDelta', () => {
  it('sums each family between two readings, counting a new thread from zero', () => {
    const before = [
      { tid: 1, name: 'MainThread', cpuSec: 1 },
      { tid: 2, name: 'V8Worker', cpuSec: 0.5 },
      { tid: 3, name: 'V8Worker', cpuSec: 0.5 },
    ];
    const after = [
      { tid: 1, name: 'MainThread', cpuSec: 3 },
      { tid: 2, name: 'V8Worker', cpuSec: 0.75 },
      { tid: 3, name: 'V8Worker', cpuSec: 0.5 },
      { tid: 4, name: 'libuv-worker', cpuSec: 0.25 },
    ];
    expect(threadDelta(before, after)).toEqual([
      { group: 'MainThread', cpuSec: 2 },
      { group: 'V8Worker', cpuSec: 0.25 },
      { group: 'libuv-worker', cpuSec: 0.25 },
    ]);
  });
});

describe('parseProcStat', () => {
  it('counts user, nice, system, irq and softirq as busy; idle and iowait as idle; steal apart', () => {
    const text = 'cpu  100 20 30 400 50 6 4 8 0 0\ncpu0 50 10 15 200 25 3 2 4 0 0\n';
    expect(parseProcStat(text, 100)).toEqual({ busySec: 1.6, idleSec: 4.5, stealSec: 0.08 });
  });
});

describe('listeningInodes and listenerPid', () => {
  const tcp = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:9CAD 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1843399 1',
    '   1: 0100007F:9CAD 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 1843400 1',
    '   2: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1',
  ].join('\n');

  it('finds only the listening socket of the port', () => {
    expect(listeningInodes(tcp, 0x9cad)).toEqual([1843399]);
    expect(listeningInodes(tcp, 8080)).toEqual([77]);
    expect(listeningInodes(tcp, 9092)).toEqual([]);
  });

  it('finds the process listening on a loopback port (this one)', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      expect(listenerPid(port)).toBe(process.pid);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('CpuFollower', () => {
  it('keeps the last reading of a process that has ended', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['-e', 'const t = Date.now(); while (Date.now() - t < 300) {}']);
    const follower = new CpuFollower(child.pid as number, { fromBirth: true, intervalMs: 5 });
    await new Promise((r) => child.once('exit', r));
    const reading = follower.stop();
    // It spun for 300 ms (plus start-up); the follower polled it while it lived.
    expect(reading.cpuSec).toBeGreaterThan(0.1);
    expect(reading.sysSec).toBeLessThanOrEqual(reading.cpuSec);
  });
});

describe('boundOf', () => {
  it('takes the least of the walsender, the cores and the busiest thread', () => {
    // walsender 10 µs -> 100k/s; 2 cores / (10 + 5 + 25) µs -> 50k/s; main thread 16 µs -> 62.5k/s.
    const b = boundOf({ walsender: 10, kafka: 5, reader: 25, readerThread: 16 }, 2);
    expect(b.walsenderCap).toBeCloseTo(100_000);
    expect(b.coresCap).toBeCloseTo(50_000);
    expect(b.threadCap).toBeCloseTo(62_500);
    expect(b.bound).toBeCloseTo(50_000);
    expect(b.boundBy).toBe('cores');
  });

  it('names the walsender when it is the slowest, and the thread when it is', () => {
    expect(boundOf({ walsender: 12, kafka: 0, reader: 4 }, 2).boundBy).toBe('walsender');
    const t = boundOf({ walsender: 3, kafka: 2, reader: 20, readerThread: 16 }, 2);
    expect(t.boundBy).toBe('reader thread');
    expect(t.bound).toBeCloseTo(62_500);
  });
});

describe('readerBudget', () => {
  it('leaves the reader what the cores have over the walsender and Kafka, and its thread 1/rate', () => {
    // 2 cores at 50k/s = 40 µs per row; minus walsender 10 and Kafka 5 = 25 µs for the reader.
    expect(readerBudget(50_000, { walsender: 10, kafka: 5 }, 2, 0)).toBeCloseTo(25);
    // With 80 % of its CPU on one thread, that thread may spend 20 µs (1/50k): the reader 25 µs in all.
    expect(readerBudget(50_000, { walsender: 10, kafka: 5 }, 2, 0.8)).toBeCloseTo(25);
    // All of it on one thread: 20 µs.
    expect(readerBudget(50_000, { walsender: 10, kafka: 5 }, 2, 1)).toBeCloseTo(20);
  });

  it('is undefined when the walsender alone cannot go that fast', () => {
    expect(readerBudget(120_000, { walsender: 10, kafka: 0 }, 2)).toBeUndefined();
  });
});
