// Runs every case of every YAML file of the CloudEvents SQL TCK, vendored in eventing/conformance/cesql-tck
// (see its NOTICE.md), or read from $TRIBUTARY_CONFORMANCE_DIR when set (e.g. a newer upstream copy).
// One jest test per case, named after the file's suite and the case.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import { compileCesql } from './index.js';

interface TckCase {
  name: string;
  expression: string;
  result?: boolean | number | string;
  error?: string;
  event?: Record<string, unknown>;
  eventOverrides?: Record<string, unknown>;
}

interface TckFile {
  name: string;
  tests: TckCase[];
}

const tckDir = process.env.TRIBUTARY_CONFORMANCE_DIR
  ? resolve(process.env.TRIBUTARY_CONFORMANCE_DIR)
  : fileURLToPath(new URL('../../conformance/cesql-tck/', import.meta.url));

const files = readdirSync(tckDir)
  .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
  .sort();

/** A valid event for cases that only give `eventOverrides` (README: other attributes can be anything). */
const BASE_EVENT = {
  specversion: '1.0',
  id: 'tck-id',
  source: 'tck://source',
  type: 'tck.type',
};

describe('CESQL TCK', () => {
  it(`finds the TCK files in ${tckDir}`, () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    const suite = parseYaml(readFileSync(join(tckDir, file), 'utf8')) as TckFile;
    describe(`${file}: ${suite.name}`, () => {
      it('has cases', () => {
        expect(suite.tests.length).toBeGreaterThan(0);
      });
      for (const tc of suite.tests) {
        it(`${tc.name}  [${tc.expression}]`, () => {
          const compiled = compileCesql(String(tc.expression));
          if (tc.error === 'parse') {
            expect(compiled.ok).toBe(false);
            if (!compiled.ok) expect(compiled.error.kind).toBe('parse');
            return;
          }
          if (!compiled.ok) throw new Error(compiled.error.format());
          const event = { ...(tc.event ?? BASE_EVENT), ...tc.eventOverrides };
          const { value, errors } = compiled.expression.evaluate(event);
          if (tc.result !== undefined) expect(value).toStrictEqual(tc.result);
          if (tc.error === undefined) {
            expect(errors).toStrictEqual([]);
          } else {
            expect(errors.length).toBeGreaterThan(0);
            expect(errors.map((e) => e.kind)).toStrictEqual(errors.map(() => tc.error));
          }
        });
      }
    });
  }
});
