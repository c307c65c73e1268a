import { Agent, type Dispatcher, util } from 'undici';

/**
 * One HTTP POST of an encoded event, on an undici keep-alive pool. Redirects are not followed (a 3xx is a
 * failed delivery, as in the Kafka broker). `timeoutMs` bounds the wait for the response headers and every
 * wait for body data, like the Vert.x request timeout the Kafka broker uses (an idle timeout), without a
 * timer per request.
 *
 * This is the dispatcher's hot path, so it talks to undici's `dispatch` directly: no `Readable` for the
 * response body, no URL parsing per request, and one abort listener per `AbortSignal` rather than one per
 * request. A response body is read only when `readBody` asks for it (a failure's body, a reply).
 */
export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Largest response body read (a reply event or error data); larger bodies are cut. */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export function createHttpAgent(connections = 128): Agent {
  return new Agent({ connections, keepAliveTimeout: 30_000, pipelining: 1 });
}

export interface PostOptions {
  headers: Record<string, string>;
  body: Buffer;
  timeoutMs: number;
  /** Aborts on shutdown. */
  signal?: AbortSignal;
  /** Read the body only when needed; `false` discards it. */
  readBody: (status: number, headers: HttpResult['headers']) => boolean;
}

export class TransportError extends Error {
  constructor(
    message: string,
    readonly timedOut: boolean,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

interface Target {
  origin: string;
  path: string;
}

const targets = new Map<string, Target>();
const MAX_TARGETS = 1024;

/** `url` split into origin and path once (subscriber URLs repeat for every event). */
function targetOf(url: string): Target {
  let t = targets.get(url);
  if (t === undefined) {
    const u = new URL(url);
    t = { origin: u.origin, path: `${u.pathname}${u.search}` };
    if (targets.size >= MAX_TARGETS) targets.clear();
    targets.set(url, t);
  }
  return t;
}

/**
 * Requests running under each signal, aborted together when it fires: one listener per signal instead of
 * one per request.
 */
const bySignal = new WeakMap<AbortSignal, Set<PostHandler>>();

function register(signal: AbortSignal, h: PostHandler): void {
  let set = bySignal.get(signal);
  if (set === undefined) {
    const created = new Set<PostHandler>();
    set = created;
    bySignal.set(signal, created);
    signal.addEventListener(
      'abort',
      () => {
        for (const r of created) r.cancel(signal.reason);
        created.clear();
      },
      { once: true },
    );
  }
  set.add(h);
}

export function postEvent(agent: Dispatcher, url: string, opts: PostOptions): Promise<HttpResult> {
  if (opts.signal?.aborted) return Promise.reject(opts.signal.reason ?? new Error('aborted'));
  return new Promise<HttpResult>((resolve, reject) => {
    const handler = new PostHandler(opts, resolve, reject);
    if (opts.signal) register(opts.signal, handler);
    const t = targetOf(url);
    agent.dispatch(
      {
        origin: t.origin,
        path: t.path,
        method: 'POST',
        headers: opts.headers,
        body: opts.body,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      },
      handler,
    );
  });
}

const EMPTY = Buffer.alloc(0);

/** undici's (legacy, unwrapped) dispatch handler for one POST. */
class PostHandler implements Dispatcher.DispatchHandler {
  private abortFn: ((err?: Error) => void) | undefined;
  private status = 0;
  private headers: HttpResult['headers'] = {};
  private chunks: Buffer[] | undefined;
  private size = 0;
  private truncated = false;
  private cancelled: unknown;
  private settled = false;

  constructor(
    private readonly opts: PostOptions,
    private readonly resolve: (r: HttpResult) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  /** Shutdown: abort the request (or drop it before it starts). */
  cancel(reason: unknown): void {
    this.cancelled = reason ?? new Error('aborted');
    if (this.abortFn) this.abortFn(this.cancelled instanceof Error ? this.cancelled : undefined);
    else this.finish(undefined, this.cancelled);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.cancelled !== undefined) {
      abort(this.cancelled instanceof Error ? this.cancelled : undefined);
      return;
    }
    this.abortFn = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    // 1xx informational responses are followed by the real one.
    if (statusCode < 200) return true;
    this.status = statusCode;
    this.headers = util.parseHeaders(rawHeaders) as HttpResult['headers'];
    if (this.opts.readBody(statusCode, this.headers)) this.chunks = [];
    return true;
  }

  onData(chunk: Buffer): boolean {
    const chunks = this.chunks;
    if (chunks === undefined || this.truncated) return true;
    const room = MAX_RESPONSE_BYTES - this.size;
    if (chunk.length >= room) {
      chunks.push(chunk.subarray(0, room));
      this.size = MAX_RESPONSE_BYTES;
      // Enough read: drop the rest of the response (and its connection).
      this.truncated = true;
      this.abortFn?.();
      return true;
    }
    chunks.push(chunk);
    this.size += chunk.length;
    return true;
  }

  onComplete(): void {
    this.finish(this.result());
  }

  onError(err: Error): void {
    if (this.truncated && this.cancelled === undefined) {
      this.finish(this.result());
      return;
    }
    if (this.cancelled !== undefined) {
      this.finish(undefined, this.cancelled);
      return;
    }
    const code = (err as { code?: string }).code;
    const timedOut = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
    const msg = timedOut ? `timed out after ${this.opts.timeoutMs} ms` : err.message;
    this.finish(undefined, new TransportError(msg, timedOut, err));
  }

  private result(): HttpResult {
    const c = this.chunks;
    const body =
      c === undefined || c.length === 0
        ? EMPTY
        : c.length === 1
          ? (c[0] as Buffer)
          : Buffer.concat(c, this.size);
    return { status: this.status, headers: this.headers, body };
  }

  private finish(result: HttpResult | undefined, err?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (this.opts.signal) bySignal.get(this.opts.signal)?.delete(this);
    if (result) this.resolve(result);
    else this.reject(err);
  }
}
