import { describe, expect, it } from '@jest/globals';
import { formatLsn, parseLsn } from './lsn.js';
import { parseCopyData, standbyStatusUpdate } from './protocol.js';

describe('LSN', () => {
  it('formats like pg_lsn output and round-trips', () => {
    expect(formatLsn(0x1a2b3c8n)).toBe('0/1A2B3C8');
    expect(formatLsn((0x16n << 32n) | 0xb374d848n)).toBe('16/B374D848');
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) | 0xb374d848n);
    expect(() => parseLsn('nope')).toThrow('invalid LSN');
  });
});

describe('replication protocol', () => {
  it('builds a standby status update the way the server reads it', () => {
    const buf = standbyStatusUpdate(30n, 20n, 10n, true);
    expect(buf[0]).toBe(0x72);
    expect(buf.readBigUInt64BE(1)).toBe(30n);
    expect(buf.readBigUInt64BE(9)).toBe(20n);
    expect(buf.readBigUInt64BE(17)).toBe(10n);
    expect(buf[33]).toBe(1);
    expect(buf.length).toBe(34);
  });
  it('parses keepalives and XLogData', () => {
    const k = Buffer.alloc(18);
    k[0] = 0x6b;
    k.writeBigUInt64BE(99n, 1);
    k[17] = 1;
    expect(parseCopyData(k)).toMatchObject({ kind: 'keepalive', walEnd: 99n, replyRequested: true });
    const w = Buffer.concat([Buffer.from([0x77]), Buffer.alloc(24), Buffer.from('B')]);
    w.writeBigUInt64BE(5n, 1);
    const x = parseCopyData(w);
    expect(x.kind).toBe('xlogdata');
    expect(x.kind === 'xlogdata' && x.data.toString()).toBe('B');
  });
});
