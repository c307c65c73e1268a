// The closing line of `pnpm test`: "tests: N passed, N failed, N skipped".
// A suite that fails to run (a syntax error, a missing fixture, a throw at import) has no failed test in
// Jest's counts, so it is counted here as one failure per suite; and a non-zero exit is never summed up as
// "0 failed" (a global set-up error, an open handle or a coverage threshold fail the run with no failed test).

/**
 * @param {object | undefined} results Jest's `--json` output, or undefined when Jest wrote none.
 * @param {number} exitCode Jest's exit code.
 * @returns {string}
 */
export function summaryLine(results, exitCode) {
  if (!results) return `tests: did not run (jest exited with code ${exitCode}; see above)`;
  const skipped = (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0);
  const broken = (results.testResults ?? []).filter(
    (s) => s.status === 'failed' && (s.assertionResults ?? []).every((a) => a.status !== 'failed'),
  );
  const suitesNotRun = Math.max(results.numRuntimeErrorTestSuites ?? 0, broken.length);
  const failed = (results.numFailedTests ?? 0) + suitesNotRun;
  const notRun = suitesNotRun
    ? ` (${suitesNotRun} suite${suitesNotRun === 1 ? '' : 's'} failed to run: ${broken
        .map((s) => s.name.replace(`${process.cwd()}/`, ''))
        .join(', ')})`
    : '';
  if (failed === 0 && exitCode !== 0) {
    return `tests: ${results.numPassedTests} passed, ${skipped} skipped, but the run failed (jest exited with code ${exitCode}; see above)`;
  }
  return `tests: ${results.numPassedTests} passed, ${failed} failed${notRun}, ${skipped} skipped`;
}
