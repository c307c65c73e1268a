/**
 * The pgoutput parser against bytes captured from a real Postgres 17 (fixtures/pgoutput-pg17.json, made by
 * scripts/capture-pgoutput-fixtures.ts): every message type protocol version 1 sends, in text and binary mode.
 */
import { describe, expect, it } from '@jest/globals';
import { loadPgOutputFixture, messages } from './fixtures/load.js';
import {
  decodePgOutput,
  type PgBegin,
  type PgCommit,
  type PgOutputMessage,
  type PgRelation,
  Tuple,
  type TupleValue,
} from './pgoutput.js';

const fixture = loadPgOutputFixture();

/** A message with its tuples as arrays of their values (`Tuple#values`), to compare with literals. */
type Plain<M> = {
  [K in keyof M]: Tuple extends M[K] ? Exclude<M[K], Tuple> | TupleValue[] : M[K];
};
type PlainMessage = PgOutputMessage extends infer M ? (M extends unknown ? Plain<M> : never) : never;

function plain(msg: PgOutputMessage): PlainMessage {
  const out: Record<string, unknown> = { ...msg };
  for (const [k, v] of Object.entries(msg)) if (v instanceof Tuple) out[k] = v.values();
  return out as PlainMessage;
}

const text = messages(fixture.text).map(decodePgOutput).map(plain);
const binary = messages(fixture.binary).map(decodePgOutput).map(plain);

function only<T extends PgOutputMessage['tag']>(list: PlainMessage[], tag: T) {
  return list.filter((m): m is Extract<PlainMessage, { tag: T }> => m.tag === tag);
}

const items = only(text, 'relation').find((r) => r.name === 'items') as PgRelation;
const audit = only(text, 'relation').find((r) => r.name === 'audit') as PgRelation;
const mood = only(text, 'type')[0];
const big = 'x'.repeat(4000);
const rest = ['12.50', '{a,"b c"}', '{"x": [1, 2]}'];
const after = ['happy', 't', '\\xdeadbeef', '2024-05-01 10:20:30.123456+00', null];
const noKey = Array<null>(10).fill(null);

describe('decodePgOutput on Postgres 17 bytes', () => {
  it('was captured from Postgres 17', () => {
    expect(fixture.postgres).toMatch(/^PostgreSQL 17\./);
  });

  it('decodes the stream in the order Postgres sent it', () => {
    expect(text.map((m) => m.tag).join(' ')).toBe(
      [
        'begin type relation insert commit', // insert with an enum column: Type before Relation
        'begin update commit', // TOAST unchanged
        'begin update commit', // key changed: old key
        'begin relation insert commit begin update commit begin delete commit', // REPLICA IDENTITY FULL
        'begin delete commit', // default identity: old key
        'begin insert message commit message', // transactional message, then a non-transactional one
        'begin type relation relation truncate commit', // truncate: relations are sent again
        'begin origin relation insert commit', // a replicated transaction
      ].join(' '),
    );
    expect(binary.map((m) => m.tag)).toEqual(text.map((m) => m.tag));
  });

  it('Begin and Commit agree on the commit LSN and time; the end LSN follows the commit', () => {
    const begins = only(text, 'begin');
    const commits = only(text, 'commit');
    expect(begins).toHaveLength(10);
    expect(commits).toHaveLength(10);
    begins.forEach((b: PgBegin, i) => {
      const c = commits[i] as PgCommit;
      expect(c.commitLsn).toBe(b.finalLsn);
      expect(c.commitTime).toBe(b.commitTime);
      expect(c.endLsn > c.commitLsn).toBe(true);
      expect(c.flags).toBe(0);
      if (i > 0) expect(b.xid).toBeGreaterThan((begins[i - 1] as PgBegin).xid);
    });
    // The replicated transaction carries the commit time its origin set (2024-05-01T10:20:30Z),
    // in µs since 2000-01-01.
    expect(begins[9]?.commitTime).toBe(
      BigInt(Date.UTC(2024, 4, 1, 10, 20, 30) - Date.UTC(2000, 0, 1)) * 1000n,
    );
  });

  it('Type names a user-defined type that a Relation column uses', () => {
    expect(mood).toEqual({ tag: 'type', typeOid: expect.any(Number), schema: 'fx', name: 'mood' });
    expect(items.columns.find((c) => c.name === 'mood')?.typeOid).toBe(mood?.typeOid);
  });

  it('Relation: columns, type OIDs, key flags and replica identity', () => {
    expect(items).toMatchObject({ schema: 'fx', name: 'items', replicaIdentity: 'd' });
    expect(items.columns.map((c) => [c.name, c.typeOid, c.isKey, c.typeMod])).toEqual([
      ['id', 20, true, -1],
      ['name', 25, false, -1],
      ['price', 1700, false, -1],
      ['tags', 1009, false, -1],
      ['meta', 3802, false, -1],
      ['big', 25, false, -1],
      ['mood', mood?.typeOid, false, -1],
      ['flag', 16, false, -1],
      ['data', 17, false, -1],
      ['at', 1184, false, -1],
      ['note', 25, false, -1],
    ]);
    // FULL flags every column as part of the identity.
    expect(audit).toMatchObject({ schema: 'fx', name: 'audit', replicaIdentity: 'f' });
    expect(audit.columns.map((c) => [c.name, c.typeOid, c.isKey])).toEqual([
      ['id', 23, true],
      ['note', 25, true],
    ]);
  });

  it('Insert: text values, SQL NULL as null, a TOASTed value sent whole', () => {
    const [first] = only(text, 'insert');
    expect(first).toEqual({
      tag: 'insert',
      relationId: items.relationId,
      new: ['1', 'ada', ...rest, big, ...after],
    });
  });

  it('Update: unchanged TOAST as undefined, no old tuple while the key stays', () => {
    const [toast] = only(text, 'update');
    expect(toast).toEqual({
      tag: 'update',
      relationId: items.relationId,
      oldKind: undefined,
      old: undefined,
      new: ['1', 'ada lovelace', ...rest, undefined, ...after],
    });
    // `u` is a hole the parser fills with undefined, distinct from null (`n`).
    expect(toast?.new[5]).toBeUndefined();
    expect(toast?.new[10]).toBeNull();
  });

  it('Update of the key: the old key tuple (K), other columns null', () => {
    const keyChange = only(text, 'update')[1];
    expect(keyChange).toEqual({
      tag: 'update',
      relationId: items.relationId,
      oldKind: 'K',
      old: ['1', ...noKey],
      new: ['2', 'ada lovelace', ...rest, undefined, ...after],
    });
  });

  it('Update and Delete under REPLICA IDENTITY FULL: the old row (O)', () => {
    expect(only(text, 'update')[2]).toEqual({
      tag: 'update',
      relationId: audit.relationId,
      oldKind: 'O',
      old: ['7', 'first'],
      new: ['7', 'second'],
    });
    expect(only(text, 'delete')[0]).toEqual({
      tag: 'delete',
      relationId: audit.relationId,
      oldKind: 'O',
      old: ['7', 'second'],
    });
  });

  it('Delete under the default identity: the old key (K)', () => {
    expect(only(text, 'delete')[1]).toEqual({
      tag: 'delete',
      relationId: items.relationId,
      oldKind: 'K',
      old: ['2', ...noKey],
    });
  });

  it('Message: transactional and not, with prefix and content', () => {
    const [outbox, heartbeat] = only(text, 'message');
    const tx = only(text, 'begin')[7] as PgBegin;
    expect(outbox).toMatchObject({ transactional: true, prefix: 'tributary' });
    expect(outbox?.content.toString()).toBe('{"type":"com.example.hello","data":{"n":1}}');
    // Postgres 17 reports a transactional message at its transaction's commit LSN (as observed in the capture).
    expect(outbox?.lsn).toBe(tx.finalLsn);
    expect(heartbeat).toMatchObject({ transactional: false, prefix: 'tributary-heartbeat' });
    expect(heartbeat?.content.toString()).toBe('beat');
  });

  it('Truncate: every relation, with CASCADE and RESTART IDENTITY', () => {
    expect(only(text, 'truncate')).toEqual([
      {
        tag: 'truncate',
        cascade: true,
        restartIdentity: true,
        relationIds: [items.relationId, audit.relationId],
      },
    ]);
  });

  it('Origin: the origin name and its LSN', () => {
    expect(only(text, 'origin')).toEqual([{ tag: 'origin', originLsn: 0xabcdefn, name: 'fx_origin' }]);
  });

  it('binary mode: values as hex of their binary send form, null and unchanged TOAST as in text mode', () => {
    const [first] = only(binary, 'insert');
    expect(first?.new).toEqual([
      '0000000000000001', // int8 1
      Buffer.from('ada').toString('hex'),
      '0002000000000002000c1388', // numeric 12.50: 2 digits, weight 0, scale 2: 12, 5000
      expect.stringMatching(/^00000001/), // text[]: 1 dimension
      `01${Buffer.from('{"x": [1, 2]}').toString('hex')}`, // jsonb version 1
      Buffer.from(big).toString('hex'),
      Buffer.from('happy').toString('hex'),
      '01', // bool true
      'deadbeef', // bytea, raw
      expect.stringMatching(/^[0-9a-f]{16}$/), // timestamptz: int64 µs since 2000
      null,
    ]);
    const at = BigInt(`0x${first?.new[9]}`);
    expect(at).toBe(BigInt(Date.UTC(2024, 4, 1, 10, 20, 30) - Date.UTC(2000, 0, 1)) * 1000n + 123456n);
    const [toast] = only(binary, 'update');
    expect(toast?.new[5]).toBeUndefined();
    expect(toast?.new[10]).toBeNull();
  });
});

describe('decodePgOutput on malformed or unsupported bytes', () => {
  it('names a message type it does not support (stream messages need protocol version 2)', () => {
    // Stream Start ('S'): xid, first-segment flag. db-events asks for protocol version 1, which never sends it.
    const streamStart = Buffer.from([0x53, 0, 0, 0x3e, 0x2d, 1]);
    expect(() => decodePgOutput(streamStart)).toThrow('pgoutput: unknown message type "S" (0x53)');
  });

  it('names an unknown tuple column kind', () => {
    const insert = Buffer.from(fixture.text.find((m) => m.hex.startsWith('49'))!.hex, 'hex');
    // Relation id (4 bytes) and 'N' follow the tag; then the column count (2) and the first column's kind.
    insert[8] = 0x78; // 'x'
    expect(() => decodePgOutput(insert)).toThrow('pgoutput: unknown tuple column kind 0x78');
  });

  it('refuses a message cut short', () => {
    const relation = Buffer.from(fixture.text.find((m) => m.hex.startsWith('52'))!.hex, 'hex');
    // Node's bounds check, thrown before the parser's own (its message differs).
    expect(() => decodePgOutput(relation.subarray(0, 40))).toThrow(/out of range/);
    const message = Buffer.from(fixture.text.find((m) => m.hex.startsWith('4d'))!.hex, 'hex');
    expect(() => decodePgOutput(message.subarray(0, message.length - 1))).toThrow(
      'pgoutput: read past the end of the message',
    );
  });
});
