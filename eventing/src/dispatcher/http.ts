import { Agent, type Dispatcher, request } from 'undici';

/**
 * One HTTP POST of an encoded event, on an undici keep-alive pool. Redirects are not followed (a 3xx is a
 * failed delivery, as in the Kafka broker). `timeoutMs` bounds the wait for the response headers and every
 * wait for body data, like the Vert.x request timeout the Kafka broker uses (an idle timeout), without a
 * timer or AbortSignal per request.
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

export async function postEvent(agent: Dispatcher, url: string, opts: PostOptions): Promise<HttpResult> {
  try {
    const res = await request(url, {
      method: 'POST',
      headers: opts.headers,
      body: opts.body,
      dispatcher: agent,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    let body: Buffer = EMPTY;
    if (opts.readBody(res.statusCode, res.headers)) body = await readLimited(res.body, MAX_RESPONSE_BYTES);
    else await res.body.dump();
    return { status: res.statusCode, headers: res.headers, body };
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? err;
    const code = (err as { code?: string }).code;
    const timedOut = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
    const msg = timedOut
      ? `timed out after ${opts.timeoutMs} ms`
      : err instanceof Error
        ? err.message
        : String(err);
    throw new TransportError(msg, timedOut, err);
  }
}

const EMPTY = Buffer.alloc(0);

async function readLimited(
  body: AsyncIterable<Buffer> & { destroy?: () => void },
  limit: number,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const room = limit - size;
    if (chunk.length >= room) {
      chunks.push(chunk.subarray(0, room));
      size = limit;
      body.destroy?.();
      break;
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}
