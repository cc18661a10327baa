import { defineConfig } from 'vitest/config';

// The load test of the example HTTP service (test/*.load.ts; examples/server/load-test.mjs in its
// short mode). Not part of `npm test`: it keeps both cores busy for about 15 s, which would disturb
// the timing checks of the suites vitest runs beside it; CI runs it as a step of its own, alone.
export default defineConfig({
  test: {
    include: ['test/**/*.load.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 2 * 60_000,
    hookTimeout: 60_000,
    reporters: ['verbose'],
  },
});
