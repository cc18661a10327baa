// Every instruction set the CPU runs (forced with the `simd` option) gives results within
// docs/NUMERICS.md's contract of the exact reference, element by element: the vectorized kernels use
// their own exp/log/pow, so each level is checked on its own, not only the default one.
import { describe, expect, it } from 'vitest';
import { nativeBackend } from './backends.js';
import { Checker, DTYPES, GAMMAS, TOL, makeArray, mulberry32 } from './helpers.js';
import { refSigmoid, refSoftmax } from './reference.js';
import type { BackendInfo } from '../lib/types.js';

type Level = BackendInfo['simdLevels'][number];

async function nativeLevels(): Promise<Level[]> {
  const { backend } = await import('../lib/index.js');
  return backend().name === 'native' ? backend().simdLevels : [];
}

/** Logits from ordinary to extreme, so that every branch of the selects is taken in a vector. */
function logits(random: () => number, n: number): number[] {
  const special = [
    0, -0, 1e-300, -1e-300, 20, -20, 37, -37, 50, -50, 700, -700, 745.5, -745.5, 1e10, -1e10, 3.4e38, -3.4e38,
  ];
  return Array.from({ length: n }, (_, i) =>
    i < special.length ? special[i]! : random() < 0.7 ? (random() - 0.5) * 30 : (random() - 0.5) * 2000,
  );
}

describe.skipIf(!nativeBackend)('native: every SIMD level matches the exact reference', () => {
  const api = nativeBackend?.api as NonNullable<typeof nativeBackend>['api'];

  it('reports the levels it can run, scalar always among them', async () => {
    const levels = await nativeLevels();
    expect(levels).toContain('scalar');
    const { backend } = await import('../lib/index.js');
    expect(levels).toContain(backend().simd);
  });

  it('rejects a level this CPU does not run, and names that are not levels', async () => {
    const levels = await nativeLevels();
    const x = new Float64Array([1]);
    const t = new Uint8Array([1]);
    for (const missing of (['scalar', 'neon', 'avx2', 'avx512'] as const).filter((l) => !levels.includes(l))) {
      expect(() => api.sigmoidFocalLoss(x, t, { simd: missing })).toThrow(/a level this CPU runs/);
    }
    expect(() => api.sigmoidFocalLoss(x, t, { simd: 'sse9' as never })).toThrow(RangeError);
    expect(() => api.sigmoidFocalLoss(x, t, { simd: 3 as never })).toThrow(TypeError);
  });

  it('sigmoid: loss and gradient of every element, every level, both dtypes, every gamma', async () => {
    const random = mulberry32(31);
    const n = 301; // not a multiple of any vector width: the remainder path is checked too
    const xs = logits(random, n);
    const hard = xs.map(() => (random() < 0.5 ? 1 : 0));
    for (const level of await nativeLevels()) {
      for (const dtype of DTYPES) {
        const check = new Checker(TOL[dtype]);
        const x = makeArray(dtype, xs);
        for (const gamma of GAMMAS) {
          for (const alpha of [0.25, null]) {
            const r = api.sigmoidFocalLoss(x, Uint8Array.from(hard), {
              gamma,
              alpha,
              reduction: 'none',
              gradient: true,
              simd: level,
            });
            const loss = r.loss as Float64Array;
            for (let i = 0; i < n; i++) {
              const ref = refSigmoid(x[i]!, hard[i]!, { gamma, alpha });
              const what = () => `${level} ${dtype} gamma=${gamma} alpha=${alpha} x=${x[i]} t=${hard[i]}`;
              check.close(() => `${what()} loss`, loss[i]!, ref.loss);
              check.close(() => `${what()} grad`, r.grad![i]!, ref.grad);
            }
          }
        }
        check.assert();
      }
    }
  });

  it('sigmoid: soft and smoothed targets at extreme logits and gamma (t, 1 - t formed directly; the careful path when m^gamma underflows), every level', async () => {
    // Each vector of the kernel mixes ordinary elements with ones that take the careful path
    // (m^gamma below the double range, the product not), in every position, odd length.
    const random = mulberry32(33);
    const n = 157;
    const extreme = [1e20, -1e20, 3.4e38, -3.4e38, 1e100, -1e100, 1e300, -1e300];
    const xs = Array.from({ length: n }, (_, i) =>
      i % 3 === 0 ? extreme[(i / 3) % extreme.length]! : (random() - 0.5) * 60,
    );
    const soft = [0.25, 1e-20, 0.999, 0, 1, 0.5];
    const ts = xs.map((_, i) => soft[i % soft.length]!);
    for (const level of await nativeLevels()) {
      for (const dtype of DTYPES) {
        const check = new Checker(TOL[dtype]);
        const x = makeArray(
          dtype,
          xs.map((v) => (dtype === 'float32' ? Math.max(-3.4e38, Math.min(3.4e38, v)) : v)),
        );
        const t = makeArray(dtype, ts);
        for (const [gamma, labelSmoothing] of [
          [16, 0],
          [467, 0],
          [2, 1e-9],
          [0.5, 1e-15],
          [0, 1e-6],
        ] as const) {
          const r = api.sigmoidFocalLoss(x, t, {
            gamma,
            alpha: 0.25,
            labelSmoothing,
            reduction: 'none',
            gradient: true,
            simd: level,
          });
          const loss = r.loss as Float64Array;
          for (let i = 0; i < n; i++) {
            const ref = refSigmoid(x[i]!, t[i]!, { gamma, alpha: 0.25, labelSmoothing });
            const what = () => `${level} ${dtype} gamma=${gamma} s=${labelSmoothing} x=${x[i]} t=${t[i]}`;
            check.close(() => `${what()} loss`, loss[i]!, ref.loss);
            check.close(() => `${what()} grad`, r.grad![i]!, ref.grad, ref.gradScale);
          }
        }
        check.assert();
      }
    }
  });

  it('softmax (class last, hard labels): every sample, every level, both dtypes', async () => {
    const random = mulberry32(32);
    for (const level of await nativeLevels()) {
      for (const dtype of DTYPES) {
        const check = new Checker(TOL[dtype]);
        for (const classes of [3, 10, 37]) {
          const rows = 12;
          const z = makeArray(
            dtype,
            logits(random, rows * classes).map((v, i) => (i % 5 === 0 ? v / 100 : v)),
          );
          const labels = Int32Array.from({ length: rows }, () => Math.floor(random() * classes));
          for (const gamma of [0, 0.5, 2, 3.7]) {
            const r = api.softmaxFocalLoss(z, labels, {
              numClasses: classes,
              gamma,
              reduction: 'none',
              gradient: true,
              simd: level,
            });
            const loss = r.loss as Float64Array;
            for (let row = 0; row < rows; row++) {
              const zs = Array.from(z.subarray(row * classes, (row + 1) * classes));
              const ref = refSoftmax(zs, labels[row]!, { gamma, alpha: null });
              const what = `${level} ${dtype} C=${classes} gamma=${gamma} row=${row}`;
              check.close(`${what} loss`, loss[row]!, ref.loss);
              for (let k = 0; k < classes; k++)
                check.close(`${what} grad[${k}]`, r.grad![row * classes + k]!, ref.grad[k]!);
            }
          }
        }
        check.assert();
      }
    }
  });
});
