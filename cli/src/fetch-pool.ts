/**
 * The part of undici's `Pool` that the publisher SDK uses (`request`, `close`), over Node's built-in `fetch`.
 * The CLI's build (build.mjs) puts it in place of the `undici` package: a command publishes a handful of
 * events, so it does not need a connection pool, and Node's own HTTP client is already compiled into Node,
 * where undici's 900 KB of JavaScript would be parsed on every run (docs/BENCHMARKS.md, "CLI start-up").
 * Tests and services use the real undici.
 */
export interface PoolRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

export interface PoolResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: AsyncIterable<Uint8Array> & { dump(): Promise<void> };
}

export class Pool {
  constructor(
    private readonly origin: string,
    _options?: unknown,
  ) {}

  async request(req: PoolRequest): Promise<PoolResponse> {
    let res: Response;
    try {
      res = await fetch(new URL(req.path, this.origin), {
        method: req.method,
        ...(req.headers ? { headers: req.headers } : {}),
        ...(req.body !== undefined ? { body: req.body } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
      });
    } catch (err) {
      // fetch wraps the network error ("fetch failed"); undici's request throws it as it is.
      const cause = (err as { cause?: unknown }).cause;
      throw cause && typeof cause === 'object' ? cause : err;
    }
    const headers: Record<string, string> = {};
    res.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const stream = res.body;
    const body = {
      async *[Symbol.asyncIterator]() {
        if (stream) yield* stream as unknown as AsyncIterable<Uint8Array>;
      },
      async dump() {
        await stream?.cancel().catch(() => undefined);
      },
    };
    return { statusCode: res.status, headers, body };
  }

  async close(): Promise<void> {}
}
