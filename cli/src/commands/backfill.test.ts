import { describe, expect, it } from '@jest/globals';
import { main } from '../index.js';
import { formatProgress, RateMeter } from './backfill.js';

function io(env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { env, stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l) } };
}

describe('tributary backfill', () => {
  it('prints its usage with --help', async () => {
    const t = io();
    expect(await main(['backfill', '--help'], t.io)).toBe(0);
    expect(t.out[0]).toMatch(
      /^usage: tributary backfill <schema\.table> \[--where <sql>\] \[--chunk-size <n>\]/,
    );
    expect(t.out[0]).toContain('tributary.backfill(');
  });

  it('refuses bad options before connecting', async () => {
    const cases: [string[], string][] = [
      [[], 'name a table'],
      [['public.t', '--chunk-size', '0'], 'invalid --chunk-size "0"'],
      [['public.t', '--list'], 'give one of'],
      [['--list', '--where', 'x'], '--where, --chunk-size and --detach go with a table'],
      [['a.b.c'], 'invalid table "a.b.c"'],
      [['public.t', '--schema', 'Bad-Name'], 'invalid --schema'],
    ];
    for (const [args, message] of cases) {
      const t = io();
      expect(await main(['backfill', ...args], t.io)).toBe(2);
      expect(t.err[0]).toContain(message);
    }
  });

  it('names Postgres and how to start it when it is not reachable', async () => {
    const t = io({ DATABASE_URL: 'postgres://u:secret@127.0.0.1:1/db' });
    expect(await main(['backfill', '--list'], t.io)).toBe(1);
    expect(t.err.join('\n')).toMatch(
      /Postgres is not reachable at postgres:\/\/u:redacted@127\.0\.0\.1:1\/db \(connection refused\)/,
    );
    expect(t.err.join('\n')).not.toContain('secret');
  });
});

describe('progress line', () => {
  it('shows rows of the estimate, rate and time left', () => {
    expect(formatProgress({ rowsDone: 50_000, totalEstimate: 100_000, state: 'running' }, 12_500)).toBe(
      '[############............] 50,000 / ~100,000 rows (50%)  12,500 rows/s  ETA 4s',
    );
    // The estimate is the planner's: more rows than estimated keep the bar full, not past it.
    expect(formatProgress({ rowsDone: 120, totalEstimate: 100, state: 'running' })).toContain(
      '120 / ~120 rows (100%)',
    );
    expect(formatProgress({ rowsDone: 7, totalEstimate: null, state: 'completed' })).toBe(
      '[########################] 7 rows  completed',
    );
  });

  it('measures the rate over its window', () => {
    const m = new RateMeter(5_000);
    expect(m.add(0, 0)).toBeUndefined();
    expect(m.add(1_000, 1_000)).toBe(1_000);
    expect(m.add(2_000, 5_000)).toBe(2_500);
    m.add(10_000, 5_000);
    expect(m.add(11_000, 6_000)).toBe(1_000);
  });
});
