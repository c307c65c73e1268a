// Test helpers: real Standard Webhooks signing, realistic Auth payloads and a local HTTP server that
// records the CloudEvents it receives (the unit tests' stand-in for the broker; e2e.int.test.ts uses the real one).
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CloudEvent,
  createLogger,
  createPublisher,
  decodeHttp,
  type Publisher,
} from '@tributary/shared';
import { Webhook } from 'standardwebhooks';

export const silentLogger = createLogger({ name: 'auth-hooks-test', level: 'silent' });

/** A fresh secret in Supabase's form. */
export function newSecret(): string {
  return `v1,whsec_${randomBytes(32).toString('base64')}`;
}

export interface SignOptions {
  id?: string;
  /** Unix seconds; default now. */
  timestamp?: number;
  /** How several signatures are joined (Auth uses ", "). */
  joiner?: string;
}

/** Signs `body` with every secret exactly as Auth does (one `v1,<sig>` per secret, joined by ", "). */
export function signedHeaders(
  secrets: string[],
  body: string,
  opts: SignOptions = {},
): Record<string, string> {
  const id = opts.id ?? randomUUID();
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const sigs = secrets.map((s) => new Webhook(s.replace(/^v1,/, '')).sign(id, new Date(ts * 1000), body));
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': sigs.join(opts.joiner ?? ', '),
  };
}

export function metadata(name: string) {
  return { uuid: randomUUID(), time: new Date().toISOString(), name, ip_address: '127.0.0.1' };
}

export function user(overrides: Record<string, unknown> = {}) {
  return {
    id: randomUUID(),
    aud: 'authenticated',
    role: 'authenticated',
    email: 'ada@example.com',
    phone: '',
    app_metadata: { provider: 'email', providers: ['email'] },
    user_metadata: {},
    identities: [],
    created_at: '2025-01-01T00:00:00Z',
    updated_at: '2025-01-01T00:00:00Z',
    is_anonymous: false,
    ...overrides,
  };
}

/** The claims Auth sends to the custom access token hook: the full required set and some optional ones. */
export function claims(userId: string) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: 'http://127.0.0.1:9999/auth/v1',
    aud: 'authenticated',
    exp: now + 3600,
    iat: now,
    sub: userId,
    email: 'ada@example.com',
    phone: '',
    app_metadata: { provider: 'email', providers: ['email'] },
    user_metadata: {},
    role: 'authenticated',
    aal: 'aal1',
    amr: [{ method: 'password', timestamp: now }],
    session_id: randomUUID(),
    is_anonymous: false,
  };
}

export const REQUIRED_CLAIMS = [
  'iss',
  'aud',
  'exp',
  'iat',
  'sub',
  'role',
  'aal',
  'session_id',
  'email',
  'phone',
  'is_anonymous',
] as const;

/** One realistic payload per hook (supabase/auth internal/hooks/v0hooks). */
export function payloads() {
  const u = user();
  return {
    'custom-access-token': {
      metadata: metadata('customize-access-token'),
      user_id: u.id,
      claims: claims(u.id),
      authentication_method: 'password',
    },
    'send-email': {
      metadata: metadata('send-email'),
      user: u,
      email_data: {
        token: '305805',
        token_hash: '7d5b7b1964cf5d388340a7f04f1dbb5eeb6c7b52ef8270e1737a58d0',
        redirect_to: 'http://localhost:3000/',
        email_action_type: 'signup',
        site_url: 'http://localhost:9999',
        token_new: '',
        token_hash_new: '',
      },
    },
    'send-sms': {
      metadata: metadata('send-sms'),
      user: { ...u, phone: '15551234567' },
      sms: { otp: '561166' },
    },
    'mfa-verification-attempt': {
      metadata: metadata('mfa-verification'),
      user_id: u.id,
      factor_id: randomUUID(),
      factor_type: 'totp',
      valid: true,
    },
    'password-verification-attempt': {
      metadata: metadata('password-verification'),
      user_id: u.id,
      valid: false,
    },
    'before-user-created': { metadata: metadata('before-user-created'), user: u },
    'after-user-created': { metadata: metadata('after-user-created'), user: u },
  };
}

export type BrokerBehaviour = 'accept' | 'reject' | 'unavailable' | 'hang';

/** A local HTTP server that decodes and records the CloudEvents POSTed to it. */
export class RecordingBroker {
  readonly events: CloudEvent<unknown>[] = [];
  behaviour: BrokerBehaviour = 'accept';
  private server: Server | undefined;
  private readonly waiting = new Set<() => void>();
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.behaviour === 'hang') return;
        if (this.behaviour === 'unavailable') return void res.writeHead(503).end('unavailable');
        if (this.behaviour === 'reject') return void res.writeHead(400).end('rejected');
        try {
          this.events.push(...decodeHttp(req.headers as IncomingHttpHeaders, Buffer.concat(chunks)));
          res.writeHead(202).end();
        } catch (err) {
          res.writeHead(400).end((err as Error).message);
        }
        for (const w of this.waiting) w();
      });
    });
    this.server.keepAliveTimeout = 100;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/default/default`;
    return this;
  }

  /** The recorded event with this id (waits until it arrives). */
  async event(id: string, timeoutMs = 5000): Promise<CloudEvent<unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e) => e.id === id);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no event with id ${id}`);
      await new Promise<void>((r) => {
        const w = () => {
          this.waiting.delete(w);
          r();
        };
        this.waiting.add(w);
        setTimeout(w, 50);
      });
    }
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** The publisher from @tributary/shared, single attempt, as auth-hooks uses it. */
export function publisherFor(url: string): Publisher {
  return createPublisher({ url, mode: 'binary', timeoutMs: 2000, retries: 0 });
}
