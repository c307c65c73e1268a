import { describe, expect, it } from '@jest/globals';
// @ts-expect-error: a plain .mjs script of the repo root, without type declarations.
import { summaryLine } from '../../../scripts/test-summary.mjs';

const suite = (name: string, status: string, tests: string[]) => ({
  name: `${process.cwd()}/${name}`,
  status,
  assertionResults: tests.map((s) => ({ status: s })),
});

describe('summaryLine (the closing line of pnpm test)', () => {
  it('counts a suite that failed to run as a failure (regression: "0 failed" with exit code 1)', () => {
    const line = summaryLine(
      {
        numPassedTests: 688,
        numFailedTests: 0,
        numPendingTests: 0,
        numTodoTests: 0,
        numRuntimeErrorTestSuites: 1,
        testResults: [
          suite('eventing/src/cesql/tck.test.ts', 'failed', []),
          suite('a.test.ts', 'passed', ['passed']),
        ],
      },
      1,
    );
    expect(line).toBe(
      'tests: 688 passed, 1 failed (1 suite failed to run: eventing/src/cesql/tck.test.ts), 0 skipped',
    );
  });

  it('adds failed tests and suites that did not run', () => {
    const line = summaryLine(
      {
        numPassedTests: 3,
        numFailedTests: 2,
        numPendingTests: 1,
        numTodoTests: 1,
        numRuntimeErrorTestSuites: 1,
        testResults: [
          suite('x.test.ts', 'failed', ['failed', 'failed', 'passed']),
          suite('y.test.ts', 'failed', []),
        ],
      },
      1,
    );
    expect(line).toBe('tests: 3 passed, 3 failed (1 suite failed to run: y.test.ts), 2 skipped');
  });

  it('never says "0 failed" when Jest exits non-zero without a failed test', () => {
    const line: string = summaryLine(
      { numPassedTests: 5, numFailedTests: 0, numRuntimeErrorTestSuites: 0, testResults: [] },
      1,
    );
    expect(line).not.toContain('0 failed');
    expect(line).toContain('jest exited with code 1');
  });

  it('says the run did not happen when Jest wrote no results', () => {
    expect(summaryLine(undefined, 1)).toBe('tests: did not run (jest exited with code 1; see above)');
  });

  it('reports a clean run', () => {
    expect(summaryLine({ numPassedTests: 4, numFailedTests: 0, testResults: [] }, 0)).toBe(
      'tests: 4 passed, 0 failed, 0 skipped',
    );
  });
});
