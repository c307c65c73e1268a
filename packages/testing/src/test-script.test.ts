import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';

const ROOT = join(import.meta.dirname, '../../..');

/** The test files `pnpm test <args>` would run (scripts/test.mjs with Jest's --listTests), relative to the root. */
function listed(...args: string[]): string[] {
  const res = spawnSync(process.execPath, [join(ROOT, 'scripts/test.mjs'), ...args, '--listTests'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  expect(res.stderr).toBe('');
  expect(res.status).toBe(0);
  return res.stdout
    .split('\n')
    .filter(Boolean)
    .map((f) => f.slice(ROOT.length + 1))
    .sort();
}

// A folder with one unit and one integration test of the same name.
const TAIL = 'cli/src/commands/tail';

describe('pnpm test (scripts/test.mjs)', () => {
  it('--integration <path> runs the integration tests under that path only (regression: it ran all of them)', () => {
    expect(listed('--integration', TAIL)).toEqual([`${TAIL}.int.test.ts`]);
  });

  it('--unit <path> runs the unit tests under that path only', () => {
    expect(listed('--unit', TAIL)).toEqual([`${TAIL}.test.ts`]);
  });

  it('a path alone runs both kinds', () => {
    expect(listed(TAIL)).toEqual([`${TAIL}.int.test.ts`, `${TAIL}.test.ts`]);
  });
});
