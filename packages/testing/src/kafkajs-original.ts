/**
 * kafkajs as published beside kafkajs as this repo patches it (patches/kafkajs@2.2.4.patch), for tests that
 * compare the bytes the two write: the installed (patched) sources are copied and the patch is applied in
 * reverse to the copy.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PATCH = new URL('../../../patches/kafkajs@2.2.4.patch', import.meta.url).pathname;

export interface KafkajsBeforePatch {
  /** The installed, patched `kafkajs/src`. */
  patchedSrc: string;
  /** A copy of it with the patch reversed: kafkajs 2.2.4 as published. */
  originalSrc: string;
  /** Removes the copy. */
  remove(): void;
}

/**
 * Copies `src` (the installed `kafkajs/src`) and reverses the patch in the copy. `isPatched` is asked first,
 * with a reader of files under `src`, so a test run before `pnpm install` applied the patch fails saying so.
 */
export function kafkajsBeforePatch(
  src: string,
  isPatched: (read: (relative: string) => string) => boolean,
): KafkajsBeforePatch {
  if (!isPatched((relative) => readFileSync(join(src, relative), 'utf8')))
    throw new Error(`kafkajs at ${src} is not patched: run pnpm install`);
  const dir = mkdtempSync(join(tmpdir(), 'kafkajs-original-'));
  cpSync(src, join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{}');
  const res = spawnSync('git', ['apply', '-R', '--whitespace=nowarn', PATCH], { cwd: dir, encoding: 'utf8' });
  if (res.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`git apply -R failed: ${res.stderr || res.error}`);
  }
  return {
    patchedSrc: src,
    originalSrc: join(dir, 'src'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
