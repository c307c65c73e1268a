import type { CommandIo } from '../command.js';

/** A `CommandIo` for tests: an empty environment, with stdout and stderr lines collected. */
export function captureIo(env: Record<string, string | undefined> = {}): {
  out: string[];
  err: string[];
  io: CommandIo;
} {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { env, stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l) } };
}
