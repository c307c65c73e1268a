// The CPU time of a process with all its descendants (Postgres forks a backend per connection), from /proc
// (Linux). With `listenerPid` (cpu-budget.ts: which process listens on a loopback TCP port) it lets a bench
// charge each server's CPU to the work it measured even when the server was started elsewhere
// (`pnpm services:up`).
import { readdirSync, readFileSync } from 'node:fs';
import { clockTicks } from './proc.js';

/** CPU seconds (user + system) used by `pid` and every live descendant of it; 0 for what is gone. */
export function treeCpuSeconds(pid: number): number {
  const children = new Map<number, number[]>();
  const cpu = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(fields[1]);
      cpu.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / clockTicks());
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // exited meanwhile
    }
  }
  let total = 0;
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop() as number;
    total += cpu.get(p) ?? 0;
    todo.push(...(children.get(p) ?? []));
  }
  return total;
}
