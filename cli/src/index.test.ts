import { describe, expect, it } from '@jest/globals';
import { backendOf, parseBrokerEnv } from './env.js';
import { main } from './index.js';

function io(env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { env, stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l) } };
}

describe('tributary', () => {
  it('lists the commands', async () => {
    const t = io();
    expect(await main(['--help'], t.io)).toBe(0);
    expect(t.out.join('\n')).toMatch(/broker\s+run the broker ingress/);
  });

  it('prints a command usage with --help, and a usage error for bad options', async () => {
    const t = io();
    expect(await main(['broker', '--help'], t.io)).toBe(0);
    expect(t.out[0]).toContain('usage: tributary broker --config <dir> [--port <n>]');
    const u = io();
    expect(await main(['broker'], u.io)).toBe(2);
    expect(u.err[0]).toContain('--config <dir> is required');
    const v = io();
    expect(await main(['broker', '--config', 'x', '--port', 'abc'], v.io)).toBe(2);
    expect(v.err[0]).toContain('invalid --port "abc"');
  });

  it('rejects unknown commands', async () => {
    const t = io();
    expect(await main(['nope'], t.io)).toBe(2);
    expect(t.err[0]).toContain('unknown command "nope"');
  });

  it('names the missing backend variables', async () => {
    const t = io({});
    expect(await main(['broker', '--config', '.'], t.io)).toBe(1);
    expect(t.err[0]).toContain(
      'KAFKA_BROKERS: set KAFKA_BROKERS (kafka backend) or DATABASE_URL (postgres backend)',
    );
  });
});

describe('broker env', () => {
  it('chooses kafka when KAFKA_BROKERS is set, else postgres', () => {
    const both = parseBrokerEnv({ KAFKA_BROKERS: 'a:9092,b:9092', DATABASE_URL: 'postgres://u@h/db' });
    expect(both.KAFKA_BROKERS).toEqual(['a:9092', 'b:9092']);
    expect(backendOf(both)).toBe('kafka');
    expect(backendOf(parseBrokerEnv({ DATABASE_URL: 'postgres://u@h/db' }))).toBe('postgres');
  });

  it('validates the JWT secret and port', () => {
    expect(() => parseBrokerEnv({ DATABASE_URL: 'postgres://u@h/db', BROKER_JWT_SECRET: 'short' })).toThrow(
      'BROKER_JWT_SECRET: must be at least 32 characters',
    );
    expect(() => parseBrokerEnv({ DATABASE_URL: 'postgres://u@h/db', PORT: 'x' })).toThrow('PORT');
    expect(parseBrokerEnv({ DATABASE_URL: 'postgres://u@h/db' })).toMatchObject({
      PORT: 8080,
      HOST: '127.0.0.1',
    });
  });
});

describe('the command registry', () => {
  it('matches each command module (name, summary), which is loaded only when asked for', async () => {
    const { commands } = await import('./commands/index.js');
    for (const entry of commands) {
      const command = await entry.load();
      expect({ name: command.name, summary: command.summary }).toEqual({
        name: entry.name,
        summary: entry.summary,
      });
    }
  });

  it('answers a bad flag with one line and the synopsis, exit 2', async () => {
    const t = io();
    expect(await main(['publish', '--bogus'], t.io)).toBe(2);
    const text = t.err.join('\n');
    expect(text).toContain('tributary publish: unknown option "--bogus"');
    expect(text).toContain('usage: tributary publish --type <type>');
    expect(text).toContain('Run `tributary publish --help` for every option.');
    expect(text).not.toContain('To specify a positional argument');
    const v = io();
    expect(await main(['publish', '--type'], v.io)).toBe(2);
    expect(v.err[0]).toContain('option --type needs a value');
    const w = io();
    expect(await main(['--verbose'], w.io)).toBe(2);
    expect(w.err[0]).toContain('unknown option "--verbose"');
  });

  it('adds the stack trace of a failure with --debug, anywhere on the line', async () => {
    const dir = `/nonexistent-${process.pid}`;
    const plain = io();
    expect(await main(['tail', '--config', dir], plain.io)).toBe(1);
    expect(plain.err.join('\n')).toContain(`${dir}: no such file or folder`);
    expect(plain.err.join('\n')).not.toMatch(/\n\s+at /);
    const debug = io();
    expect(await main(['tail', '--debug', '--config', dir], debug.io)).toBe(1);
    expect(debug.err.join('\n')).toContain(`${dir}: no such file or folder`);
    expect(debug.err.join('\n')).toMatch(/\n\s+at /);
  });

  it('prints no stack trace for an unexpected error unless --debug is given', async () => {
    const file = `/nonexistent-${process.pid}/data.json`;
    const t = io();
    // A data file that cannot be read is a usage error; a broker that is down is a plain failure line.
    expect(await main(['publish', '--type', 'a.b', '--data-file', file], t.io)).toBe(2);
    expect(t.err.join('\n')).not.toMatch(/\n\s+at /);
    const u = io();
    expect(
      await main(['publish', '--type', 'a.b', '--url', 'http://127.0.0.1:1/x/y', '--retries', '0'], u.io),
    ).toBe(1);
    expect(u.err.join('\n')).toContain('ECONNREFUSED');
    expect(u.err.join('\n')).not.toMatch(/\n\s+at /);
  });
});
