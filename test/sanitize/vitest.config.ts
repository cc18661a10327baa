import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The configuration of scripts/test-asan.sh: every ordinary suite plus test/sanitize/*.san.ts (not
// part of `npm test`: the default include is test/**/*.test.ts). Files are chosen on the command
// line. Timeouts are generous: the sanitizers make the native code 2-5x slower.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/**/*.test.ts', 'test/sanitize/**/*.san.ts'],
    pool: 'forks',
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
