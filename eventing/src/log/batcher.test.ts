import { describe, expect, it } from '@jest/globals';
import { Batcher } from './batcher.js';

describe('Batcher', () => {
  it('coalesces calls made while a write is in flight into the next write, keeping order', async () => {
    const writes: number[][] = [];
    let release: (() => void) | undefined;
    const batcher = new Batcher<number>(async (items) => {
      writes.push(items);
      if (writes.length === 1) {
        await new Promise<void>((r) => {
          release = r;
        });
      }
    });
    const first = batcher.add([0], 1);
    await new Promise((r) => setImmediate(r));
    const rest = [batcher.add([1, 2], 2), batcher.add([3], 1), batcher.add([4], 1)];
    release!();
    await Promise.all([first, ...rest]);
    expect(writes).toEqual([[0], [1, 2, 3, 4]]);
  });

  it('splits at maxItems without splitting a call, and rejects every call of a failed write', async () => {
    const writes: number[][] = [];
    const batcher = new Batcher<number>(
      async (items) => {
        writes.push(items);
        if (items.includes(99)) throw new Error('boom');
      },
      { maxItems: 3 },
    );
    const a = batcher.add([1, 2], 2);
    const b = batcher.add([3, 4], 2);
    const c = batcher.add([99], 1);
    await expect(a).resolves.toBeUndefined();
    await expect(b).rejects.toThrow('boom');
    await expect(c).rejects.toThrow('boom');
    expect(writes).toEqual([
      [1, 2],
      [3, 4, 99],
    ]);
    await batcher.idle();
    expect(batcher.pending).toBe(0);
  });

  it('drops a queued call whose deadline passes before it is written', async () => {
    const writes: number[][] = [];
    let release: (() => void) | undefined;
    const batcher = new Batcher<number>(
      async (items) => {
        writes.push(items);
        if (writes.length === 1) {
          await new Promise<void>((r) => {
            release = r;
          });
        }
      },
      {},
      () => new Error('gave up'),
    );
    const first = batcher.add([1], 1, 50); // in flight when its deadline passes: rejected, still written
    await new Promise((r) => setImmediate(r));
    const dropped = batcher.add([2], 1, 50);
    const kept = batcher.add([3], 1);
    await expect(dropped).rejects.toThrow('gave up');
    await expect(first).rejects.toThrow('gave up');
    release!();
    await kept;
    expect(writes).toEqual([[1], [3]]);
  });

  describe('lingerMs', () => {
    it('lets calls made while the writer is idle join one write, once calls have overlapped', async () => {
      const writes: number[][] = [];
      let release: (() => void) | undefined;
      const batcher = new Batcher<number>(
        async (items) => {
          writes.push(items);
          if (writes.length === 1) {
            await new Promise<void>((r) => {
              release = r;
            });
          }
        },
        { lingerMs: 200 },
      );
      // A call that arrives while a write is in flight: callers overlap, so lingering is worth it.
      const first = batcher.add([0], 1);
      while (release === undefined) await new Promise((r) => setImmediate(r));
      const behind = batcher.add([0.5], 1);
      release();
      await Promise.all([first, behind]);
      const a = batcher.add([1], 1);
      await new Promise((r) => setImmediate(r)); // a separate I/O turn: without linger, [1] would go alone
      const b = batcher.add([2], 1);
      await Promise.all([a, b]);
      expect(writes).toEqual([[0], [0.5], [1, 2]]);
    });

    // A linger far longer than the test timeout: any wait on it would fail these tests.
    it('does not hold a strictly sequential caller (each call made after the previous one was written)', async () => {
      const writes: number[][] = [];
      const batcher = new Batcher<number>(
        async (items) => {
          writes.push(items);
        },
        { lingerMs: 3_600_000 },
      );
      for (let i = 1; i <= 5; i++) await batcher.add([i], 1);
      expect(writes).toEqual([[1], [2], [3], [4], [5]]);
    });

    it('does not hold callers that each wait for their previous call (a closed loop), and batches them', async () => {
      const writes: number[][] = [];
      const batcher = new Batcher<number>(
        async (items) => {
          writes.push(items);
          await new Promise((r) => setImmediate(r));
        },
        { lingerMs: 3_600_000 },
      );
      await Promise.all(
        [0, 1, 2, 3].map(async (caller) => {
          for (let round = 0; round < 3; round++) await batcher.add([caller * 10 + round], 1);
        }),
      );
      expect(writes).toEqual([
        [0, 10, 20, 30],
        [1, 11, 21, 31],
        [2, 12, 22, 32],
      ]);
    });

    it('writes a full batch at once, and never lingers behind a write in flight', async () => {
      const writes: number[][] = [];
      let release: (() => void) | undefined;
      // A linger far longer than the test timeout: any wait on it would fail the test.
      const batcher = new Batcher<number>(
        async (items) => {
          writes.push(items);
          if (writes.length === 1) {
            await new Promise<void>((r) => {
              release = r;
            });
          }
        },
        { lingerMs: 3_600_000, maxItems: 2 },
      );
      const full = batcher.add([1, 2], 2);
      while (release === undefined) await new Promise((r) => setImmediate(r));
      const behind = batcher.add([3], 1);
      release();
      await Promise.all([full, behind]);
      expect(writes).toEqual([[1, 2], [3]]);
    });
  });
});
