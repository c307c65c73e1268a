import { describe, expect, it } from '@jest/globals';
import { NonRetriableError } from '@tributary/function-runtime';
import { createLogger } from '@tributary/shared';
import { CloudEvent } from 'cloudevents';
import { composeEmails, type EmailRequested, handle, init, schema } from './index.js';

const request: EmailRequested = {
  user: { id: '8484b834-f29e-4af2-bf42-80644d154f76', email: 'ada@example.com' },
  email_data: {
    token: '305805',
    token_hash: 'abc123',
    redirect_to: 'http://localhost:3000/welcome',
    email_action_type: 'signup',
    site_url: 'http://localhost:9999/auth/v1',
    token_new: '',
    token_hash_new: '',
  },
};

describe('send-auth-email (unit)', () => {
  it('composes a sign-up email with the verify link and the code', () => {
    const [email, ...rest] = composeEmails(schema.parse(request));
    expect(rest).toHaveLength(0);
    expect(email).toMatchObject({
      recipient: 'ada@example.com',
      subject: 'Confirm your sign-up',
      actionType: 'signup',
    });
    expect(email?.link).toBe(
      'http://localhost:9999/auth/v1/verify?token=abc123&type=signup&redirect_to=http%3A%2F%2Flocalhost%3A3000%2Fwelcome',
    );
    expect(email?.text).toContain('305805');
  });

  it('sends an email change to both addresses with their own tokens', () => {
    const emails = composeEmails(
      schema.parse({
        user: { ...request.user, new_email: 'ada@new.example.com' },
        email_data: {
          ...request.email_data,
          email_action_type: 'email_change',
          token_new: '111111',
          token_hash_new: 'current-hash',
        },
      }),
    );
    expect(emails.map((e) => [e.recipient, new URL(e.link!).searchParams.get('token')])).toEqual([
      ['ada@new.example.com', 'abc123'],
      ['ada@example.com', 'current-hash'],
    ]);
    expect(emails[1]?.text).toContain('111111');
  });

  it('sends reauthentication as a code only, and refuses a request without a recipient', () => {
    const [email] = composeEmails(
      schema.parse({
        ...request,
        email_data: { ...request.email_data, email_action_type: 'reauthentication' },
      }),
    );
    expect(email?.link).toBeNull();
    expect(() => composeEmails(schema.parse({ ...request, user: { id: 'u' } }))).toThrow(NonRetriableError);
  });

  it('declares a schema that rejects data without email_data', () => {
    expect(schema.safeParse(request).success).toBe(true);
    expect(schema.safeParse({ user: request.user }).success).toBe(false);
  });

  it('fails init naming the variable, and refuses to handle before init', async () => {
    await expect(init({})).rejects.toThrow(/DATABASE_URL/);
    await expect(init({ DATABASE_URL: 'postgres://x/y', EMAIL_OUTBOX_TABLE: 'outbox' })).rejects.toThrow(
      /EMAIL_OUTBOX_TABLE must be schema.table/,
    );
    const event = new CloudEvent<EmailRequested>({
      id: 'e1',
      source: '/auth',
      type: 'dev.tributary.auth.email.requested',
      data: request,
    });
    const context = {
      log: createLogger({ name: 't', level: 'silent' }),
      headers: {},
      method: 'POST',
      query: {},
      body: event.data,
      cloudevent: event,
      functionName: 'send-auth-email',
    };
    await expect(handle(context, event)).rejects.toThrow(/not initialised/);
  });
});
