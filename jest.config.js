/** Unit and integration tests; the long fault scenarios live in jest.faults.config.js. */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  // The emulator packages run from their TypeScript sources, like the product's own modules.
  moduleNameMapper: { '^@oppsync/(.*)$': '<rootDir>/packages/$1/src' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '<rootDir>/test/faults/'],
  testTimeout: 120000,
};
