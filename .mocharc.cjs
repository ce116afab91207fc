// Mocha runs TypeScript through tsx; the root hooks start the real services once for the whole suite.
module.exports = {
  'node-option': ['import=tsx'],
  require: ['test/harness/hooks.ts'],
  spec: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
  timeout: 30000,
  reporter: 'test/harness/summary-reporter.cjs',
};
