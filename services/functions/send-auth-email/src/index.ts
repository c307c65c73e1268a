import { type Context, NonRetriableError, TributaryError } from '@tributary/function-runtime';
import { inLockedTransaction, parseEnv, quoteIdent, quoteTable } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import pg from 'pg';
import { z } from 'zod';

/**
 * Handles `dev.tributary.auth.email.requested` (auth-hooks' send-email hook event: the payload Supabase
 * Auth sent, `{ metadata, user, email_data }`) by writing the email(s) to an outbox table that a mailer
 * drains. Idempotent on (event id, recipient), so a redelivered event adds nothing.
 */
export const schema = z.looseObject({
  user: z.looseObject({
    id: z.string().min(1),
    email: z.string().optional(),
    new_email: z.string().optional(),
  }),
  email_data: z.looseObject({
    token: z.string().optional().default(''),
    token_hash: z.string().optional().default(''),
    redirect_to: z.string().optional().default(''),
    email_action_type: z.string().min(1),
    site_url: z.string().optional().default(''),
    token_new: z.string().optional().default(''),
    token_hash_new: z.string().optional().default(''),
  }),
});

export type EmailRequested = z.input<typeof schema>;

export interface OutboxEmail {
  recipient: string;
  subject: string;
  text: string;
  actionType: string;
  /** The verification link, when the action has one (not for reauthentication, which is OTP only). */
  link: string | null;
}

const SUBJECTS: Record<string, string> = {
  signup: 'Confirm your sign-up',
  invite: 'You have been invited',
  magiclink: 'Your sign-in link',
  recovery: 'Reset your password',
  email_change: 'Confirm your email change',
  email: 'Your sign-in code',
  reauthentication: 'Confirm it is you',
};

/** Auth's verify endpoint: `<site_url>/verify?token=<token_hash>&type=<action>&redirect_to=<url>`. */
function verifyLink(siteUrl: string, tokenHash: string, type: string, redirectTo: string): string | null {
  if (!siteUrl || !tokenHash) return null;
  const url = new URL('verify', siteUrl.endsWith('/') ? siteUrl : `${siteUrl}/`);
  url.searchParams.set('token', tokenHash);
  url.searchParams.set('type', type);
  if (redirectTo) url.searchParams.set('redirect_to', redirectTo);
  return url.toString();
}

function compose(recipient: string, type: string, otp: string, link: string | null): OutboxEmail {
  const lines = [SUBJECTS[type] ?? 'Action required', ''];
  if (link) lines.push(`Open this link to continue: ${link}`);
  if (otp) lines.push(`Or enter this code: ${otp}`);
  return {
    recipient,
    subject: SUBJECTS[type] ?? 'Action required',
    text: lines.join('\n'),
    actionType: type,
    link,
  };
}

/**
 * The emails one request needs. For `email_change` with secure email change on, Auth asks for two: the
 * confusingly named pair `token`/`token_hash` belongs to the NEW address (`user.new_email`) and
 * `token_new`/`token_hash_new` to the CURRENT one (`user.email`) (supabase/auth internal/api/mail.go).
 */
export function composeEmails(data: z.output<typeof schema>): OutboxEmail[] {
  const { user, email_data: d } = data;
  const type = d.email_action_type;
  if (type === 'email_change') {
    const emails: OutboxEmail[] = [];
    if (user.new_email) {
      emails.push(
        compose(user.new_email, type, d.token, verifyLink(d.site_url, d.token_hash, type, d.redirect_to)),
      );
    }
    if (user.email && d.token_hash_new) {
      emails.push(
        compose(user.email, type, d.token_new, verifyLink(d.site_url, d.token_hash_new, type, d.redirect_to)),
      );
    }
    if (emails.length === 0) throw new NonRetriableError('email_change request without a recipient');
    return emails;
  }
  if (!user.email) throw new NonRetriableError(`${type} email requested for a user without an email`);
  const link = type === 'reauthentication' ? null : verifyLink(d.site_url, d.token_hash, type, d.redirect_to);
  return [compose(user.email, type, d.token, link)];
}

const envSchema = z.object({
  DATABASE_URL: z.string().min(1, 'DATABASE_URL is required'),
  EMAIL_OUTBOX_TABLE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/, 'EMAIL_OUTBOX_TABLE must be schema.table')
    .default('tributary_auth.email_outbox'),
  EMAIL_FROM: z.string().min(1).default('no-reply@localhost'),
});

let pool: pg.Pool | undefined;
let table = '"tributary_auth"."email_outbox"';
let sender = 'no-reply@localhost';

/** Connects once per instance and creates the outbox table if it is missing (Knative Functions `init`). */
export async function init(env: Record<string, string | undefined> = process.env): Promise<void> {
  const config = parseEnv(envSchema, env);
  const [schemaName] = config.EMAIL_OUTBOX_TABLE.split('.') as [string, string];
  table = quoteTable(config.EMAIL_OUTBOX_TABLE);
  sender = config.EMAIL_FROM;
  pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 4 });
  await inLockedTransaction(pool, 'tributary_send_auth_email_ddl', async (client) => {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schemaName)}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (
      event_id text NOT NULL,
      recipient text NOT NULL,
      user_id text NOT NULL,
      sender text NOT NULL,
      subject text NOT NULL,
      body_text text NOT NULL,
      action_type text NOT NULL,
      link text,
      created_at timestamptz NOT NULL DEFAULT now(),
      sent_at timestamptz,
      PRIMARY KEY (event_id, recipient)
    )`);
  });
}

export async function shutdown(): Promise<void> {
  await pool?.end();
  pool = undefined;
}

/** Writes the requested email(s) to the outbox; returns nothing (204). */
export async function handle(context: Context, event: CloudEvent<EmailRequested>): Promise<void> {
  if (!pool) throw new TributaryError('send-auth-email not initialised', { code: 'NOT_READY' });
  const parsed = schema.safeParse(event.data);
  if (!parsed.success)
    throw new NonRetriableError(`not an email request: ${parsed.error.issues[0]?.message}`);
  const emails = composeEmails(parsed.data);
  const values: unknown[] = [];
  const rows = emails.map((e, i) => {
    values.push(event.id, e.recipient, parsed.data.user.id, sender, e.subject, e.text, e.actionType, e.link);
    const o = i * 8;
    return `($${o + 1}, $${o + 2}, $${o + 3}, $${o + 4}, $${o + 5}, $${o + 6}, $${o + 7}, $${o + 8})`;
  });
  const res = await pool.query(
    `INSERT INTO ${table} (event_id, recipient, user_id, sender, subject, body_text, action_type, link)
     VALUES ${rows.join(', ')} ON CONFLICT (event_id, recipient) DO NOTHING`,
    values,
  );
  // Never log the token or the link: they sign the user in.
  context.log.info(
    {
      eventId: event.id,
      userId: parsed.data.user.id,
      type: parsed.data.email_data.email_action_type,
      queued: res.rowCount,
    },
    'auth email queued',
  );
}
