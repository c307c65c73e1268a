// Sends fuzz requests and keeps score: answers by status, and every answer that breaks the rule (a 5xx, or a
// 4xx without a message).
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { request } from 'undici';
import type { FuzzRequest } from './generators.js';

export interface Answer {
  /** HTTP status; 0 when the server closed the connection without answering. */
  status: number;
  body: string;
  /** The client library refused to send it (e.g. a NUL in a header value): nothing reached the server. */
  unsendable?: boolean;
}

export class Score {
  readonly byStatus = new Map<string, number>();
  readonly violations: { request: string; status: number; body: string }[] = [];
  requests = 0;

  add(req: FuzzRequest, a: Answer): void {
    this.requests++;
    const key = a.unsendable ? 'unsendable' : a.status === 0 ? 'closed' : String(a.status);
    this.byStatus.set(key, (this.byStatus.get(key) ?? 0) + 1);
    const bad = a.status >= 500 || (a.status >= 400 && !hasMessage(a.body));
    if (bad && this.violations.length < 20) {
      this.violations.push({ request: describe(req), status: a.status, body: a.body.slice(0, 300) });
    }
  }

  /** `400: 812, 401: 120, ...`, statuses in order. */
  summary(): string {
    return [...this.byStatus.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
  }
}

/** A 4xx answer must say what is wrong: a JSON `message`/`error`, or some text. */
export function hasMessage(body: string): boolean {
  if (body.trim() === '') return false;
  try {
    const j = JSON.parse(body) as Record<string, unknown>;
    // Ours: { error, code, message }; Supabase Auth's hook format: { error: { http_code, message } }.
    const nested =
      j.error && typeof j.error === 'object' ? (j.error as Record<string, unknown>).message : undefined;
    return [j.message, j.error, nested].some((m) => typeof m === 'string' && m !== '');
  } catch {
    return true;
  }
}

function describe(req: FuzzRequest): string {
  if (req.raw) return `raw ${JSON.stringify(req.raw.toString('latin1').slice(0, 200))}`;
  const body = req.body === undefined ? '' : String(req.body).slice(0, 120);
  const headers =
    Object.keys(req.headers).length > 20
      ? `${Object.keys(req.headers).length} headers`
      : JSON.stringify(req.headers).slice(0, 300);
  return `${req.method} ${req.path.slice(0, 200)} ${headers} ${JSON.stringify(body)}`;
}

export async function send(base: string, req: FuzzRequest): Promise<Answer> {
  if (req.raw) return sendRaw(base, req.raw);
  try {
    const res = await request(`${base}${req.path}`, {
      method: req.method as 'POST',
      headers: req.headers,
      ...(req.body !== undefined ? { body: req.body } : {}),
      headersTimeout: 20_000,
      bodyTimeout: 20_000,
    });
    if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
      res.body.destroy();
      return { status: res.statusCode, body: 'stream' };
    }
    return { status: res.statusCode, body: await res.body.text() };
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code === 'UND_ERR_INVALID_ARG' || err instanceof TypeError)
      return { status: 0, body: '', unsendable: true };
    // The server answered early (413, 401) and closed while the body was still being sent.
    return { status: 0, body: String(err) };
  }
}

/** Writes `bytes` to a socket and reads the answer until the server closes (or 10 s pass). */
function sendRaw(base: string, bytes: Buffer): Promise<Answer> {
  const u = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    const done = () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      const sep = text.indexOf('\r\n\r\n');
      resolve({ status: m ? Number(m[1]) : 0, body: sep >= 0 ? text.slice(sep + 4) : '' });
    };
    const timer = setTimeout(() => socket.destroy(), 10_000);
    socket.on('data', (d) => {
      chunks.push(d);
      // One answer is enough: stop once its headers and the body they announce have arrived.
      const text = Buffer.concat(chunks).toString('latin1');
      const sep = text.indexOf('\r\n\r\n');
      const len = /\r\ncontent-length: (\d+)/i.exec(text);
      if (sep >= 0 && len && text.length - sep - 4 >= Number(len[1])) socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      done();
    });
    socket.write(bytes);
  });
}

/** Resident set size of a process in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/**
 * A slowloris client: sends headers announcing a 100-byte body, then one byte every 500 ms. Resolves with
 * whatever the server answered once it closes the connection.
 */
export function dribble(base: string, path: string): Promise<string> {
  const u = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(u.port), u.hostname);
    let answer = '';
    socket.on('data', (d) => {
      answer += d.toString('latin1');
    });
    socket.on('error', () => {});
    const timer = setInterval(() => {
      if (!socket.destroyed) socket.write('a');
    }, 500);
    socket.on('close', () => {
      clearInterval(timer);
      resolve(answer);
    });
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nAuthorization: Bearer x\r\nContent-Length: 100\r\n\r\n`,
    );
  });
}
