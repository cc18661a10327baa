import { defineConfig } from 'vitest/config';

// `npm run test:arm64`: the linux-arm64 prebuild run by the arm64 Node under qemu-aarch64
// (test/arm64/*.arm64.ts). Not part of `npm test`: it needs the prebuild made with the aarch64 cross
// compiler, qemu-user and the arm64 Node (scripts/arm64-node.mjs fetches it); CI runs it as a step.
export default defineConfig({
  test: {
    include: ['test/arm64/**/*.arm64.ts'],
    pool: 'forks',
    testTimeout: 5 * 60_000,
    hookTimeout: 5 * 60_000,
    reporters: ['verbose'],
  },
});
