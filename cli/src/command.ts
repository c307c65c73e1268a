import { type ParseArgsConfig, parseArgs } from 'node:util';

/**
 * One `tributary` subcommand. Each lives in `src/commands/<name>.ts` and is listed in
 * `src/commands/index.ts`; `tributary <name> --help` prints its usage.
 */
export interface Command {
  name: string;
  /** One line for `tributary --help`. */
  summary: string;
  /** Full usage text for `tributary <name> --help`. */
  usage: string;
  /** Runs the command; resolves to the exit code (a long-running command resolves when it stops). */
  run(argv: string[], io: CommandIo): Promise<number>;
}

export interface CommandIo {
  env: Record<string, string | undefined>;
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

/** parseArgs' errors in a line each: `unknown option "--bogus"`, `option --type needs a value`. */
function usageMessage(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']+)'/.exec(message)?.[1];
    return option ? `unknown option "${option}"` : message;
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const option = /Option '(?:-\w, )?(--[\w-]+)/.exec(message)?.[1];
    if (option && /argument missing/.test(message)) return `option ${option} needs a value`;
  }
  return message;
}

/** A usage error: printed with the command's synopsis, exit code 2. */
export class UsageError extends Error {}

/** `node:util` parseArgs with usage errors instead of TypeErrors. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(usageMessage(err));
  }
}

/**
 * A service the command needs is not running (or not reachable). The message names it, where it was looked
 * for and how to start it: `MinIO is not reachable at http://127.0.0.1:9000 (connection refused). Start it
 * with \`pnpm tributary dev\`, or set MINIO_ENDPOINT to a running one.`
 */
export class ServiceUnavailableError extends Error {
  constructor(
    readonly service: string,
    readonly url: string,
    readonly howToStart: string,
    cause?: unknown,
  ) {
    super(
      `${service} is not reachable at ${url}${cause ? ` (${networkReason(cause) ?? describeError(cause)})` : ''}. ${howToStart}`,
      { cause },
    );
    this.name = 'ServiceUnavailableError';
  }
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'timed out',
  UND_ERR_SOCKET: 'connection closed',
};

/** The network failure behind `err` (or its causes), in words, e.g. "connection refused"; else undefined. */
export function networkReason(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_REASONS[code]) return NETWORK_REASONS[code];
    const inner = (e as { errors?: unknown[] }).errors?.[0];
    e = inner ?? (e as { cause?: unknown }).cause;
  }
  if (err instanceof Error && err.name === 'TimeoutError') return 'timed out';
  return undefined;
}

/** One readable line for any error: its message and its causes', without the stack. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    let text = e instanceof Error ? e.message : String(e);
    const inner = (e as { errors?: unknown[] }).errors?.[0];
    if (!text && inner !== undefined) text = describeError(inner);
    if (text && !parts.some((p) => p.includes(text))) parts.push(text);
    // A ServiceUnavailableError already says why, in words.
    e = e instanceof Error && !(e instanceof ServiceUnavailableError) ? e.cause : undefined;
  }
  return parts.join(': ') || 'failed';
}
