/** Fault scenarios (worker kills, server restarts, throttling): run by `npm run test:faults` and by .ci/run. */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  moduleNameMapper: { '^@oppsync/(.*)$': '<rootDir>/packages/$1/src' },
  testMatch: ['<rootDir>/test/faults/**/*.test.ts'],
  // The scenarios on the Temporal server itself run apart: `npm run test:cluster` (see docs/decisions.md).
  testPathIgnorePatterns:
    process.env.OPPSYNC_TEST_CLUSTER === '1' ? [] : ['/test/faults/cluster\\.test\\.ts$'],
  testTimeout: 600000,
};
