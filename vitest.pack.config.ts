import { defineConfig } from 'vitest/config';

// `npm run test:pack`: packs the package, installs the tarball into fresh projects and uses it from
// .mjs, .cjs and type-checked .ts files (test/pack/*.pack.ts). Not part of `npm test`: it compiles
// the addon once more and takes a few minutes; CI runs it as a step of its own.
export default defineConfig({
  test: {
    include: ['test/pack/**/*.pack.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 10 * 60_000,
    hookTimeout: 10 * 60_000,
    reporters: ['verbose'],
  },
});
