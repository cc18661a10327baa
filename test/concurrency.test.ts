// Many async calls at once: all resolve to the right values, the event loop keeps turning, and
// arrays the caller drops while a call runs cannot be freed under the kernel (async calls compute on
// the facade's copies, lib/async/snapshot.ts).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { backends } from './backends.js';
import { mulberry32 } from './helpers.js';
import { tickWhile } from './timer.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function batch(seed: number, n: number) {
  const random = mulberry32(seed);
  const logits = new Float32Array(n).map(() => (random() - 0.5) * 20);
  const targets = new Uint8Array(n).map(() => (random() < 0.2 ? 1 : 0));
  const labels = new Int32Array(Math.floor(n / 5)).map(() => Math.floor(random() * 5));
  return { logits, targets, labels };
}

for (const { name, api } of backends) {
  describe(`${name}: concurrency`, () => {
    it('1,000 concurrent async calls of mixed sizes all resolve to the sync values, without stalling a timer', async () => {
      const random = mulberry32(41);
      const sizes = Array.from(
        { length: 1000 },
        () => 5 * (random() < 0.05 ? 40_000 : Math.floor(random() * 1000) + 1),
      );
      const inputs = sizes.map((n, i) => batch(i, n));
      // Every third call a softmax ([n/5, 5]), the others sigmoid with various gammas.
      const expected = inputs.map(({ logits, targets, labels }, i) =>
        i % 3 === 0
          ? api.softmaxFocalLoss(logits, labels, { numClasses: 5 }).loss
          : api.sigmoidFocalLoss(logits, targets, { gamma: 1 + (i % 4) / 2 }).loss,
      );
      // Launching 1,000 calls is the caller's own synchronous loop; the timer starts after it.
      const calls = inputs.map(({ logits, targets, labels }, i) =>
        i % 3 === 0
          ? api.softmaxFocalLossAsync(logits, labels, { numClasses: 5 })
          : api.sigmoidFocalLossAsync(logits, targets, { gamma: 1 + (i % 4) / 2 }),
      );
      const { result: results, maxGap } = await tickWhile(2, () => Promise.all(calls));
      results.forEach((r, i) => expect(r.loss, `call ${i}`).toBe(expected[i]));
      // Native: the work is on the thread pool. JS: blocks run in slices of about 4 ms (one block can
      // be up to ~32k elements, a few ms more). Measured 16-33 ms on a quiet 2-core machine for both;
      // the bound leaves room for a loaded CI machine while still catching a stalled loop (seconds).
      expect(maxGap, `longest gap between timer ticks: ${maxGap.toFixed(1)} ms`).toBeLessThan(100);
    });

    it('arrays dropped by the caller and collected during an async call do not change its result', async () => {
      const n = 3_000_000;
      const reference = batch(7, n);
      const want = api.sigmoidFocalLoss(reference.logits, reference.targets, { gradient: true });
      const pending = (() => {
        const { logits, targets } = batch(7, n); // only the call holds these
        return api.sigmoidFocalLossAsync(logits, targets, { gradient: true });
      })();
      for (let i = 0; i < 5; i++) {
        gc();
        // Allocate and drop memory of the same size, so that freed memory would be reused at once.
        new Float32Array(n).fill(123);
        await new Promise((resolve) => setImmediate(resolve));
      }
      const got = await pending;
      expect(got.loss).toBe(want.loss);
      expect(Buffer.compare(Buffer.from(got.grad!.buffer), Buffer.from(want.grad!.buffer))).toBe(0);
    });
  });
}
