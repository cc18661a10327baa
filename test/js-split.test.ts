// The JS backend's async softmax splits a sample into class ranges (lib/backends/js/kernels.ts): one wide
// sample no longer holds the event loop for the whole call, and every split lands on the same bits
// as the sync call, which runs the same phases over all classes at once.
import { describe, expect, it } from 'vitest';
import { jsBackend } from './backends.js';
import { expectSame, mulberry32 as rng } from './helpers.js';
import { tickWhile } from './timer.js';
import type { SoftmaxFocalLossOptions } from '../lib/types.js';

const { api } = jsBackend;

describe('js: a softmax sample spans several slices', () => {
  it('soft targets, class-second layout: two samples of 2e6 classes keep a setInterval firing', async () => {
    const C = 2_000_000;
    const inner = 2; // shape [1, C, 2]: the two samples interleaved, stride 2 along the classes
    const random = rng(77);
    const logits = new Float32Array(C * inner).map(() => (random() - 0.5) * 30);
    const targets = new Float32Array(C * inner).map(() => random());
    const options: SoftmaxFocalLossOptions = {
      shape: [1, C, inner],
      classAxis: 1,
      gradient: true,
      reduction: 'none',
      labelSmoothing: 0.1,
      gamma: 1.5,
    };
    const want = api.softmaxFocalLoss(logits, targets, options);
    const { result, maxGap } = await tickWhile(10, () => api.softmaxFocalLossAsync(logits, targets, options));
    expectSame(result, want);
    expect(maxGap, `longest gap between timer ticks: ${maxGap.toFixed(1)} ms`).toBeLessThan(100);
  });

  it('returns the sync bits when class ranges are cut inside every phase of every kind of sample', async () => {
    // 200_003 classes: ranges of 2^16 classes end at different places in each sample and phase.
    const C = 200_003;
    const N = 6;
    const random = rng(78);
    const logits = new Float64Array(N * C).map(() => (random() - 0.5) * 40);
    logits[3 * C + 150_000] = NaN; // sample 3: a NaN found part way through the max phase
    logits[4 * C + 7] = 80; // sample 4: a far maximum
    const labels = new Int32Array([5, -100, 199_999, 70_000, 7, 131_072]);
    const weights = new Float64Array([1, 1, 0, 0.5, 2, 0.25]); // sample 2 silenced
    const alpha = new Float64Array(C).map(() => random());
    const hard: SoftmaxFocalLossOptions[] = [
      { numClasses: C, gradient: true, reduction: 'none', weights, alpha },
      { numClasses: C, gradient: true, reduction: 'mean', weights, gamma: 0.5 },
      { numClasses: C, gradient: true, reduction: 'none', weights, alpha, labelSmoothing: 0.2 },
      { numClasses: C, reduction: 'sum', weights, labelSmoothing: 0.05 },
    ];
    for (const options of hard) {
      expectSame(
        await api.softmaxFocalLossAsync(logits, labels, options),
        api.softmaxFocalLoss(logits, labels, options),
      );
    }
    const targets = new Float32Array(N * C).map(() => (random() < 0.9 ? 0 : random()));
    const soft: SoftmaxFocalLossOptions[] = [
      { shape: [N, C], classAxis: -1, gradient: true, reduction: 'none', weights },
      { shape: [N, C], classAxis: -1, gradient: true, reduction: 'mean', alpha, labelSmoothing: 0.3 },
      { shape: [N, C], classAxis: -1, reduction: 'sum', gamma: 3 },
    ];
    for (const options of soft) {
      expectSame(
        await api.softmaxFocalLossAsync(logits, targets, options),
        api.softmaxFocalLoss(logits, targets, options),
      );
    }
  });

  it('rejects a bad soft target found part way through a sample, as the sync call throws', async () => {
    const C = 200_003;
    const logits = new Float32Array(2 * C);
    const targets = new Float32Array(2 * C).fill(0.5);
    targets[C + 150_001] = -1;
    const options: SoftmaxFocalLossOptions = { shape: [2, C], classAxis: -1, gradient: true };
    const sync = (() => {
      try {
        api.softmaxFocalLoss(logits, targets, options);
      } catch (error) {
        return error as Error;
      }
    })();
    expect(sync).toBeInstanceOf(RangeError);
    expect(sync!.message).toMatch(`[${C + 150_001}] but received -1`);
    await expect(api.softmaxFocalLossAsync(logits, targets, options)).rejects.toThrow(sync!.message);
  });
});
