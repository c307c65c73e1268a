/** Writes docs/ERRORS.md from the error catalogue (src/error-codes.ts). `--check` fails when it is out of date. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderErrorsMarkdown } from '../src/error-codes.js';

const target = join(import.meta.dirname, '..', '..', '..', 'docs', 'ERRORS.md');
const text = renderErrorsMarkdown();
if (process.argv.includes('--help')) {
  process.stdout.write('usage: pnpm --filter @tributary/client errors:doc [--check]\n');
} else if (process.argv.includes('--check')) {
  if (readFileSync(target, 'utf8') !== text) {
    process.stderr.write('docs/ERRORS.md is out of date: run pnpm --filter @tributary/client errors:doc\n');
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
  process.stdout.write(`wrote ${target}\n`);
}
