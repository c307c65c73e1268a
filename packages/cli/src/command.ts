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

/** A usage error: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}

/** `node:util` parseArgs with usage errors instead of TypeErrors. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}
