import { describe, expect, it } from '@jest/globals';
import { ChildService, waitReady } from './child.js';

describe('ChildService', () => {
  it('regression: a service that exits at start ends the readiness wait at once', async () => {
    // The liveness check tested `pid !== undefined`, which stays set after the process exits: `tributary dev`
    // then waited the full 120 s for a service that had already crashed.
    const exits: (number | null)[] = [];
    const child = new ChildService({
      name: 'crashes',
      args: ['-e', 'process.exit(3)'],
      env: {},
      cwd: process.cwd(),
      onLine: () => {},
      onExit: (code) => exits.push(code),
    });
    child.start();
    expect(child.running).toBe(true);
    // Nothing listens on port 1: only the liveness check can end this wait before its (long) timeout.
    const ready = await waitReady('http://127.0.0.1:1/readyz', 3_600_000, () => child.running);
    expect(ready).toBe(false);
    expect(child.running).toBe(false);
    expect(exits).toEqual([3]);
  });
});
