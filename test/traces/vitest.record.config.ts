import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: { include: ['test/traces/record-corpus.ts'], testTimeout: 60_000 },
})
