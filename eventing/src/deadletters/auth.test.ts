import { describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import { createJwtAuth } from '../ingress/auth.js';
import { createSinkAuth, DEAD_LETTER_AUDIENCE, DISPATCHER_ROLE, deadLetterTokenSource } from './auth.js';

const secret = 'a-very-long-platform-jwt-secret-of-32-chars';
const key = new TextEncoder().encode(secret);

async function sign(claims: Record<string, unknown>, k = key, exp = '1h') {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp).sign(k);
}

describe('dead-letter sink tokens', () => {
  it('a dispatcher token passes the sink and is cached until half-life', async () => {
    const source = deadLetterTokenSource(secret, { subject: 'shop/default' });
    const token = await source();
    expect(await source()).toBe(token);
    expect(await createSinkAuth(secret)(`Bearer ${token}`)).toEqual({ ok: true, subject: 'shop/default' });
  });

  it('refuses no token, a forged one, alg:none, an operator token and an expired one', async () => {
    const auth = createSinkAuth(secret);
    expect(await auth(undefined)).toMatchObject({ ok: false, status: 401 });
    const forged = await sign(
      { role: DISPATCHER_ROLE, aud: DEAD_LETTER_AUDIENCE },
      new TextEncoder().encode('another-secret-another-secret-xx'),
    );
    expect(await auth(`Bearer ${forged}`)).toMatchObject({ ok: false, status: 401 });
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ role: DISPATCHER_ROLE, aud: DEAD_LETTER_AUDIENCE }),
    ).toString('base64url')}.`;
    expect(await auth(`Bearer ${none}`)).toMatchObject({ ok: false, status: 401 });
    const operator = await sign({ role: 'service_role' });
    expect(await auth(`Bearer ${operator}`)).toMatchObject({ ok: false, status: 401 }); // no audience
    const wrongRole = await sign({ role: 'service_role', aud: DEAD_LETTER_AUDIENCE });
    expect(await auth(`Bearer ${wrongRole}`)).toMatchObject({ ok: false, status: 403 });
    const expired = await sign({ role: DISPATCHER_ROLE, aud: DEAD_LETTER_AUDIENCE }, key, '-1m');
    expect(await auth(`Bearer ${expired}`)).toMatchObject({ ok: false, status: 401, message: 'JWT expired' });
  });

  it('a dispatcher token cannot publish to the ingress', async () => {
    const token = await deadLetterTokenSource(secret)();
    expect(await createJwtAuth({ jwtSecret: secret })(`Bearer ${token}`)).toMatchObject({
      ok: false,
      status: 403,
    });
  });
});
