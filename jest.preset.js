// Shared Jest settings for every workspace package: ESM TypeScript through SWC, and workspace
// packages resolved to their TypeScript sources (the "development" export condition), so tests
// never need a build first.
//
// `services` says which real services the project's tests need: 'all' (the default) or 'none' (e.g. a
// scaffolded function, whose tests call its handler and its HTTP host only). Jest runs a project's global
// setup only when a test of that project runs, so a run of such a project alone starts nothing.
export function project(displayName, rootDir, { services = 'all', ...overrides } = {}) {
  return {
    displayName,
    rootDir,
    testEnvironment: 'node',
    testEnvironmentOptions: {
      customExportConditions: ['development', 'node', 'node-addons'],
      tributaryServices: services,
    },
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
