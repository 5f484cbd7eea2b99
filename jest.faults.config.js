// Fault-injection scenarios: real PostgreSQL, real service processes, one file at a
// time (they start replicas, stop servers and measure lateness, so they must not overlap).
// Run with `npm run test:faults`; not part of `npm test`.
/** @type {import('jest').Config} */
module.exports = {
  rootDir: __dirname,
  displayName: 'faults',
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }] },
  testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'],
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  testTimeout: 120_000,
  slowTestThreshold: 60,
  maxWorkers: 1,
};
