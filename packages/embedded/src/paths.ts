import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Root of the downloaded/built artefacts (Kafka jars, MinIO binary) and of the `services:up` state files.
 * `TRIBUTARY_CACHE_DIR` overrides it; otherwise `$XDG_CACHE_HOME/tributary`, else `~/.cache/tributary`.
 */
export function cacheDir(): string {
  const override = process.env.TRIBUTARY_CACHE_DIR;
  if (override) return override;
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg || join(homedir(), '.cache'), 'tributary');
}

/** Progress logger used by the starters; defaults to short lines on stderr. */
export type Log = (line: string) => void;

export const stderrLog: Log = (line) => {
  process.stderr.write(`[tributary-testing] ${line}\n`);
};

export function seconds(sinceMs: number): string {
  return `${((Date.now() - sinceMs) / 1000).toFixed(1)}s`;
}
