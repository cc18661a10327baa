// The native addon and the JS implementation agree, on random inputs over many shapes and options,
// within docs/NUMERICS.md's tolerance (float64: 1e-12 relative; float32: 1e-6 relative).
import { describe, expect, it } from 'vitest';
import { jsBackend, nativeBackend } from './backends.js';
import { mulberry32 as rng } from './helpers.js';
import type { FloatArray, FocalLossResult } from '../lib/types.js';

/** Logits with a mix of ordinary, large and extreme values. */
function randomLogits(random: () => number, n: number, Ctor: typeof Float32Array | typeof Float64Array): FloatArray {
  const x = new Ctor(n);
  for (let i = 0; i < n; i++) {
    const r = random();
    x[i] =
      r < 0.8
        ? (random() - 0.5) * 12
        : r < 0.95
          ? (random() - 0.5) * 200
          : (random() < 0.5 ? -1 : 1) * 10 ** (random() * 38);
  }
  return x;
}

/**
 * |a - b| <= tol * max(|a|, |b|), plus a floor relative to the largest value of the array: soft
 * targets make gradients that cross zero, where both backends round the same cancellation
 * differently (exp and log differ in the last bit between glibc and V8).
 */
function expectClose(
  a: FloatArray,
  b: FloatArray,
  tol: number,
  floorScale: number,
  context: string,
  input?: (i: number) => string,
): void {
  expect(a.length).toBe(b.length);
  let largest = 0;
  for (const v of b) if (Number.isFinite(v)) largest = Math.max(largest, Math.abs(v));
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) || Number.isNaN(y) || !Number.isFinite(y)) {
      expect(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)), `${context}[${i}]: ${x} vs ${y}`).toBe(true);
      continue;
    }
    const bound = tol * Math.max(Math.abs(x), Math.abs(y)) + floorScale * largest + 1e-300;
    if (!(Math.abs(x - y) <= bound)) {
      expect.fail(`${context}[${i}]: native ${x} vs js ${y} (bound ${bound})${input ? ` at ${input(i)}` : ''}`);
    }
  }
}

function compare(
  native: FocalLossResult,
  js: FocalLossResult,
  tol: number,
  floor: number,
  context: string,
  input?: (i: number) => string,
): void {
  if (typeof js.loss === 'number') {
    const l = native.loss as number;
    expect(Math.abs(l - js.loss) <= tol * Math.abs(js.loss) + 1e-300, `${context} loss ${l} vs ${js.loss}`).toBe(true);
  } else {
    expectClose(native.loss as FloatArray, js.loss, tol, 0, `${context} loss`, input);
  }
  expect(native.count).toBe(js.count);
  expectClose(native.grad!, js.grad!, tol, floor, `${context} grad`, input);
}

const dtypes = [
  { Ctor: Float64Array, tol: 1e-12, soft: 1e-13 },
  { Ctor: Float32Array, tol: 1e-6, soft: 1e-6 },
] as const;

describe.skipIf(!nativeBackend)('native and JS agree', () => {
  // Skipped only when the addon is deliberately absent (FOCAL_LOSS_BACKEND=js); CI also runs with it required.
  const native = nativeBackend?.api as NonNullable<typeof nativeBackend>['api'];
  const js = jsBackend.api;

  it('sigmoid, over sizes, target kinds, gammas, alphas, reductions and options', () => {
    const random = rng(1);
    let cases = 0;
    for (const { Ctor, tol, soft } of dtypes) {
      for (const n of [1, 2, 7, 64, 1000]) {
        for (const gamma of [0, 0.5, 1, 2, 3.7]) {
          const logits = randomLogits(random, n, Ctor);
          const hard = Uint8Array.from({ length: n }, () => (random() < 0.3 ? 1 : 0));
          const softTargets = Float64Array.from({ length: n }, () => random());
          const weights = Float64Array.from({ length: n }, () => random() * 2);
          const variants = [
            { targets: hard, options: { gamma, alpha: 0.25, reduction: 'none' as const } },
            { targets: hard, options: { gamma, alpha: null, reduction: 'mean' as const, weights } },
            { targets: softTargets, options: { gamma, alpha: 0.6, reduction: 'sum' as const, labelSmoothing: 0.1 } },
            { targets: softTargets, options: { gamma, normalizer: 7.5 } },
          ];
          for (const { targets, options } of variants) {
            const floor = targets === hard ? 0 : soft;
            const context = `sigmoid ${Ctor.name} n=${n} ${JSON.stringify({ ...options, weights: undefined })}`;
            compare(
              native.sigmoidFocalLoss(logits, targets, { ...options, gradient: true }),
              js.sigmoidFocalLoss(logits, targets, { ...options, gradient: true }),
              tol,
              floor,
              context,
              (i) => `logit ${logits[i]}, target ${targets[i]}`,
            );
            cases++;
          }
        }
        const probabilities = new Ctor(n).map(() => random());
        const labels = Uint8Array.from({ length: n }, () => (random() < 0.5 ? 1 : 0));
        compare(
          native.sigmoidFocalLoss(probabilities, labels, { input: 'probabilities', gradient: true, reduction: 'none' }),
          js.sigmoidFocalLoss(probabilities, labels, { input: 'probabilities', gradient: true, reduction: 'none' }),
          tol,
          0,
          `sigmoid probabilities ${Ctor.name} n=${n}`,
        );
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(200);
  });

  it('softmax, over layouts, label kinds, gammas, alphas, reductions and options', () => {
    const random = rng(2);
    let cases = 0;
    for (const { Ctor, tol, soft } of dtypes) {
      for (const [outer, classes, inner] of [
        [1, 2, 1],
        [5, 3, 1],
        [40, 10, 1],
        [3, 4, 6],
        [2, 81, 2],
        [16, 100, 1],
      ] as const) {
        const samples = outer * inner;
        const shape = inner === 1 ? [outer, classes] : [outer, classes, inner];
        for (const gamma of [0, 0.5, 2, 5]) {
          const logits = randomLogits(random, outer * classes * inner, Ctor);
          const labels = Int32Array.from({ length: samples }, () =>
            random() < 0.1 ? -100 : Math.floor(random() * classes),
          );
          const targets = new Float64Array(outer * classes * inner).map(() => random());
          const alpha = Float64Array.from({ length: classes }, () => random());
          const weights = Float64Array.from({ length: samples }, () => random() * 3);
          const variants = [
            { labels, options: { gamma, reduction: 'none' as const } },
            { labels, options: { gamma, alpha, reduction: 'mean' as const, weights } },
            { labels, options: { gamma, alpha: 0.25, reduction: 'sum' as const, labelSmoothing: 0.1 } },
            { labels: targets, options: { gamma, alpha, reduction: 'none' as const } },
            { labels: targets, options: { gamma, normalizer: 3, labelSmoothing: 0.2, weights } },
          ];
          for (const { labels: l, options } of variants) {
            const floor = l === labels && !('labelSmoothing' in options) ? 0 : soft;
            const context = `softmax ${Ctor.name} shape=${shape} ${JSON.stringify({ ...options, alpha: undefined, weights: undefined })}`;
            compare(
              native.softmaxFocalLoss(logits, l, { ...options, shape, gradient: true }),
              js.softmaxFocalLoss(logits, l, { ...options, shape, gradient: true }),
              tol,
              floor,
              context,
            );
            cases++;
          }
        }
      }
    }
    expect(cases).toBeGreaterThan(200);
  });

  it('agree on NaN and infinite logits', () => {
    const x = new Float64Array([NaN, Infinity, -Infinity, Infinity, -Infinity, 0]);
    const t = new Float64Array([1, 1, 1, 0, 0, 0.5]);
    compare(
      native.sigmoidFocalLoss(x, t, { reduction: 'none', gradient: true }),
      js.sigmoidFocalLoss(x, t, { reduction: 'none', gradient: true }),
      1e-12,
      0,
      'sigmoid special values',
    );
    const z = new Float64Array([NaN, 0, 1, Infinity, 0, 1, -Infinity, 0, 1, Infinity, Infinity, 0]);
    compare(
      native.softmaxFocalLoss(z, new Int32Array([1, 1, 1, 2]), { numClasses: 3, reduction: 'none', gradient: true }),
      js.softmaxFocalLoss(z, new Int32Array([1, 1, 1, 2]), { numClasses: 3, reduction: 'none', gradient: true }),
      1e-12,
      0,
      'softmax special values',
    );
  });
});
