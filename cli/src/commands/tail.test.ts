import { describe, expect, it } from '@jest/globals';
import { createCloudEvent } from '@tributary/shared';
import { main } from '../index.js';
import { captureIo } from './capture-io.test-util.js';
import { formatEventLine, parseBrokerRef } from './tail.js';

describe('tributary tail (no log needed)', () => {
  it('refuses an invalid CESQL filter with the caret excerpt, exit 2, before connecting', async () => {
    const t = captureIo();
    expect(await main(['tail', '--filter', "subject = 'a' AND ("], t.io)).toBe(2);
    expect(t.err[0]).toBe(
      'tributary tail: invalid CESQL filter: expected an expression but found end of input (line 1, column 20)\n' +
        `subject = 'a' AND (\n${' '.repeat(19)}^`,
    );
  });

  it('checks its options', async () => {
    const a = captureIo();
    expect(await main(['tail', '--from', 'start'], a.io)).toBe(2);
    expect(a.err[0]).toContain('--from takes "earliest" or "latest", got "start"');
    const b = captureIo();
    expect(await main(['tail', '--count', '0'], b.io)).toBe(2);
    expect(b.err[0]).toContain('invalid --count "0"');
    expect(parseBrokerRef('default/default')).toEqual({ namespace: 'default', name: 'default' });
    expect(parseBrokerRef('orders')).toEqual({ namespace: 'default', name: 'orders' });
    expect(() => parseBrokerRef('a/b/c')).toThrow('--broker expects <namespace>/<name>');
    expect(() => parseBrokerRef('Default/x')).toThrow('--broker expects <namespace>/<name>');
  });

  it('says when the --config folder has no such Broker', async () => {
    const t = captureIo();
    const config = new URL('./fixtures/validate/typos', import.meta.url).pathname;
    expect(await main(['tail', '--config', config, '--broker', 'other/default'], t.io)).toBe(1);
    expect(t.err[0]).toMatch(/no Broker other\/default in .* \(known: default\/default\)/);
  });

  it('prints time, type, source, subject and id on one line', () => {
    const e = createCloudEvent({
      id: '0/1A2B3C8-4',
      type: 'dev.tributary.db.row.deleted',
      source: '/db/app/public/users',
      subject: '42',
      time: '2026-01-02T03:04:05.000Z',
    });
    expect(formatEventLine(e)).toBe(
      '2026-01-02T03:04:05.000Z  dev.tributary.db.row.deleted  /db/app/public/users  42  0/1A2B3C8-4',
    );
    const noSubject = createCloudEvent({
      id: 'x',
      type: 't',
      source: '/s',
      time: '2026-01-02T03:04:05.000Z',
    });
    expect(formatEventLine(noSubject)).toBe('2026-01-02T03:04:05.000Z  t  /s  -  x');
  });
});
