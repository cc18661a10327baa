/**
 * The copies an async call makes (lib/async/snapshot.ts) past 2^31 elements. The async sigmoid test
 * over 2^31+ elements needs a second 10 GiB for its copy and skips on a 24 GiB machine, so the
 * copying itself is checked here on its own, with 2^31 + 1001 one-byte elements in a view that starts
 * 2^30 + 3 bytes into its buffer (about 7 GiB in all): the slice loop's element indices and byte
 * offsets pass 2^31 (and the byte offsets 2^31 + 2^30) and must not wrap.
 */
import { describe, expect, it } from 'vitest';
import type { SigmoidPlan } from '../../lib/backends/contract.js';
import { snapshot } from '../../lib/async/snapshot.js';
import { sigmoidPlan } from '../fixtures/plans.mjs';
import { TWO_31, fillPeriodic, log, memoryAllows } from './huge-helpers.js';

const N = TWO_31 + 1001;
const OFFSET = 2 ** 30 + 3;
const PATTERN = [3, 1, 4, 1, 5, 9, 2]; // period 7: does not divide 2^31

/** A plan whose only array to copy is `targets` (snapshot() copies; it does not check lengths). */
function planWith(targets: Uint8Array): SigmoidPlan {
  return sigmoidPlan(0, { targets, alpha: null });
}

describe('async snapshot past 2^31 elements', () => {
  it('copies 2^31 + 1001 bytes exactly from a view that starts 2^30 + 3 bytes into its buffer', async (context) => {
    if (!memoryAllows(N + OFFSET + N, 'snapshot of 2^31+ bytes')) {
      context.skip('not enough free memory');
      return;
    }
    const whole = new Uint8Array(OFFSET + N);
    const view = fillPeriodic(new Uint8Array(whole.buffer, OFFSET, N), PATTERN);
    const t0 = performance.now();
    const own = await snapshot(planWith(view));
    log(`snapshot of ${N} bytes in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const copy = own.plan.targets as Uint8Array;
    expect(copy === view).toBe(false); // not expect(copy).not.toBe(view): vitest would diff 2 GiB arrays
    expect(copy.length).toBe(N);
    expect(copy.byteOffset).toBe(0);
    for (const i of [0, 1, 2 ** 20, TWO_31 - 1, TWO_31, TWO_31 + 1, N - 2, N - 1]) {
      expect(copy[i], `element ${i}`).toBe(PATTERN[i % 7]);
    }
    // Every element: compare in 64 MiB blocks as bytes.
    const block = 1 << 26;
    for (let i = 0; i < N; i += block) {
      const end = Math.min(N, i + block);
      const a = Buffer.from(copy.buffer, i, end - i);
      const b = Buffer.from(view.buffer, view.byteOffset + i, end - i);
      if (!a.equals(b)) expect.fail(`the copy differs in [${i}, ${end})`);
    }
    own.release();
  });
});
