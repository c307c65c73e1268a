import { describe, expect, it } from '@jest/globals';
import { main } from '../index.js';
import { captureIo } from './capture-io.test-util.js';
import { parseExtensions, prettyBody } from './publish.js';

describe('tributary publish (no broker needed)', () => {
  it('needs a type, and JSON data', async () => {
    const a = captureIo();
    expect(await main(['publish'], a.io)).toBe(2);
    expect(a.err[0]).toContain('--type <type> is required');
    const b = captureIo();
    expect(await main(['publish', '--type', 'com.example.x', '--data', '{nope'], b.io)).toBe(2);
    expect(b.err[0]).toContain('--data is not valid JSON');
    const c = captureIo();
    expect(
      await main(['publish', '--type', 'com.example.x', '--data', '1', '--data-file', 'f.json'], c.io),
    ).toBe(2);
    expect(c.err[0]).toContain('give --data or --data-file, not both');
    const d = captureIo();
    expect(await main(['publish', '--type', 'com.example.x', '--url', 'ftp://host/x'], d.io)).toBe(2);
    expect(d.err[0]).toContain('--url must be an http(s) URL');
    const e = captureIo();
    expect(await main(['publish', '--type', 'com.example.x', '--data-file', '/nonexistent.json'], e.io)).toBe(
      2,
    );
    expect(e.err[0]).toContain('--data-file: cannot read /nonexistent.json (ENOENT)');
  });

  it('checks extension names as CloudEvents does before sending', async () => {
    expect(parseExtensions(['partitionkey=a=b', 'color='])).toEqual({ partitionkey: 'a=b', color: '' });
    expect(() => parseExtensions(['novalue'])).toThrow('--ext expects <name>=<value>, got "novalue"');
    expect(() => parseExtensions(['data=x'])).toThrow('--ext cannot set "data"');
    const t = captureIo();
    expect(await main(['publish', '--type', 'com.example.x', '--ext', 'Bad_Name=1'], t.io)).toBe(2);
    expect(t.err[0]).toMatch(/Bad_Name/);
  });

  it('says when nothing listens at the URL (exit 1)', async () => {
    const t = captureIo();
    expect(
      await main(
        [
          'publish',
          '--type',
          'com.example.x',
          '--url',
          'http://127.0.0.1:1/default/default',
          '--retries',
          '0',
        ],
        t.io,
      ),
    ).toBe(1);
    expect(t.err.join('\n')).toContain('failed after 1 attempts');
    expect(t.err.join('\n')).toContain('is `tributary dev` (or `tributary broker`) running?');
  });

  it("prints the broker's error body readably", () => {
    expect(
      prettyBody(
        JSON.stringify({
          error: 'Bad Request',
          code: 'EVENT_SCHEMA',
          message: 'invalid event',
          details: { issues: ['data.record: required'] },
        }),
      ),
    ).toBe('EVENT_SCHEMA: invalid event\n  - data.record: required');
    expect(prettyBody('plain text\n')).toBe('plain text');
    expect(prettyBody('{"a":1}')).toBe('{\n  "a": 1\n}');
  });
});
