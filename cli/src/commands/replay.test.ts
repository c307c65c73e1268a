import { describe, expect, it } from '@jest/globals';
import { freePort } from '@tributary/testing';
import { main } from '../index.js';
import { captureIo } from './capture-io.test-util.js';
import { formatReplay, parseFrom, parseTriggerRef } from './replay.js';

describe('tributary replay', () => {
  it('has --help naming the time forms, --dry-run and the direct mode', async () => {
    const t = captureIo();
    expect(await main(['replay', '--help'], t.io)).toBe(0);
    const help = t.out.join('\n');
    expect(help).toContain('usage: tributary replay <namespace>/<trigger> --from <RFC 3339 time | earliest>');
    expect(help).toContain('--dry-run');
    expect(help).toContain('--direct');
  });

  it('refuses a missing trigger, a bad reference, a missing or bad --from (exit 2, saying what is expected)', async () => {
    const cases: [string[], RegExp][] = [
      [['replay', '--from', 'earliest'], /give <namespace>\/<trigger>/],
      [['replay', 'just-a-name', '--from', 'earliest'], /expected <namespace>\/<trigger>/],
      [['replay', 'ns/t'], /--from <RFC 3339 time \| earliest> is required/],
      [['replay', 'ns/t', '--from', 'yesterday'], /RFC 3339 time such as/],
      [['replay', 'ns/t', '--from', '2026-01-31T09:00'], /seconds and a zone are required/],
      [['replay', 'ns/t', '--from', '2999-01-01T00:00:00Z'], /in the future/],
      [['replay', 'ns/t', '--from', 'earliest', '--broker', 'x/y'], /go with --direct/],
      [['replay', 'ns/t', '--from', 'earliest', '--direct', '--token', 'x'], /do not go with --direct/],
      [
        ['replay', 'ns/t', '--from', 'earliest', '--url', 'localhost'],
        /--url must be an http\(s\) URL, got "localhost"/,
      ],
      [
        ['replay', 'ns/t', '--from', 'earliest', '--url', 'ftp://127.0.0.1/'],
        /--url must be an http\(s\) URL/,
      ],
    ];
    for (const [argv, message] of cases) {
      const t = captureIo();
      expect(await main(argv, t.io)).toBe(2);
      expect(t.err[0]).toMatch(message);
    }
  });

  it('parses RFC 3339 times with zones and refuses impossible dates', () => {
    expect(parseFrom('2026-01-31T09:00:00Z')).toEqual(new Date('2026-01-31T09:00:00Z'));
    expect(parseFrom('2026-01-31T10:00:00.5+01:00')).toEqual(new Date('2026-01-31T09:00:00.500Z'));
    expect(parseFrom('earliest')).toBe('earliest');
    expect(() => parseFrom('2026-02-31T09:00:00Z')).toThrow(/RFC 3339/);
    expect(() => parseFrom('1706691600')).toThrow(/RFC 3339/);
    expect(parseTriggerRef('shop/orders')).toEqual({ namespace: 'shop', name: 'orders' });
  });

  it('says the broker is not running, and how to start it', async () => {
    const port = await freePort();
    const t = captureIo();
    expect(
      await main(['replay', 'default/t', '--from', 'earliest', '--url', `http://127.0.0.1:${port}`], t.io),
    ).toBe(1);
    expect(t.err[0]).toContain(
      `The broker is not reachable at http://127.0.0.1:${port} (connection refused)`,
    );
    expect(t.err[0]).toContain('tributary dev');
    expect(t.err[0]).toContain('--direct');
  });

  it('prints the plan per partition with a total', () => {
    const lines = formatReplay({
      trigger: 'ns/t',
      broker: 'ns/default',
      groupId: 'knative-trigger-ns-t',
      from: '2026-01-31T09:00:00.000Z',
      dryRun: true,
      applied: 'none',
      events: 12,
      partitions: [
        { partition: 0, current: '120', target: '110', events: 10 },
        { partition: 1, current: null, target: '7', events: 2 },
      ],
    });
    expect(lines).toEqual([
      'Trigger ns/t (consumer group knative-trigger-ns-t) on broker ns/default, from 2026-01-31T09:00:00.000Z:',
      '  partition  current  target  events',
      '  0              120     110      10',
      '  1                -       7       2',
      '  total                           12',
      'dry run: nothing moved; 12 event(s) would be delivered again.',
    ]);
  });
});
