import { describe, expect, it } from '@jest/globals';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { parseAllDocuments } from 'yaml';
import { UsageError } from '../command.js';
import { keysCommand } from './keys.js';

interface SecretDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
  stringData: Record<string, string>;
}

async function run(argv: string[]): Promise<SecretDoc[]> {
  const out: string[] = [];
  const code = await keysCommand.run(argv, { env: {}, stdout: (l) => out.push(l), stderr: () => {} });
  expect(code).toBe(0);
  return parseAllDocuments(out.join('\n')).map((d) => d.toJS() as SecretDoc);
}

const TEN_YEARS = 10 * 365.25 * 24 * 3600;

describe('tributary keys', () => {
  it('prints a Secret with a JWT secret and anon/service_role keys that verify against it', async () => {
    const [doc, ...rest] = await run([]);
    expect(rest).toHaveLength(0);
    expect(doc).toMatchObject({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'tributary-jwt', namespace: 'tributary' },
    });
    const data = doc?.stringData ?? {};
    const secret = data['jwt-secret'] ?? '';
    expect(secret.length).toBeGreaterThanOrEqual(32);
    const key = new TextEncoder().encode(secret);
    for (const [field, role] of [
      ['anon-key', 'anon'],
      ['service-role-key', 'service_role'],
    ] as const) {
      const jwt = data[field] ?? '';
      expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'HS256', typ: 'JWT' });
      const { payload } = await jwtVerify(jwt, key, { issuer: 'supabase', algorithms: ['HS256'] });
      expect(payload.role).toBe(role);
      expect(typeof payload.iat).toBe('number');
      expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(Math.round(TEN_YEARS));
    }
    // A key signed with another secret does not verify.
    await expect(jwtVerify(data['anon-key'] ?? '', new TextEncoder().encode('x'.repeat(40)))).rejects.toThrow(
      'signature verification failed',
    );
  });

  it('honours --namespace, --name, --jwt-secret and --years', async () => {
    const jwtSecret = 'a-very-long-shared-secret-of-at-least-32-chars';
    const [doc] = await run([
      '-n',
      'platform',
      '--name',
      'api-keys',
      '--jwt-secret',
      jwtSecret,
      '--years',
      '1',
    ]);
    expect(doc?.metadata).toEqual({ name: 'api-keys', namespace: 'platform', labels: expect.any(Object) });
    expect(doc?.stringData['jwt-secret']).toBe(jwtSecret);
    const { payload } = await jwtVerify(
      doc?.stringData['anon-key'] ?? '',
      new TextEncoder().encode(jwtSecret),
    );
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(Math.round(365.25 * 24 * 3600));
  });

  it('with --all also prints every other Secret infra/ references, with consistent credentials', async () => {
    const docs = await run(['--all']);
    expect(docs.map((d) => d.metadata.name)).toEqual([
      'tributary-jwt',
      'tributary-postgres',
      'tributary-minio',
      'tributary-storage-events',
      'tributary-auth-hooks',
    ]);
    const pg = docs[1]?.stringData ?? {};
    expect(pg.url).toBe(`postgres://postgres:${pg.password}@postgres:5432/postgres`);
    expect(pg['db-events-url']).toBe(
      `postgres://db_events:${pg['db-events-password']}@postgres:5432/postgres`,
    );
    expect(pg['postgrest-url']).toBe(
      `postgres://authenticator:${pg['authenticator-password']}@postgres:5432/postgres`,
    );
    expect(new Set([pg.password, pg['db-events-password'], pg['authenticator-password']]).size).toBe(3);
    const hook = docs[4]?.stringData.secrets ?? '';
    expect(hook).toMatch(/^v1,whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(hook.slice('v1,whsec_'.length), 'base64')).toHaveLength(32);
    // Two runs never share a value.
    const again = await run(['--all']);
    expect(again[1]?.stringData.password).not.toBe(pg.password);
  });

  it('refuses a short --jwt-secret and a bad --years', async () => {
    const io = { env: {}, stdout: () => {}, stderr: () => {} };
    await expect(keysCommand.run(['--jwt-secret', 'short'], io)).rejects.toThrow(UsageError);
    await expect(keysCommand.run(['--years', '0'], io)).rejects.toThrow('invalid --years "0"');
  });
});
