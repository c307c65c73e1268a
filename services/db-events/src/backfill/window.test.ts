/**
 * The watermark window logic, fed the pgoutput messages a real stream carries (as the parser yields them):
 * which keys a chunk drops, what it emits and in which order, and when it must be read again.
 */
import { describe, expect, it } from '@jest/globals';
import { ChangeDecoder } from '../decoding/changes.js';
import { type PgOutputMessage, Tuple } from '../decoding/pgoutput.js';
import type { Lsn } from '../replication/lsn.js';
import {
  BACKFILL_PREFIX,
  BackfillTracker,
  type ChunkRows,
  type ChunkWindow,
  keyString,
  parseWatermark,
  watermarkContent,
} from './window.js';

const REL = 16384;

function stream() {
  const decoder = new ChangeDecoder({ database: 'app' });
  const tracker = new BackfillTracker();
  let xid = 1000;
  let lsn = 0x100n;
  const feed = (msg: PgOutputMessage) => {
    decoder.decode(msg);
    return tracker.observe(msg, decoder);
  };
  // public.t (a text, b int4, v text), primary key (a, b).
  feed({
    tag: 'relation',
    relationId: REL,
    schema: 'public',
    name: 't',
    replicaIdentity: 'd',
    columns: [
      { name: 'a', typeOid: 25, typeMod: -1, isKey: true },
      { name: 'b', typeOid: 23, typeMod: -1, isKey: true },
      { name: 'v', typeOid: 25, typeMod: -1, isKey: false },
    ],
  });
  tracker.track('public.t', ['a', 'b']);
  /** One committed transaction of `changes`; returns its xid. */
  const tx = (...changes: PgOutputMessage[]): number => {
    const id = xid++;
    lsn += 0x10n;
    feed({ tag: 'begin', finalLsn: lsn, commitTime: 0n, xid: id });
    for (const c of changes) feed(c);
    feed({ tag: 'commit', flags: 0, commitLsn: lsn, endLsn: lsn + 1n, commitTime: 0n });
    return id;
  };
  const mark = (token: string, m: 'low' | 'high') => {
    lsn += 0x10n;
    return feed({
      tag: 'message',
      transactional: false,
      lsn,
      prefix: BACKFILL_PREFIX,
      content: Buffer.from(watermarkContent({ token, mark: m })),
    });
  };
  const emitted: { rows: (string | null)[][]; low: Lsn }[] = [];
  const open = (token: string): ChunkWindow => {
    const w: ChunkWindow = tracker.open(
      token,
      (kept, low) => {
        const all = (w.chunk?.rows as TestRows).texts;
        const rows = kept ? kept.map((i) => all[i] as (string | null)[]) : all;
        emitted.push({ rows, low });
        return rows.map(() => ({ event: {} as never, op: 'READ' as const }));
      },
      () => undefined,
    );
    return w;
  };
  return { tracker, tx, mark, open, emitted, lsn: () => lsn };
}

const ins = (a: string, b: number, v = 'x'): PgOutputMessage => ({
  tag: 'insert',
  relationId: REL,
  new: Tuple.of([a, String(b), v]),
});
const upd = (a: string, b: number, v: string, old?: Tuple): PgOutputMessage => ({
  tag: 'update',
  relationId: REL,
  oldKind: old ? 'K' : undefined,
  old,
  new: Tuple.of([a, String(b), v]),
});
const del = (a: string, b: number): PgOutputMessage => ({
  tag: 'delete',
  relationId: REL,
  oldKind: 'K',
  old: Tuple.of([a, String(b), null]),
});

/** A chunk's rows as column texts (key: the first two columns). */
interface TestRows extends ChunkRows {
  texts: (string | null)[][];
}
const rows = (...keys: [string, number][]): TestRows => {
  const texts = keys.map(([a, b]) => [a, String(b), 'old']);
  return { texts, length: texts.length, key: (i) => keyString(texts[i] as string[], [0, 1]) };
};

/** An xmax no transaction of these tests reaches (2^31 - 1 ahead of them, modulo 2^32). */
const NO_XMAX = 0x7fff_ffff;

describe('BackfillTracker', () => {
  it('drops the keys changed between LOW and HIGH and emits the rest in chunk order at HIGH', async () => {
    const s = stream();
    s.tx(upd('a', 1, 'before low'));
    const w = s.open('c1');
    s.mark('c1', 'low');
    const lowLsn = s.lsn();
    s.tx(upd('a', 2, 'in window'));
    s.tx(del('b', 1));
    s.tx(ins('z', 9));
    w.chunk = { rows: rows(['a', 1], ['a', 2], ['a', 3], ['b', 1]), xip: new Set(), xmax: NO_XMAX };
    const out = s.mark('c1', 'high');
    expect(out?.events).toHaveLength(2);
    expect(s.emitted[0]?.rows.map((r) => r.slice(0, 2).join())).toEqual(['a,1', 'a,3']);
    expect(s.emitted[0]?.low).toBe(lowLsn);
    await expect(w.done).resolves.toEqual({ retry: false, rows: 4, emitted: 2, dropped: 2 });
    // After HIGH, a change to a chunk key is newer than the read and comes after it: nothing more to do.
    s.tx(upd('a', 3, 'after high'));
    expect(s.emitted).toHaveLength(1);
  });

  it('drops both the old and the new key of an update that changes the key', async () => {
    const s = stream();
    const w = s.open('c');
    s.mark('c', 'low');
    s.tx(upd('q', 7, 'moved', Tuple.of(['a', '1', null])));
    w.chunk = { rows: rows(['a', 1], ['a', 2], ['q', 7]), xip: new Set(), xmax: NO_XMAX };
    s.mark('c', 'high');
    expect(s.emitted[0]?.rows.map((r) => r.slice(0, 2).join())).toEqual(['a,2']);
    await expect(w.done).resolves.toMatchObject({ dropped: 2 });
  });

  it("drops the keys of a transaction committed before LOW that the chunk's snapshot still saw in progress", async () => {
    const s = stream();
    // Its commit record precedes LOW, but it was still finishing its commit when the snapshot was taken.
    const racing = s.tx(upd('a', 2, 'committing'));
    const visible = s.tx(upd('a', 3, 'long done'));
    const w = s.open('c');
    s.mark('c', 'low');
    w.chunk = {
      rows: rows(['a', 1], ['a', 2], ['a', 3]),
      xip: new Set([racing, 424242]),
      xmax: NO_XMAX,
    };
    s.mark('c', 'high');
    expect(visible).toBe(racing + 1);
    expect(s.emitted[0]?.rows.map((r) => r.slice(0, 2).join())).toEqual(['a,1', 'a,3']);
  });

  it("drops the keys of a transaction committed before LOW whose id is at or above the snapshot's xmax", async () => {
    const s = stream();
    const done = s.tx(upd('a', 3, 'long done'));
    // The newest transaction: its commit record precedes LOW, but no snapshot counted it completed yet, so
    // the chunk's snapshot has xmax = its id and does not list it in xip.
    const racing = s.tx(upd('a', 2, 'committing'));
    const w = s.open('c');
    s.mark('c', 'low');
    w.chunk = { rows: rows(['a', 1], ['a', 2], ['a', 3]), xip: new Set(), xmax: racing };
    s.mark('c', 'high');
    expect(racing).toBe(done + 1);
    expect(s.emitted[0]?.rows.map((r) => r.slice(0, 2).join())).toEqual(['a,1', 'a,3']);
  });

  it('reads the chunk again when a change in the window does not name its key, and emits nothing for a truncate', async () => {
    const s = stream();
    const w = s.open('c');
    s.mark('c', 'low');
    s.tx({
      tag: 'update',
      relationId: REL,
      oldKind: undefined,
      old: undefined,
      new: Tuple.of([undefined, '1', 'x']),
    });
    w.chunk = { rows: rows(['a', 1]), xip: new Set(), xmax: NO_XMAX };
    expect(s.mark('c', 'high')).toBeUndefined();
    await expect(w.done).resolves.toMatchObject({ retry: true });

    const t = s.open('t');
    s.mark('t', 'low');
    s.tx({ tag: 'truncate', cascade: false, restartIdentity: false, relationIds: [REL] });
    t.chunk = { rows: rows(['a', 1], ['b', 2]), xip: new Set(), xmax: NO_XMAX };
    s.mark('t', 'high');
    await expect(t.done).resolves.toEqual({ retry: false, rows: 2, emitted: 0, dropped: 2 });
  });

  it("ignores watermarks it is not waiting for (an earlier session's, replayed) and fails open windows on abort", async () => {
    const s = stream();
    expect(s.mark('old-token', 'low')).toBeUndefined();
    expect(s.mark('old-token', 'high')).toBeUndefined();
    const w = s.open('c');
    s.tracker.abort(new Error('session ended'));
    await expect(w.done).rejects.toThrow('session ended');
    expect(s.emitted).toEqual([]);
  });

  it('changes to other tables never drop keys', async () => {
    const s = stream();
    s.tracker.track('public.other', ['a', 'b']);
    const w = s.open('c');
    s.mark('c', 'low');
    s.tx(upd('a', 1, 'x'));
    w.chunk = { rows: rows(['a', 1]), xip: new Set(), xmax: NO_XMAX };
    s.mark('c', 'high');
    await expect(w.done).resolves.toMatchObject({ emitted: 1, dropped: 0 });
  });
});

describe('watermarks and keys', () => {
  it('round-trips a watermark and rejects foreign content', () => {
    expect(parseWatermark(watermarkContent({ token: 'x/1/ab', mark: 'high' }))).toEqual({
      token: 'x/1/ab',
      mark: 'high',
    });
    expect(parseWatermark('not json')).toBeUndefined();
    expect(parseWatermark('{"token":1,"mark":"low"}')).toBeUndefined();
  });

  it('joins composite keys without ambiguity (a comma inside a value is not a separator)', () => {
    expect(keyString(['a,b', 'c'], [0, 1])).not.toBe(keyString(['a', 'b,c'], [0, 1]));
    expect(keyString(['a', null], [0, 1])).toBeUndefined();
  });
});
