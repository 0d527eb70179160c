/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // ts-jest also compiles middy and jose, which ship ES modules only.
    '^.+\\.(ts|js)$': ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@middy|jose)/)'],
  setupFiles: ['<rootDir>/test/support/environment.ts'],
  testTimeout: 30000,
};
