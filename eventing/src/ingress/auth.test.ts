import { describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import { createJwtAuth } from './auth.js';

const secret = 'a-secret-of-at-least-thirty-two-characters!';
const sign = (claims: Record<string, unknown>, key = secret, alg = 'HS256') =>
  new SignJWT(claims).setProtectedHeader({ alg }).setExpirationTime('5m').sign(new TextEncoder().encode(key));

describe('createJwtAuth (PostgREST-style tokens)', () => {
  const auth = createJwtAuth({ jwtSecret: secret });

  it('admits the default roles authenticated and service_role', async () => {
    expect(await auth(`Bearer ${await sign({ role: 'authenticated' })}`)).toEqual({
      ok: true,
      role: 'authenticated',
    });
    expect(await auth(`bearer ${await sign({ role: 'service_role' })}`)).toEqual({
      ok: true,
      role: 'service_role',
    });
  });

  it('401 for a missing, malformed or wrongly signed token', async () => {
    expect(await auth(undefined)).toMatchObject({ ok: false, status: 401 });
    expect(await auth('Basic dXNlcjpwdw==')).toMatchObject({ ok: false, status: 401 });
    expect(await auth('Bearer not.a.jwt')).toMatchObject({ ok: false, status: 401 });
    expect(await auth(`Bearer ${await sign({ role: 'service_role' }, 'x'.repeat(40))}`)).toMatchObject({
      ok: false,
      status: 401,
    });
    expect(await auth(`Bearer ${await sign({ role: 'service_role' }, secret, 'HS512')}`)).toMatchObject({
      ok: false,
      status: 401,
    });
  });

  it('403 for anon, another role or no role', async () => {
    expect(await auth(`Bearer ${await sign({ role: 'anon' })}`)).toMatchObject({ ok: false, status: 403 });
    expect(await auth(`Bearer ${await sign({ sub: 'x' })}`)).toMatchObject({ ok: false, status: 403 });
    const only = createJwtAuth({ jwtSecret: secret, allowedRoles: ['publisher'] });
    expect(await only(`Bearer ${await sign({ role: 'service_role' })}`)).toMatchObject({ status: 403 });
    expect(await only(`Bearer ${await sign({ role: 'publisher' })}`)).toEqual({
      ok: true,
      role: 'publisher',
    });
  });
});
