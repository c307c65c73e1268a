/**
 * COPY text rows (PostgreSQL docs, COPY, "Text Format"): fields, NULLs, escapes, CopyData split anywhere, and
 * rows Postgres would never send refused with a coded error.
 */
import { describe, expect, it } from '@jest/globals';
import { JsonOut, jsonTextWriter } from '../decoding/json-text.js';
import { TypeRegistry } from '../decoding/values.js';
import { CopyRows } from './copy-rows.js';

// `1`, `a<TAB>b\c<NL>`, NULL; then `2`, the text `\N`, an empty string.
const TEXT = '1\ta\\tb\\\\c\\n\t\\N\n2\t\\\\N\t\n';

function feed(piece: number): CopyRows {
  const rows = new CopyRows(3, [0], 1);
  const all = Buffer.from(TEXT);
  for (let i = 0; i < all.length; i += piece) rows.push(all.subarray(i, i + piece));
  rows.finish();
  return rows;
}

describe('CopyRows', () => {
  it('splits rows and fields, tells NULL from the text \\N, and undoes the escapes, however CopyData is cut', () => {
    for (const piece of [1, 2, 3, TEXT.length]) {
      const rows = feed(piece);
      expect(rows.length).toBe(2);
      expect([rows.texts(0), rows.texts(1)]).toEqual([
        ['1', 'a\tb\\c\n', null],
        ['2', '\\N', ''],
      ]);
      expect([rows.isNull(0, 2), rows.isNull(1, 1)]).toEqual([true, false]);
      expect([rows.key(1), rows.keyTexts(1)]).toEqual(['2', ['2']]);
      const out = new JsonOut(64);
      rows.write(0, 1, jsonTextWriter(25, new TypeRegistry().converter(25), true), out);
      expect(out.take().toString()).toBe(JSON.stringify('a\tb\\c\n'));
    }
  });

  it('joins composite keys with NUL, as the stream keys are joined', () => {
    const rows = new CopyRows(3, [2, 0]);
    rows.push(Buffer.from('a\tx\tb\\tc\n'));
    rows.finish();
    expect([rows.key(0), rows.keyTexts(0)]).toEqual(['b\tc\u0000a', ['b\tc', 'a']]);
  });

  it('refuses rows with the wrong number of columns, and a row cut short', () => {
    expect(() => new CopyRows(2, [0]).push(Buffer.from('1\t2\t3\n'))).toThrow(/more than 2 columns/);
    expect(() => new CopyRows(3, [0]).push(Buffer.from('1\t2\n'))).toThrow(/2 columns in a row, not 3/);
    const cut = new CopyRows(2, [0]);
    cut.push(Buffer.from('1\t2'));
    expect(() => cut.finish()).toThrow(expect.objectContaining({ code: 'REPLICATION_DECODE' }));
  });

  it('gives its storage to the next chunk once released, keeping its length', () => {
    const rows = feed(TEXT.length);
    rows.release();
    expect(rows.length).toBe(2);
    const next = feed(5);
    expect(next.texts(0)).toEqual(['1', 'a\tb\\c\n', null]);
  });
});
