import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // forks (the default) keeps the native uWS addon in its own process per file
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
