// Shared Jest settings for every workspace package: ESM TypeScript through SWC, and workspace
// packages resolved to their TypeScript sources (the "development" export condition), so tests
// never need a build first.
export function project(displayName, rootDir, overrides = {}) {
  return {
    displayName,
    rootDir,
    testEnvironment: 'node',
    testEnvironmentOptions: { customExportConditions: ['development', 'node', 'node-addons'] },
    extensionsToTreatAsEsm: ['.ts'],
    transform: {
      '^.+\\.ts$': [
        '@swc/jest',
        {
          jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
          module: { type: 'es6' },
          sourceMaps: 'inline',
        },
      ],
    },
    moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
    testMatch: ['<rootDir>/**/*.test.ts'],
    testPathIgnorePatterns: ['/node_modules/', '/dist/'],
    // Tests talk to real servers on a 2-core machine: allow for a loaded box. Not a performance bound.
    testTimeout: 60_000,
    // Starts real Postgres/Kafka/MinIO once per run unless the env already points at them;
    // idempotent, so in a multi-project run only the first project's setup starts anything.
    globalSetup: new URL('./packages/testing/jest/global-setup.js', import.meta.url).pathname,
    globalTeardown: new URL('./packages/testing/jest/global-teardown.js', import.meta.url).pathname,
    ...overrides,
  };
}
