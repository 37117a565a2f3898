// One jest run for the whole workspace. Sources are transpiled by swc (types are
// checked by `pnpm typecheck`), workspace packages resolve to their TypeScript
// sources, and the global setup provides MONGO_URL/AMQP_URL (packages/testing). The
// setup and teardown run in jest's own process, outside the test sandbox, from the
// package's build: `pnpm test` builds first; before `npx jest …`, run `pnpm build`.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
        sourceMaps: 'inline',
      },
    ],
  },
  moduleNameMapper: {
    '^@parley/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
  },
  testMatch: ['<rootDir>/{apps,packages,services,tools,e2e}/**/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  globalSetup: '<rootDir>/packages/testing/dist/jest-global-setup.js',
  globalTeardown: '<rootDir>/packages/testing/dist/jest-global-teardown.js',
  testTimeout: 30_000,
  // 2-core machines: two workers keep the suite fast without starving the servers under test.
  maxWorkers: 2,
};
