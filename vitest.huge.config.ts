import { defineConfig } from 'vitest/config';

// The opt-in suites over more than 2^31 elements (`npm run test:huge`), never part of `npm test`:
// test/huge/*.huge.ts do not match the default include (test/**/*.test.ts). Each file holds 9-20 GiB
// and runs for minutes, so the files run one at a time, each in its own process.
export default defineConfig({
  test: {
    include: ['test/huge/**/*.huge.ts'],
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    isolate: true,
    testTimeout: 30 * 60_000,
    hookTimeout: 10 * 60_000,
    reporters: ['verbose'],
  },
});
