// Threads change the speed, never the answer: 'sum' and 'mean' are the same bits for 1, 2, 3 and
// 8 threads (fixed partition of the work, float64 block sums added in order), and so is every
// gradient element.
import { describe, expect, it } from 'vitest';
import { backends, nativeBackend } from './backends.js';
import { mulberry32 as rng } from './helpers.js';

function randomBatch(n: number, seed: number) {
  const random = rng(seed);
  const logits = new Float32Array(n).map(() => (random() - 0.5) * 16);
  const targets = new Uint8Array(n).map(() => (random() < 0.1 ? 1 : 0));
  return { logits, targets, random };
}

describe.skipIf(!nativeBackend)('native: results do not depend on the thread count', () => {
  const api = nativeBackend?.api as NonNullable<typeof nativeBackend>['api'];

  it('sigmoid sum, mean and gradient are bit-identical for 1, 2, 3 and 8 threads', () => {
    const { logits, targets } = randomBatch(1_000_003, 11);
    for (const reduction of ['sum', 'mean'] as const) {
      const runs = [1, 2, 3, 8].map((threads) =>
        api.sigmoidFocalLoss(logits, targets, { reduction, gradient: true, threads, gamma: 1.5 }),
      );
      for (const r of runs.slice(1)) {
        expect(Object.is(r.loss, runs[0]!.loss), `${reduction}: ${r.loss} vs ${runs[0]!.loss}`).toBe(true);
        expect(Buffer.compare(Buffer.from(r.grad!.buffer), Buffer.from(runs[0]!.grad!.buffer))).toBe(0);
      }
    }
  });

  it('softmax sum and mean are bit-identical for 1, 2, 3 and 8 threads, with ignored samples', () => {
    const random = rng(12);
    const rows = 100_003;
    const classes = 10;
    const logits = new Float64Array(rows * classes).map(() => (random() - 0.5) * 10);
    const labels = new Int32Array(rows).map(() => (random() < 0.05 ? -100 : Math.floor(random() * classes)));
    for (const reduction of ['sum', 'mean'] as const) {
      const runs = [1, 2, 3, 8].map((threads) =>
        api.softmaxFocalLoss(logits, labels, { numClasses: classes, reduction, gradient: true, threads }),
      );
      for (const r of runs.slice(1)) {
        expect(Object.is(r.loss, runs[0]!.loss)).toBe(true);
        expect(r.count).toBe(runs[0]!.count);
        expect(Buffer.compare(Buffer.from(r.grad!.buffer), Buffer.from(runs[0]!.grad!.buffer))).toBe(0);
      }
    }
  });

  it('reports the first bad element whichever thread finds it', () => {
    const { logits, targets } = randomBatch(500_000, 13);
    targets[400_000] = 7;
    targets[123_456] = 2;
    for (const threads of [1, 2, 8]) {
      expect(() => api.sigmoidFocalLoss(logits, targets, { threads })).toThrow(/targets\[123456\] but received 2/);
    }
  });
});

for (const { name, api } of backends) {
  describe(`${name}: the threads option`, () => {
    it('accepts a positive integer and rejects anything else', () => {
      const x = new Float64Array([0.5, -1]);
      const t = new Uint8Array([1, 0]);
      expect(api.sigmoidFocalLoss(x, t, { threads: 1 }).loss).toBe(api.sigmoidFocalLoss(x, t, { threads: 4 }).loss);
      for (const threads of [0, -1, 1.5, NaN, 5000]) {
        expect(() => api.sigmoidFocalLoss(x, t, { threads })).toThrow(RangeError);
      }
      expect(() => api.sigmoidFocalLoss(x, t, { threads: '2' as never })).toThrow(
        "Expected an integer in [1, 1024] for options.threads but received '2' of type string",
      );
    });
  });
}
