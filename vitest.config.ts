import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A real S3-protocol server for the storage tests, in its own process on port 0.
    globalSetup: ['./test/support/s3-global-setup.ts'],
    // @oclif/test and spawned CLIs print through the real console.
    disableConsoleIntercept: true,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
})
