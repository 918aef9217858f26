/** Fault scenarios (worker kills, server restarts, throttling): run by `npm run test:faults` and by .ci/run. */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  moduleNameMapper: { '^@oppsync/(.*)$': '<rootDir>/packages/$1/src' },
  testMatch: ['<rootDir>/test/faults/**/*.test.ts'],
  testTimeout: 600000,
};
