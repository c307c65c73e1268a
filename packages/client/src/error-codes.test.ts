/**
 * The error catalogue is the one list of codes: docs/ERRORS.md is generated from it, every code a product
 * source file writes into an error or an error body is in it, and the codes the READMEs document for the
 * broker ingress are in it with the status they name.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import {
  ERROR_AREAS,
  ERROR_CODES,
  type ErrorCode,
  isErrorCode,
  renderErrorsMarkdown,
} from './error-codes.js';
import { ConfigError, NonRetriableError, TributaryError } from './errors.js';

const repo = join(import.meta.dirname, '..', '..', '..');

/** Product sources: TypeScript under packages/, services/, eventing/, without tests, test support and bench. */
function productSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (['node_modules', 'dist', 'test-support', 'fixtures', 'conformance'].includes(e.name)) return [];
      return productSources(path);
    }
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** `code: 'X'`, `code ?? 'X'`, `code = 'X'`, `code: a ? 'X' : 'Y'` and the ingress' `fail(reply, 400, 'X'`. */
function codesWritten(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/\bcode(?:\s*:|\s*\?\?|\s*=(?!=))([^,;\n]*)/g)) {
    for (const lit of (m[1] as string).matchAll(/'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'/g))
      found.push(lit[1] as string);
  }
  for (const m of text.matchAll(/\bfail\(\s*reply,\s*[^,]+,\s*'([A-Z][A-Z0-9_]+)'/g))
    found.push(m[1] as string);
  return found;
}

describe('the error catalogue', () => {
  it('is what docs/ERRORS.md says (regenerate with `pnpm --filter @tributary/client errors:doc`)', () => {
    expect(readFileSync(join(repo, 'docs', 'ERRORS.md'), 'utf8')).toBe(renderErrorsMarkdown());
  });

  it('has each code once, upper snake case, with a status, a retriable flag and a one-line meaning', () => {
    const all = Object.values(ERROR_AREAS).flatMap((area) => Object.keys(area));
    expect(new Set(all).size).toBe(all.length);
    expect(Object.keys(ERROR_CODES).sort()).toEqual([...all].sort());
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      expect(info.status >= 400 && info.status < 600).toBe(true);
      expect(typeof info.retriable).toBe('boolean');
      expect(info.meaning.length).toBeGreaterThan(10);
      expect(info.meaning).not.toContain('\n');
    }
    expect(isErrorCode('EVENT_SCHEMA')).toBe(true);
    expect(isErrorCode('EVENT_SCHEMA_MISMATCH')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
  });

  it('gives TributaryError its status and retriable flag unless the site says otherwise', () => {
    const closed = new TributaryError('broker log is closed', { code: 'LOG_CLOSED' });
    expect([closed.statusCode, closed.retriable]).toEqual([503, true]);
    const mismatch = new TributaryError('slot', { code: 'REPLICATION_SLOT_MISMATCH' });
    expect([mismatch.statusCode, mismatch.retriable]).toEqual([500, false]);
    const rejected = new TributaryError('too large', { code: 'PUBLISH_REJECTED', statusCode: 413 });
    expect([rejected.statusCode, rejected.retriable]).toEqual([413, false]);
    const plain = new TributaryError('boom');
    expect([plain.code, plain.statusCode, plain.retriable]).toEqual(['INTERNAL', 500, true]);
    expect(new NonRetriableError('no such user')).toMatchObject({
      code: 'NON_RETRIABLE',
      statusCode: 400,
      retriable: false,
    });
    expect(new ConfigError(['PORT: not a number'])).toMatchObject({
      code: 'CONFIG_INVALID',
      retriable: false,
    });
    // @ts-expect-error a code outside the catalogue does not compile
    const unknown: ErrorCode = 'SCHEMA_VALIDATION';
    expect(isErrorCode(unknown)).toBe(false);
  });

  it('names every code product code writes (packages/, services/, eventing/)', () => {
    const missing: string[] = [];
    let seen = 0;
    for (const root of ['packages', 'services', 'eventing']) {
      for (const file of productSources(join(repo, root))) {
        for (const code of codesWritten(readFileSync(file, 'utf8'))) {
          seen++;
          if (!isErrorCode(code)) missing.push(`${relative(repo, file)}: ${code}`);
        }
      }
    }
    expect(missing).toEqual([]);
    expect(seen).toBeGreaterThan(50);
  });

  it('agrees with the status and code of every row of the ingress error table in eventing/README.md', () => {
    const readme = readFileSync(join(repo, 'eventing', 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\s*\| (\d{3}) \| ((?:`[A-Z_]+`(?: \/ )?)+) \|/gm)];
    expect(rows.length).toBeGreaterThan(8);
    for (const row of rows) {
      for (const code of (row[2] as string).matchAll(/`([A-Z_]+)`/g)) {
        expect({
          code: code[1],
          status: isErrorCode(code[1]) ? ERROR_CODES[code[1]].status : 'not in the catalogue',
        }).toEqual({
          code: code[1],
          status: Number(row[1]),
        });
      }
    }
  });
});
