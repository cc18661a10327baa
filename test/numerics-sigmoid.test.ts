/**
 * Numerics of the sigmoid (binary) focal loss, per element, against the exact decimal reference
 * (test/reference.ts), for both backends and both dtypes. Tolerances (docs/NUMERICS.md, the contract):
 * float64 1e-12 relative, float32 1e-6 relative (1e-300 / 1e-36 absolute below the normal range).
 * float32 inputs are float32 values and the reference is computed on exactly those values.
 */
import { describe, expect, it } from 'vitest';
import type { SigmoidFocalLossOptions } from '../lib/types.js';
import { backends } from './backends.js';
import {
  Checker,
  DTYPES,
  GAMMAS,
  TOL,
  fmt,
  gradArray,
  lossArray,
  lossNumber,
  makeArray,
  mulberry32,
  relClose,
  roundTo,
  uniform,
  type DType,
} from './helpers.js';
import { exact, num, refSigmoid, refSigmoidDecimal, refSigmoidProb } from './reference.js';

type Api = (typeof backends)[number]['api'];

const MAGNITUDES = [0.5, 2, 12, 17, 20, 36.7, 50, 100, 1e3, 1e10, 3.4e38];
const XS = [0, ...MAGNITUDES.flatMap((v) => [v, -v])];
const HARD = [0, 1];
const SOFT = [0.25, 0.7, 0.999];
const ALPHAS = [0.25, null] as const;

function sig(api: Api, dtype: DType, xs: readonly number[], ts: readonly number[], opts: SigmoidFocalLossOptions) {
  const r = api.sigmoidFocalLoss(makeArray(dtype, xs), makeArray(dtype, ts), {
    reduction: 'none',
    gradient: true,
    ...opts,
  });
  return { loss: lossArray(r.loss), grad: gradArray(r.grad), count: r.count };
}

/** All (x, t) pairs of the grid, as dtype values. */
function grid(dtype: DType, targets: readonly number[]) {
  const xs: number[] = [];
  const ts: number[] = [];
  for (const x of XS)
    for (const t of targets) {
      xs.push(roundTo(dtype, x));
      ts.push(roundTo(dtype, t));
    }
  return { xs, ts };
}

const isHard = (t: number) => t === 0 || t === 1;

/**
 * Per-element comparison with the reference. Hard targets: plain relative tolerance for loss and
 * gradient. Soft targets: the gradient a m^g [(p - t) + g (1 - 2t)(pq/m) ce] is a difference of terms
 * that genuinely cancel where p ~ t (the gradient's zero); there it is compared relative to the
 * magnitude of the largest term (ref.gradScale). The loss (a sum of non-negative terms) is always plain.
 */
function checkAgainstRef(
  c: Checker,
  dtype: DType,
  xs: readonly number[],
  ts: readonly number[],
  got: { loss: ArrayLike<number>; grad: ArrayLike<number> },
  opts: { gamma: number; alpha: number | null; labelSmoothing?: number },
): void {
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    const t = ts[i]!;
    const ref = refSigmoid(x, t, opts);
    const what = () =>
      `${dtype} x=${fmt(x)} t=${fmt(t)} gamma=${opts.gamma} alpha=${opts.alpha} s=${opts.labelSmoothing ?? 0}`;
    const finite = Number.isFinite(x);
    if (finite) {
      c.ok(() => `${what()}: loss finite`, Number.isFinite(got.loss[i]!), `got ${got.loss[i]}`);
      c.ok(() => `${what()}: grad finite`, Number.isFinite(got.grad[i]!), `got ${got.grad[i]}`);
    }
    c.close(() => `${what()} loss`, got.loss[i]!, ref.loss);
    const smoothed = (opts.labelSmoothing ?? 0) !== 0;
    c.close(() => `${what()} grad`, got.grad[i]!, ref.grad, isHard(t) && !smoothed ? 0 : ref.gradScale);
  }
}

for (const { name, api } of backends) {
  describe(`sigmoid numerics [${name}]`, () => {
    for (const dtype of DTYPES) {
      describe(dtype, () => {
        const tol = TOL[dtype];

        it('output types follow the input dtype', () => {
          const r = sig(api, dtype, [0.5, -1], [1, 0], { gamma: 2 });
          expect(r.loss).toBeInstanceOf(dtype === 'float32' ? Float32Array : Float64Array);
          expect(r.grad).toBeInstanceOf(dtype === 'float32' ? Float32Array : Float64Array);
          expect(r.count).toBe(2);
        });

        it('saturation grid, hard targets: finite and accurate for every gamma (|x| up to 3.4e38)', () => {
          const c = new Checker(tol);
          const { xs, ts } = grid(dtype, HARD);
          for (const gamma of GAMMAS)
            for (const alpha of ALPHAS) {
              const r = sig(api, dtype, xs, ts, { gamma, alpha });
              checkAgainstRef(c, dtype, xs, ts, r, { gamma, alpha });
            }
          c.assert();
        });

        it('saturation grid, soft targets: finite and accurate for every gamma', () => {
          const c = new Checker(tol);
          const { xs, ts } = grid(dtype, SOFT);
          for (const gamma of GAMMAS)
            for (const alpha of ALPHAS) {
              const r = sig(api, dtype, xs, ts, { gamma, alpha });
              checkAgainstRef(c, dtype, xs, ts, r, { gamma, alpha });
            }
          c.assert();
        });

        it('random logits in [-30, 30], hard and soft targets, every gamma', () => {
          const rng = mulberry32(dtype === 'float32' ? 1001 : 1002);
          const xs: number[] = [];
          const ts: number[] = [];
          for (let i = 0; i < 80; i++) {
            xs.push(roundTo(dtype, uniform(rng, -30, 30)));
            const u = rng();
            ts.push(roundTo(dtype, u < 0.3 ? 0 : u < 0.6 ? 1 : rng()));
          }
          const c = new Checker(tol);
          for (const gamma of GAMMAS) {
            const alpha = gamma === 2 ? null : 0.25;
            const r = sig(api, dtype, xs, ts, { gamma, alpha });
            checkAgainstRef(c, dtype, xs, ts, r, { gamma, alpha });
          }
          c.assert();
        });

        it('large batches (vectorized / multi-threaded paths): every element still matches the reference', () => {
          // 50,003 elements cycling through the saturation grid and random pairs: large enough for any
          // SIMD body + tail and for any parallel threshold; an odd length leaves a remainder.
          const rng = mulberry32(dtype === 'float32' ? 3001 : 3002);
          const hard = grid(dtype, HARD);
          const soft = grid(dtype, SOFT);
          const bx = [...hard.xs, ...soft.xs];
          const bt = [...hard.ts, ...soft.ts];
          for (let i = 0; i < 120; i++) {
            bx.push(roundTo(dtype, uniform(rng, -25, 25)));
            const u = rng();
            bt.push(roundTo(dtype, u < 0.35 ? 0 : u < 0.7 ? 1 : rng()));
          }
          const N = 50_003;
          const xs = Array.from({ length: N }, (_, i) => bx[(i * 7) % bx.length]!);
          const ts = Array.from({ length: N }, (_, i) => bt[(i * 7) % bt.length]!);
          const c = new Checker(tol);
          for (const gamma of [0.25, 2, 16]) {
            const opts = { gamma, alpha: 0.25 };
            const refs = bx.map((x, j) => refSigmoid(x, bt[j]!, opts));
            const r = sig(api, dtype, xs, ts, opts);
            for (let i = 0; i < N; i++) {
              const j = (i * 7) % bx.length;
              const what = () => `${dtype} N=${N} i=${i} x=${fmt(xs[i]!)} t=${fmt(ts[i]!)} gamma=${gamma}`;
              c.close(() => `${what()} loss`, r.loss[i]!, refs[j]!.loss);
              c.close(() => `${what()} grad`, r.grad[i]!, refs[j]!.grad, isHard(ts[i]!) ? 0 : refs[j]!.gradScale);
            }
            let total = 0;
            for (let i = 0; i < N; i++) total += refs[(i * 7) % bx.length]!.loss;
            const sum = api.sigmoidFocalLoss(makeArray(dtype, xs), makeArray(dtype, ts), { ...opts, reduction: 'sum' });
            // The reduced sum is a double (float32 storage only bounds the elements, 1.5e41 here is fine).
            // float64: 50,003 additions in any order stay within 1e-10 relative.
            const got = lossNumber(sum.loss);
            c.ok(
              `${dtype} N=${N} gamma=${gamma} sum`,
              relClose(got, total, dtype === 'float32' ? 1e-6 : 1e-10),
              `got ${got}, expected ${total}`,
            );
          }
          c.assert();
        });

        it('x = 50, t = 1: the gradient is -alpha e^-50 (...) and not 0', () => {
          const c = new Checker(tol);
          for (const gamma of [0, 0.5, 2]) {
            const r = sig(api, dtype, [50], [1], { gamma, alpha: 0.25 });
            const ref = refSigmoid(50, 1, { gamma, alpha: 0.25 });
            c.close(`gamma=${gamma} loss`, r.loss[0]!, ref.loss);
            c.close(`gamma=${gamma} grad`, r.grad[0]!, ref.grad);
            // In float32 the gamma > 0 values (~1e-33, 1e-66) are below the range: only gamma = 0 must be non-zero.
            if (dtype === 'float64' || gamma === 0) {
              c.ok(`gamma=${gamma} grad < 0`, r.grad[0]! < 0, `got ${r.grad[0]}`);
              c.ok(`gamma=${gamma} loss > 0`, r.loss[0]! > 0, `got ${r.loss[0]}`);
            }
          }
          // gamma = 0: -alpha * q with q = sigmoid(-50) = 1.9287498479639178e-22
          const q50 = Math.exp(-50) / (1 + Math.exp(-50)); // sigmoid(-50) = 1.93e-22
          c.close(
            'gamma=0 grad = -alpha q',
            sig(api, dtype, [50], [1], { gamma: 0, alpha: 0.25 }).grad[0]!,
            -0.25 * q50,
            0,
            1e-6,
          );
          c.assert();
        });

        it('NaN logit gives NaN in that element only', () => {
          const xs = [1.5, NaN, -2, NaN];
          const ts = [1, 1, 0, 0.3];
          const c = new Checker(tol);
          for (const gamma of [0, 0.5, 2]) {
            const r = sig(api, dtype, xs, ts, { gamma, alpha: 0.25 });
            for (const i of [1, 3]) {
              c.ok(`gamma=${gamma} element ${i} loss NaN`, Number.isNaN(r.loss[i]!), `got ${r.loss[i]}`);
              c.ok(`gamma=${gamma} element ${i} grad NaN`, Number.isNaN(r.grad[i]!), `got ${r.grad[i]}`);
            }
            for (const i of [0, 2]) {
              const ref = refSigmoid(roundTo(dtype, xs[i]!), ts[i]!, { gamma, alpha: 0.25 });
              c.close(`gamma=${gamma} element ${i} loss`, r.loss[i]!, ref.loss);
              c.close(`gamma=${gamma} element ${i} grad`, r.grad[i]!, ref.grad);
            }
            const s = api.sigmoidFocalLoss(makeArray(dtype, xs), makeArray(dtype, ts), { gamma, reduction: 'sum' });
            c.ok(`gamma=${gamma} sum is NaN`, Number.isNaN(lossNumber(s.loss)), `got ${s.loss}`);
          }
          c.assert();
        });

        it('+-Infinity logits give their limits (hard targets)', () => {
          const c = new Checker(tol);
          for (const gamma of GAMMAS)
            for (const alpha of ALPHAS) {
              const aPos = alpha ?? 1;
              const aNeg = alpha === null ? 1 : 1 - alpha;
              const r = sig(api, dtype, [Infinity, -Infinity, Infinity, -Infinity], [1, 1, 0, 0], { gamma, alpha });
              const what = `gamma=${gamma} alpha=${alpha}`;
              c.close(`${what} x=+Inf t=1 loss`, r.loss[0]!, 0);
              c.close(`${what} x=+Inf t=1 grad`, r.grad[0]!, 0);
              c.close(`${what} x=-Inf t=1 loss`, r.loss[1]!, Infinity);
              c.close(`${what} x=-Inf t=1 grad`, r.grad[1]!, -aPos);
              c.close(`${what} x=+Inf t=0 loss`, r.loss[2]!, Infinity);
              c.close(`${what} x=+Inf t=0 grad`, r.grad[2]!, aNeg);
              c.close(`${what} x=-Inf t=0 loss`, r.loss[3]!, 0);
              c.close(`${what} x=-Inf t=0 grad`, r.grad[3]!, 0);
            }
          c.assert();
        });

        it('+-Infinity logits give their limits (soft target t = 0.25)', () => {
          // x -> +Inf: m -> 1 - t, p - t -> 1 - t, the focal term ~ x e^-x -> 0: grad -> a (1 - t)^(gamma + 1).
          // x -> -Inf: m -> t, p - t -> -t: grad -> -a t^(gamma + 1). The loss grows like |x|: Infinity.
          const c = new Checker(tol);
          const t = 0.25;
          for (const gamma of GAMMAS)
            for (const alpha of ALPHAS) {
              const a = alpha === null ? 1 : alpha * t + (1 - alpha) * (1 - t);
              const r = sig(api, dtype, [Infinity, -Infinity], [t, t], { gamma, alpha });
              const what = `gamma=${gamma} alpha=${alpha}`;
              c.close(`${what} x=+Inf loss`, r.loss[0]!, Infinity);
              c.close(`${what} x=+Inf grad`, r.grad[0]!, a * (1 - t) ** (gamma + 1), 0, 1e-6);
              c.close(`${what} x=-Inf loss`, r.loss[1]!, Infinity);
              c.close(`${what} x=-Inf grad`, r.grad[1]!, -a * t ** (gamma + 1), 0, 1e-6);
            }
          c.assert();
        });

        it('gamma = 0 (alpha null) is the binary cross-entropy and its gradient, within a few ulp', () => {
          // Plain double BCE written here: ce = max(x,0) - t x + log1p(exp(-|x|)), (x - t x) as x (1 - t);
          // d ce / dx = p - t = p (1 - t) - t q with p = 1/(1 + e^-x), q = 1/(1 + e^x).
          const bce = (x: number, t: number) => (x > 0 ? x * (1 - t) : -t * x) + Math.log1p(Math.exp(-Math.abs(x)));
          const rng = mulberry32(dtype === 'float32' ? 7 : 8);
          const xs: number[] = [];
          const ts: number[] = [];
          for (let i = 0; i < 200; i++) {
            xs.push(roundTo(dtype, uniform(rng, -30, 30)));
            const u = rng();
            ts.push(roundTo(dtype, u < 0.35 ? 0 : u < 0.7 ? 1 : rng()));
          }
          const r = sig(api, dtype, xs, ts, { gamma: 0, alpha: null });
          const fewUlp = dtype === 'float32' ? 4 * 2 ** -23 : 8 * 2 ** -52;
          const c = new Checker(tol);
          for (let i = 0; i < xs.length; i++) {
            const x = xs[i]!;
            const t = ts[i]!;
            const p = 1 / (1 + Math.exp(-x));
            const q = 1 / (1 + Math.exp(x));
            const what = `x=${fmt(x)} t=${fmt(t)}`;
            c.close(`${what} loss`, r.loss[i]!, bce(x, t), 0, fewUlp);
            c.close(`${what} grad`, r.grad[i]!, p * (1 - t) - t * q, Math.max(p * (1 - t), t * q), fewUlp);
          }
          c.assert();
        });

        it('integer 0/1 targets (Uint8Array, Int32Array) equal float targets and the reference', () => {
          const rng = mulberry32(33);
          const xs = Array.from({ length: 40 }, () => roundTo(dtype, uniform(rng, -20, 20)));
          const ts = xs.map(() => (rng() < 0.5 ? 0 : 1));
          const c = new Checker(tol);
          for (const Int of [Uint8Array, Int32Array]) {
            const r = api.sigmoidFocalLoss(makeArray(dtype, xs), Int.from(ts), {
              gamma: 1.5,
              alpha: 0.25,
              reduction: 'none',
              gradient: true,
            });
            checkAgainstRef(
              c,
              dtype,
              xs,
              ts,
              { loss: lossArray(r.loss), grad: gradArray(r.grad) },
              { gamma: 1.5, alpha: 0.25 },
            );
          }
          c.assert();
        });

        it('alpha weights positives by alpha and negatives by 1 - alpha', () => {
          const rng = mulberry32(44);
          const xs = Array.from({ length: 30 }, () => roundTo(dtype, uniform(rng, -8, 8)));
          const ts = xs.map((_, i) => (i % 2 === 0 ? 1 : 0));
          const base = sig(api, dtype, xs, ts, { gamma: 2, alpha: null });
          const c = new Checker(tol);
          for (const alpha of [0, 0.3, 1]) {
            const r = sig(api, dtype, xs, ts, { gamma: 2, alpha });
            for (let i = 0; i < xs.length; i++) {
              const w = ts[i] === 1 ? alpha : 1 - alpha;
              c.ok(
                `alpha=${alpha} i=${i} t=${ts[i]} loss`,
                relClose(r.loss[i]!, w * base.loss[i]!, 2 * tol.rel),
                `${r.loss[i]} vs ${w} * ${base.loss[i]}`,
              );
              c.ok(
                `alpha=${alpha} i=${i} t=${ts[i]} grad`,
                relClose(r.grad[i]!, w * base.grad[i]!, 2 * tol.rel),
                `${r.grad[i]} vs ${w} * ${base.grad[i]}`,
              );
            }
          }
          // the default alpha is 0.25
          const d = api.sigmoidFocalLoss(makeArray(dtype, xs), makeArray(dtype, ts), { reduction: 'none' });
          const e = sig(api, dtype, xs, ts, { gamma: 2, alpha: 0.25 });
          const dl = lossArray(d.loss);
          for (let i = 0; i < xs.length; i++) c.ok(`default alpha/gamma i=${i}`, relClose(dl[i]!, e.loss[i]!, tol.rel));
          c.assert();
        });

        it('reductions: sum, mean (/N), normalizer (/k), none; gradients scaled alike', () => {
          const rng = mulberry32(55);
          const N = 37;
          const xs = Array.from({ length: N }, () => roundTo(dtype, uniform(rng, -10, 10)));
          const ts = xs.map(() => roundTo(dtype, rng() < 0.5 ? Math.round(rng()) : rng()));
          const L = makeArray(dtype, xs);
          const T = makeArray(dtype, ts);
          const o = { gamma: 2, alpha: 0.25, gradient: true };
          const none = sig(api, dtype, xs, ts, o);
          const sum = api.sigmoidFocalLoss(L, T, { ...o, reduction: 'sum' });
          const mean = api.sigmoidFocalLoss(L, T, { ...o, reduction: 'mean' });
          const dflt = api.sigmoidFocalLoss(L, T, { gamma: 2, alpha: 0.25 });
          const norm = api.sigmoidFocalLoss(L, T, { ...o, normalizer: 5.5 });
          let total = 0;
          for (const v of none.loss) total += v;
          const rel = dtype === 'float32' ? 1e-6 : 1e-12;
          expect(relClose(lossNumber(sum.loss), total, rel)).toBe(true);
          expect(relClose(lossNumber(mean.loss), total / N, rel)).toBe(true);
          expect(relClose(lossNumber(dflt.loss), lossNumber(mean.loss), rel)).toBe(true);
          expect(relClose(lossNumber(norm.loss), total / 5.5, rel)).toBe(true);
          expect(sum.count).toBe(N);
          expect(mean.count).toBe(N);
          const c = new Checker(tol);
          const gs = gradArray(sum.grad);
          const gm = gradArray(mean.grad);
          const gn = gradArray(norm.grad);
          for (let i = 0; i < N; i++) {
            c.ok(`sum grad ${i}`, relClose(gs[i]!, none.grad[i]!, rel), `${gs[i]} vs ${none.grad[i]}`);
            c.ok(
              `mean grad ${i} includes 1/N`,
              relClose(gm[i]!, none.grad[i]! / N, rel),
              `${gm[i]} vs ${none.grad[i]! / N}`,
            );
            c.ok(
              `normalizer grad ${i}`,
              relClose(gn[i]!, none.grad[i]! / 5.5, rel),
              `${gn[i]} vs ${none.grad[i]! / 5.5}`,
            );
          }
          c.assert();
        });

        it('weights multiply each element loss and gradient; mean divides by N', () => {
          const rng = mulberry32(66);
          const N = 25;
          const xs = Array.from({ length: N }, () => roundTo(dtype, uniform(rng, -10, 10)));
          const ts = xs.map(() => (rng() < 0.5 ? 1 : 0));
          const ws = xs.map((_, i) => (i % 5 === 0 ? 0 : roundTo(dtype, uniform(rng, 0, 3))));
          const base = sig(api, dtype, xs, ts, { gamma: 2, alpha: 0.25 });
          const r = sig(api, dtype, xs, ts, { gamma: 2, alpha: 0.25, weights: makeArray(dtype, ws) });
          const mean = api.sigmoidFocalLoss(makeArray(dtype, xs), makeArray(dtype, ts), {
            gamma: 2,
            alpha: 0.25,
            weights: makeArray(dtype, ws),
            gradient: true,
          });
          const rel = dtype === 'float32' ? 1e-6 : 1e-12;
          const c = new Checker(tol);
          let total = 0;
          const gm = gradArray(mean.grad);
          for (let i = 0; i < N; i++) {
            const w = ws[i]!;
            total += w * base.loss[i]!;
            c.ok(
              `loss ${i} w=${w}`,
              relClose(r.loss[i]!, w * base.loss[i]!, rel),
              `${r.loss[i]} vs ${w * base.loss[i]!}`,
            );
            c.ok(
              `grad ${i} w=${w}`,
              relClose(r.grad[i]!, w * base.grad[i]!, rel),
              `${r.grad[i]} vs ${w * base.grad[i]!}`,
            );
            c.ok(
              `mean grad ${i}`,
              relClose(gm[i]!, (w * base.grad[i]!) / N, rel),
              `${gm[i]} vs ${(w * base.grad[i]!) / N}`,
            );
          }
          c.ok(
            'weighted mean = sum(w L) / N',
            relClose(lossNumber(mean.loss), total / N, rel),
            `${mean.loss} vs ${total / N}`,
          );
          c.assert();
        });

        it('label smoothing: t <- t (1 - s) + s / 2, against the reference', () => {
          const rng = mulberry32(77);
          const xs: number[] = [];
          const ts: number[] = [];
          for (let i = 0; i < 40; i++) {
            xs.push(roundTo(dtype, uniform(rng, -25, 25)));
            ts.push(roundTo(dtype, i % 3 === 0 ? rng() : i % 3 === 1 ? 1 : 0));
          }
          xs.push(roundTo(dtype, 1e3), roundTo(dtype, -1e3));
          ts.push(1, 0);
          // The smoothed target is generally not a float32 value: the reference smooths exactly, so the
          // kernel must not round t' to float32 before using it (that error is amplified by |x| / ce).
          const c = new Checker(tol);
          for (const gamma of [0, 0.5, 2])
            for (const s of [0.1, 0.2]) {
              const r = sig(api, dtype, xs, ts, { gamma, alpha: 0.25, labelSmoothing: s });
              checkAgainstRef(c, dtype, xs, ts, r, { gamma, alpha: 0.25, labelSmoothing: s });
            }
          c.assert();
        });

        it("label smoothing s <= 1e-5 (down to 1e-20): t' and 1 - t' each formed directly, logits and probabilities", () => {
          // 1 - t' as a difference of t' = t (1 - s) + s/2 keeps none of the digits of s/2 for tiny s
          // (s = 1e-9 gave 4.5e-6 relative, s = 1e-20 rounds t' to 1 and gave 0); it enters m, alpha_t,
          // ce and p - t, so every quantity is checked, with alpha 0 and 1 (alpha_t = 1 - t' or t').
          const xs = [0, 0.5, -3, 20, -20, 50, -50, 1e3, -1e3, 1e10, -1e10].map((v) => roundTo(dtype, v));
          const eps = dtype === 'float32' ? 1e-7 : 1e-15;
          const ps = [eps, 1 - eps, 0.5, 0.01, 0.99, 1e-3].map((v) =>
            Math.min(Math.max(roundTo(dtype, v), eps), 1 - eps),
          );
          const c = new Checker(tol);
          for (const s of [1e-20, 1e-15, 1e-12, 1e-9, 1e-6, 1e-5])
            for (const t of [0, 1, 0.3, 0.999].map((v) => roundTo(dtype, v)))
              for (const gamma of [0, 0.5, 2])
                for (const alpha of [0.25, null, 0, 1]) {
                  const opts = { gamma, alpha, labelSmoothing: s };
                  const ts = xs.map(() => t);
                  checkAgainstRef(c, dtype, xs, ts, sig(api, dtype, xs, ts, opts), opts);
                  const r = sig(
                    api,
                    dtype,
                    ps,
                    ps.map(() => t),
                    { ...opts, input: 'probabilities' },
                  );
                  ps.forEach((p, i) => {
                    const ref = refSigmoidProb(p, t, opts);
                    const what = `p=${fmt(p)} t=${fmt(t)} s=${s} gamma=${gamma} alpha=${alpha}`;
                    c.close(`${what} loss`, r.loss[i]!, ref.loss);
                    c.close(`${what} grad`, r.grad[i]!, ref.grad, ref.gradScale);
                  });
                }
          c.assert();
        });

        it('m^gamma below the double range while the loss is not (soft targets, |x| up to 1e300): no underflow', () => {
          // L = a m^gamma ce with m ~ min(t, 1 - t) and ce ~ t |x|: m^gamma alone underflows (0, or a
          // subnormal with few digits) while the product is a normal double, e.g. 1.4e-303 at
          // x = -1e300, t = 0.25, gamma = 1000. Float32 logits cannot reach such products (the checks
          // there pin that nothing changes).
          const mags = dtype === 'float32' ? [1e20, 1e30, 3.4e38] : [1e20, 1e30, 3.4e38, 1e100, 1e300];
          const xs = mags.flatMap((v) => [v, -v]).map((v) => roundTo(dtype, v));
          const c = new Checker(tol);
          for (const t of [0.25, 0.5, 0.001, 1e-20, 0.999].map((v) => roundTo(dtype, v)))
            for (const gamma of [16, 31, 50, 100.5, 467, 1000])
              for (const alpha of [0.25, null]) {
                const ts = xs.map(() => t);
                checkAgainstRef(c, dtype, xs, ts, sig(api, dtype, xs, ts, { gamma, alpha }), { gamma, alpha });
              }
          c.assert();
        });

        it('huge weights, tiny alpha, tiny normalizer: products of a tiny m^gamma and a large factor keep their digits', () => {
          // Each factor is legal on its own; a partial product below the normal range (alpha_t m^gamma
          // for alpha = 1e-300, or m^gamma = 1e-320 for t = 1e-20, gamma = 16) is lifted back by the
          // weight (1e280) or by 1 / normalizer. Expected: the reference times the weight (one rounding).
          const xs = [-30, -2, 0.5, 3, 40].map((v) => roundTo(dtype, v));
          const c = new Checker(tol);
          for (const [t, gamma, alpha, weight] of [
            [1e-20, 16, 0.25, 1e280],
            [roundTo(dtype, 0.3), 2, 1e-300, 1e250],
            [1, 16, 0.25, 1e250],
            [0, 2, 1e-300, 1e300],
          ] as const) {
            const w = dtype === 'float32' ? Math.fround(3e38) : weight; // the largest float32 weights instead
            const ts = xs.map(() => roundTo(dtype, t));
            for (const normalizer of [undefined, 1e-200]) {
              const r = api.sigmoidFocalLoss(makeArray(dtype, xs), makeArray(dtype, ts), {
                gamma,
                alpha,
                weights: makeArray(
                  dtype,
                  xs.map(() => w),
                ),
                gradient: true,
                ...(normalizer === undefined ? { reduction: 'none' as const } : { normalizer }),
              });
              const grad = gradArray(r.grad);
              const loss = normalizer === undefined ? lossArray(r.loss) : null;
              xs.forEach((x, i) => {
                // Scaled exactly: the reference rounded to a double first could underflow.
                const ref = refSigmoidDecimal(x, ts[i]!, { gamma, alpha });
                const scale = exact(w).div(exact(normalizer ?? 1));
                const what = `x=${fmt(x)} t=${fmt(ts[i]!)} gamma=${gamma} alpha=${alpha} w=${w} normalizer=${normalizer}`;
                if (loss) c.close(`${what} loss`, loss[i]!, num(ref.loss.times(exact(w))));
                const gradScale = isHard(ts[i]!) ? 0 : num(ref.gradScale.times(scale));
                c.close(`${what} grad`, grad[i]!, num(ref.grad.times(scale)), gradScale);
              });
            }
          }
          c.assert();
        });

        it("input: 'probabilities' (p in [0.01, 0.99], no clamping): loss and d/dp against the reference", () => {
          const rng = mulberry32(88);
          const ps: number[] = [];
          const ts: number[] = [];
          for (let i = 0; i < 40; i++) {
            ps.push(roundTo(dtype, uniform(rng, 0.01, 0.99)));
            ts.push(roundTo(dtype, i % 3 === 0 ? rng() : i % 3 === 1 ? 1 : 0));
          }
          const c = new Checker(tol);
          for (const gamma of [0, 0.5, 2, 3])
            for (const alpha of ALPHAS) {
              const r = sig(api, dtype, ps, ts, { gamma, alpha, input: 'probabilities' });
              for (let i = 0; i < ps.length; i++) {
                const ref = refSigmoidProb(ps[i]!, ts[i]!, { gamma, alpha });
                const what = `p=${fmt(ps[i]!)} t=${fmt(ts[i]!)} gamma=${gamma} alpha=${alpha}`;
                c.close(`${what} loss`, r.loss[i]!, ref.loss);
                c.close(`${what} grad`, r.grad[i]!, ref.grad, isHard(ts[i]!) ? 0 : ref.gradScale);
              }
            }
          c.assert();
        });

        if (dtype === 'float64') {
          it('number[] input is read as float64', () => {
            const xs = [0.3, -4, 12.5];
            const ts = [1, 0, 0.4];
            const r = api.sigmoidFocalLoss(xs, ts, { reduction: 'none', gradient: true });
            const f = sig(api, 'float64', xs, ts, {});
            expect(r.loss).toBeInstanceOf(Float64Array);
            expect(Array.from(lossArray(r.loss))).toEqual(Array.from(f.loss));
            expect(Array.from(gradArray(r.grad))).toEqual(Array.from(f.grad));
          });
        }
      });
    }
  });
}
