// The float32 sigmoid path (float32 logits, hard 0/1 targets of any dtype, no label smoothing), which
// computes in float32 arithmetic (native/simd/simd_sigmoid.inc): every element of the loss and the
// gradient within 1e-6 relative of the exact reference, at every SIMD level, for integer and
// non-integer gamma, with and without alpha and weights, over a grid of logits in [-100, 100], every
// binade to +-FLT_MAX, +-inf and NaN. The largest relative error of each setting is printed.
//
// Two oracles: the exact reference (test/reference.ts, decimal.js at 80 digits) on a few hundred
// logits per setting, and on a dense grid the JS backend in float64 (within 1e-12 of the exact
// reference, test/numerics-sigmoid.test.ts), whose own error is far below the 1e-6 checked here.
import { describe, expect, it } from 'vitest';
import { jsBackend, nativeBackend } from './backends.js';
import { TOL, mismatch } from './helpers.js';
import { refSigmoid } from './reference.js';
import type { BackendInfo } from '../lib/types.js';

type Level = BackendInfo['simdLevels'][number];

const GAMMAS = [0, 0.5, 1, 2, 3, 4, 0.25, 1.7, 5, 8];
const ALPHAS = [null, 0.25];
/** Weights that take the careful path at extreme logits (huge, tiny, subnormal in float32). */
const WEIGHT_CYCLE = [1, 0.5, 3e-30, 7e10, 2.5e38, 1e-40, 0];
const TARGET_TYPES = [Uint8Array, Float32Array, Int32Array] as const;

async function nativeLevels(): Promise<Level[]> {
  const { backend } = await import('../lib/index.js');
  return backend().name === 'native' ? backend().simdLevels : [];
}

/** Logits on a coarse grid of [-100, 100], every binade (two mantissas) to FLT_MAX, both signs, and specials. */
function sparseLogits(): Float32Array {
  const xs: number[] = [];
  for (let i = 0; i <= 200; i++) xs.push(-100 + i);
  for (let i = 0; i < 80; i++) xs.push(-20 + i * 0.5 + 0.123);
  for (let e = -149; e <= 127; e += 2) for (const f of [1, 1.7]) xs.push(f * 2 ** e, -f * 2 ** e);
  xs.push(3.4028234663852886e38, -3.4028234663852886e38, 0, -0, Infinity, -Infinity, NaN);
  return Float32Array.from(xs);
}

/** A dense grid of [-100, 100] (float32 values) and every binade with several mantissas. */
function denseLogits(): Float32Array {
  const xs: number[] = [];
  const n = 40_000;
  for (let i = 0; i <= n; i++) xs.push(-100 + (200 * i) / n);
  for (let e = -149; e <= 127; e++) for (const f of [1, 1.1, 1.37, 1.999]) xs.push(f * 2 ** e, -f * 2 ** e);
  xs.push(Infinity, -Infinity, NaN);
  return Float32Array.from(xs);
}

/** The exact loss and gradient of one element, the limits at infinite logits derived by hand. */
function exactElement(x: number, t: number, gamma: number, alpha: number | null, w: number): [number, number] {
  const a = alpha === null ? 1 : t === 1 ? alpha : 1 - alpha;
  if (a * w === 0) return [0, 0];
  if (x === Infinity || x === -Infinity) {
    // z = x for t = 0, -x for t = 1: at z = +inf the loss is infinite and dL/dz = a w; at -inf both are 0.
    const z = t === 1 ? -x : x;
    return z > 0 ? [Infinity, (t === 1 ? -1 : 1) * a * w] : [0, 0];
  }
  const r = refSigmoid(x, t, { gamma, alpha: null });
  return [a * w * r.loss, a * w * r.grad];
}

/** Largest relative error (of the normal, finite float32 results) and the failures. */
class ErrorStats {
  maxLoss = 0;
  maxGrad = 0;
  failures: string[] = [];
  see(kind: 'loss' | 'grad', what: () => string, got: number, ref: number): void {
    const bad = mismatch(got, ref, TOL.float32);
    if (bad) this.failures.push(`${what()} ${kind}: ${bad}`);
    if (Number.isFinite(Math.fround(ref)) && ref !== 0 && Math.abs(ref) >= TOL.float32.normalMin) {
      const rel = Math.abs(got - ref) / Math.abs(ref);
      if (kind === 'loss') this.maxLoss = Math.max(this.maxLoss, rel);
      else this.maxGrad = Math.max(this.maxGrad, rel);
    }
  }
}

function weightsFor(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => WEIGHT_CYCLE[i % WEIGHT_CYCLE.length]!);
}

describe.skipIf(!nativeBackend)('native float32 sigmoid path: every element within 1e-6 of the exact value', () => {
  const api = nativeBackend?.api as NonNullable<typeof nativeBackend>['api'];

  it('exact reference: grid, binades, +-inf, NaN; targets 0/1 as Uint8, Float32, Int32; every level, gamma, alpha, weights', async () => {
    const xs = sparseLogits();
    const n = xs.length;
    const levels = await nativeLevels();
    const report: string[] = [];
    const failures: string[] = [];
    for (const gamma of GAMMAS) {
      for (const alpha of ALPHAS) {
        for (const weighted of [false, true]) {
          const w = weighted ? weightsFor(2 * n) : undefined;
          // Both targets for every logit: element i is (x[i mod n], t = i >= n).
          const x = Float32Array.from({ length: 2 * n }, (_, i) => xs[i % n]!);
          const hard = Array.from({ length: 2 * n }, (_, i) => (i >= n ? 1 : 0));
          const exact = Array.from({ length: 2 * n }, (_, i) =>
            exactElement(x[i]!, hard[i]!, gamma, alpha, w?.[i] ?? 1),
          );
          const stats = new ErrorStats();
          for (const level of levels) {
            for (const Targets of TARGET_TYPES) {
              const r = api.sigmoidFocalLoss(x, Targets.from(hard), {
                gamma,
                alpha,
                weights: w,
                reduction: 'none',
                gradient: true,
                simd: level,
              });
              const loss = r.loss as Float32Array;
              for (let i = 0; i < 2 * n; i++) {
                const what = () =>
                  `${level} ${Targets.name} gamma=${gamma} alpha=${alpha} x=${x[i]} t=${hard[i]} w=${w?.[i] ?? 1}`;
                stats.see('loss', what, loss[i]!, exact[i]![0]);
                stats.see('grad', what, r.grad![i]!, exact[i]![1]);
              }
            }
          }
          failures.push(...stats.failures);
          report.push(
            `gamma=${gamma} alpha=${alpha} weights=${weighted}: max rel err loss ${stats.maxLoss.toExponential(2)}, grad ${stats.maxGrad.toExponential(2)}`,
          );
        }
      }
    }
    console.log(
      `float32 sigmoid vs exact reference (${levels.join(', ')}; ${2 * n} elements each):\n${report.join('\n')}`,
    );
    expect(failures.slice(0, 20).join('\n'), `${failures.length} failures`).toBe('');
  });

  it('dense grid against the float64 JS backend: every level, gamma, alpha, weights', async () => {
    const xs = denseLogits();
    const n = xs.length;
    const levels = await nativeLevels();
    const x = Float32Array.from({ length: 2 * n }, (_, i) => xs[i % n]!);
    const x64 = Float64Array.from(x);
    const hard = Uint8Array.from({ length: 2 * n }, (_, i) => (i >= n ? 1 : 0));
    const report: string[] = [];
    const failures: string[] = [];
    for (const gamma of GAMMAS) {
      for (const alpha of ALPHAS) {
        for (const weighted of [false, true]) {
          const w = weighted ? weightsFor(2 * n) : undefined;
          const opts = { gamma, alpha, reduction: 'none', gradient: true } as const;
          const ref = jsBackend.api.sigmoidFocalLoss(x64, hard, { ...opts, weights: w && Float64Array.from(w) });
          const refLoss = ref.loss as Float64Array;
          const stats = new ErrorStats();
          for (const level of levels) {
            const r = api.sigmoidFocalLoss(x, hard, { ...opts, weights: w, simd: level });
            const loss = r.loss as Float32Array;
            for (let i = 0; i < 2 * n; i++) {
              const what = () => `${level} gamma=${gamma} alpha=${alpha} x=${x[i]} t=${hard[i]} w=${w?.[i] ?? 1}`;
              stats.see('loss', what, loss[i]!, refLoss[i]!);
              stats.see('grad', what, r.grad![i]!, ref.grad![i]!);
            }
          }
          failures.push(...stats.failures);
          report.push(
            `gamma=${gamma} alpha=${alpha} weights=${weighted}: max rel err loss ${stats.maxLoss.toExponential(2)}, grad ${stats.maxGrad.toExponential(2)}`,
          );
        }
      }
    }
    console.log(`float32 sigmoid vs float64 (${levels.join(', ')}; ${2 * n} elements each):\n${report.join('\n')}`);
    expect(failures.slice(0, 20).join('\n'), `${failures.length} failures`).toBe('');
  });

  it('forward only gives the same loss as forward + gradient, and any target dtype the same bits', async () => {
    const xs = denseLogits().subarray(0, 5001);
    const hard = Uint8Array.from(xs, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0));
    for (const level of await nativeLevels()) {
      for (const gamma of [0, 2, 0.5]) {
        const both = api.sigmoidFocalLoss(xs, hard, { gamma, reduction: 'none', gradient: true, simd: level });
        const fwd = api.sigmoidFocalLoss(xs, hard, { gamma, reduction: 'none', simd: level });
        expect(
          Buffer.from((fwd.loss as Float32Array).buffer).equals(Buffer.from((both.loss as Float32Array).buffer)),
        ).toBe(true);
        for (const Targets of TARGET_TYPES) {
          const other = api.sigmoidFocalLoss(xs, Targets.from(hard), { gamma, reduction: 'sum', simd: level });
          const u8 = api.sigmoidFocalLoss(xs, hard, { gamma, reduction: 'sum', simd: level });
          expect(Object.is(other.loss, u8.loss)).toBe(true);
        }
      }
    }
  });
});
