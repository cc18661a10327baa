/**
 * Numerics of the softmax (multi-class) focal loss, per sample and per logit, against the exact decimal
 * reference (test/reference.ts), for both backends and both dtypes. Tolerances as in docs/NUMERICS.md:
 * float64 1e-12 relative, float32 1e-6 relative (1e-300 / 1e-36 absolute below the normal range).
 */
import { describe, expect, it } from 'vitest';
import type { SoftmaxFocalLossOptions } from '../lib/types.js';
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
import { refSoftmax } from './reference.js';

type Api = (typeof backends)[number]['api'];
type Alpha = number | readonly number[] | null;
type Target = number | readonly number[];

const GAPS = [0, 1, 10, 20, 40, 50, 100, 1e5, 3e38];

/** Logit patterns (one sample each) parameterized by the gap between the largest logit and the others. */
const PATTERNS: { C: number; logits: (g: number) => number[]; soft: number[][]; alpha: number[] }[] = [
  {
    C: 4,
    logits: (g) => [0, -g, -g, -g],
    soft: [
      [0.7, 0.1, 0.15, 0.05],
      [0.05, 0.05, 0.1, 0.8],
      [0, 1, 0, 0],
    ],
    alpha: [0.25, 0.5, 1, 0.8],
  },
  {
    C: 3,
    logits: (g) => [g, 0, g / 2],
    soft: [
      [0.2, 0.5, 0.3],
      [1, 0, 0],
    ],
    alpha: [0.25, 0.75, 1],
  },
  {
    C: 2,
    logits: (g) => [1000, 1000 - g],
    soft: [
      [0.9, 0.1],
      [0, 1],
    ],
    alpha: [0.3, 0.7],
  },
];

interface Sample {
  z: number[];
  target: Target;
}

/** Calls the API on samples (class last) with hard labels or soft targets; reduction 'none'. */
function run(
  api: Api,
  dtype: DType,
  C: number,
  samples: readonly Sample[],
  opts: Omit<SoftmaxFocalLossOptions, 'numClasses'>,
) {
  const logits = makeArray(
    dtype,
    samples.flatMap((s) => s.z),
  );
  const hard = typeof samples[0]!.target === 'number';
  const labels = hard
    ? Int32Array.from(samples.map((s) => s.target as number))
    : makeArray(
        dtype,
        samples.flatMap((s) => s.target as number[]),
      );
  const r = api.softmaxFocalLoss(logits, labels, { numClasses: C, reduction: 'none', gradient: true, ...opts });
  return { loss: lossArray(r.loss), grad: gradArray(r.grad), count: r.count };
}

/**
 * Compares every sample's loss and every logit's gradient with the reference. Hard labels: plain
 * relative tolerance (no cancellation in -alpha q^g log p or its gradient). Soft targets: the gradient
 * w_k q_k B_k - p_k sum_{j != k} w_j B_j is a difference that genuinely cancels (its zero is inside the
 * domain), so it is compared relative to the magnitude of the larger term (ref.gradScale).
 */
function checkSamples(
  c: Checker,
  dtype: DType,
  samples: readonly Sample[],
  got: { loss: ArrayLike<number>; grad: ArrayLike<number> },
  opts: { gamma: number; alpha: Alpha; labelSmoothing?: number },
): void {
  let off = 0;
  samples.forEach((s, i) => {
    const C = s.z.length;
    const ref = refSoftmax(s.z, s.target, opts);
    const what = () =>
      `${dtype} z=[${s.z.map(fmt)}] target=${JSON.stringify(s.target)} gamma=${opts.gamma} alpha=${JSON.stringify(opts.alpha)} s=${opts.labelSmoothing ?? 0}`;
    c.ok(() => `${what()}: loss finite`, Number.isFinite(got.loss[i]!), `got ${got.loss[i]}`);
    c.close(() => `${what()} loss`, got.loss[i]!, ref.loss);
    const plain = typeof s.target === 'number' && !opts.labelSmoothing;
    for (let k = 0; k < C; k++) {
      const o = off;
      c.ok(() => `${what()}: grad[${k}] finite`, Number.isFinite(got.grad[o + k]!), `got ${got.grad[o + k]}`);
      c.close(() => `${what()} grad[${k}]`, got.grad[o + k]!, ref.grad[k]!, plain ? 0 : ref.gradScale[k]!);
    }
    off += C;
  });
}

function patternSamples(dtype: DType, pattern: (typeof PATTERNS)[number], soft: boolean): Sample[] {
  const out: Sample[] = [];
  for (const g of GAPS) {
    const z = pattern.logits(g).map((v) => roundTo(dtype, v));
    if (soft) for (const t of pattern.soft) out.push({ z, target: t.map((v) => roundTo(dtype, v)) });
    else for (let y = 0; y < pattern.C; y++) out.push({ z, target: y });
  }
  return out;
}

for (const { name, api } of backends) {
  describe(`softmax numerics [${name}]`, () => {
    for (const dtype of DTYPES) {
      describe(dtype, () => {
        const tol = TOL[dtype];

        it('output types follow the input dtype', () => {
          const r = run(api, dtype, 3, [{ z: [0.5, -1, 2], target: 1 }], { gamma: 2 });
          expect(r.loss).toBeInstanceOf(dtype === 'float32' ? Float32Array : Float64Array);
          expect(r.grad).toBeInstanceOf(dtype === 'float32' ? Float32Array : Float64Array);
          expect(r.count).toBe(1);
        });

        it('logit gaps 0 ... 3e38, hard labels: finite and accurate for every gamma', () => {
          const c = new Checker(tol);
          for (const pattern of PATTERNS) {
            const samples = patternSamples(dtype, pattern, false);
            for (const gamma of GAMMAS)
              for (const alpha of [null, pattern.alpha]) {
                checkSamples(c, dtype, samples, run(api, dtype, pattern.C, samples, { gamma, alpha }), {
                  gamma,
                  alpha,
                });
              }
          }
          c.assert();
        });

        it('logit gaps 0 ... 3e38, soft targets: finite and accurate for every gamma', () => {
          const c = new Checker(tol);
          for (const pattern of PATTERNS) {
            const samples = patternSamples(dtype, pattern, true);
            for (const gamma of GAMMAS)
              for (const alpha of [null, pattern.alpha]) {
                checkSamples(c, dtype, samples, run(api, dtype, pattern.C, samples, { gamma, alpha }), {
                  gamma,
                  alpha,
                });
              }
          }
          c.assert();
        });

        it('random logits (C = 6, |z| <= 30), hard and soft targets, every gamma', () => {
          const rng = mulberry32(dtype === 'float32' ? 2001 : 2002);
          const C = 6;
          const hard: Sample[] = [];
          const soft: Sample[] = [];
          for (let i = 0; i < 30; i++) {
            const scale = [1, 5, 30][i % 3]!;
            const z = Array.from({ length: C }, () => roundTo(dtype, uniform(rng, -scale, scale)));
            hard.push({ z, target: Math.floor(rng() * C) });
            const raw = z.map(() => (rng() < 0.3 ? 0 : rng()));
            const tot = raw.reduce((a, b) => a + b, 0) || 1;
            soft.push({ z, target: raw.map((v) => roundTo(dtype, v / tot)) });
          }
          const alpha = [0.1, 0.2, 0.5, 1, 0.7, 0.4];
          const c = new Checker(tol);
          for (const gamma of GAMMAS) {
            const a: Alpha = gamma === 2 ? alpha : gamma === 3 ? 0.25 : null;
            checkSamples(c, dtype, hard, run(api, dtype, C, hard, { gamma, alpha: a }), { gamma, alpha: a });
            checkSamples(c, dtype, soft, run(api, dtype, C, soft, { gamma, alpha: a }), { gamma, alpha: a });
          }
          c.assert();
        });

        it('large batches (vectorized / multi-threaded paths): every sample still matches the reference', () => {
          // 20,003 samples of C = 4 cycling through the gap patterns and random logits, hard and soft.
          const rng = mulberry32(dtype === 'float32' ? 4001 : 4002);
          const pattern = PATTERNS[0]!;
          const C = pattern.C;
          const baseHard = patternSamples(dtype, pattern, false);
          const baseSoft = patternSamples(dtype, pattern, true);
          for (let i = 0; i < 60; i++) {
            const z = Array.from({ length: C }, () => roundTo(dtype, uniform(rng, -20, 20)));
            baseHard.push({ z, target: Math.floor(rng() * C) });
            const raw = z.map(() => rng());
            const tot = raw.reduce((a, b) => a + b, 0);
            baseSoft.push({ z, target: raw.map((v) => roundTo(dtype, v / tot)) });
          }
          const N = 20_003;
          const c = new Checker(tol);
          for (const base of [baseHard, baseSoft]) {
            const samples = Array.from({ length: N }, (_, i) => base[(i * 7) % base.length]!);
            for (const gamma of [0.5, 2]) {
              const opts = { gamma, alpha: pattern.alpha };
              const refs = base.map((s) => refSoftmax(s.z, s.target, opts));
              const r = run(api, dtype, C, samples, opts);
              for (let i = 0; i < N; i++) {
                const s = samples[i]!;
                const ref = refs[(i * 7) % base.length]!;
                const what = () =>
                  `${dtype} N=${N} i=${i} z=[${s.z.map(fmt)}] target=${JSON.stringify(s.target)} gamma=${gamma}`;
                c.close(() => `${what()} loss`, r.loss[i]!, ref.loss);
                const plain = typeof s.target === 'number';
                for (let k = 0; k < C; k++)
                  c.close(
                    () => `${what()} grad[${k}]`,
                    r.grad[C * i + k]!,
                    ref.grad[k]!,
                    plain ? 0 : ref.gradScale[k]!,
                  );
              }
            }
          }
          c.assert();
        });

        it('gap 50 with gamma 0: loss = log(1 + e^-50) ~ 1.9e-22, not 0; gradient non-zero', () => {
          const r = run(api, dtype, 2, [{ z: [0, -50], target: 0 }], { gamma: 0, alpha: null });
          const c = new Checker(tol);
          const exact = Math.log1p(Math.exp(-50));
          c.close('loss', r.loss[0]!, exact, 0, 1e-6);
          c.ok('loss in (1e-22, 3e-22)', r.loss[0]! > 1e-22 && r.loss[0]! < 3e-22, `got ${r.loss[0]}`);
          c.ok('grad[0] < 0', r.grad[0]! < 0, `got ${r.grad[0]}`);
          c.ok('grad[1] > 0', r.grad[1]! > 0, `got ${r.grad[1]}`);
          const ref = refSoftmax([0, -50], 0, { gamma: 0, alpha: null });
          c.close('grad[0]', r.grad[0]!, ref.grad[0]!);
          c.close('grad[1]', r.grad[1]!, ref.grad[1]!);
          // gamma 0.5 at gaps 20 and 40 (numeric_probes P12): non-zero loss, finite non-NaN gradient
          for (const gap of [20, 40]) {
            const s = run(api, dtype, 2, [{ z: [0, -gap], target: 0 }], { gamma: 0.5, alpha: null });
            const rf = refSoftmax([0, -gap], 0, { gamma: 0.5, alpha: null });
            c.close(`gap ${gap} gamma 0.5 loss`, s.loss[0]!, rf.loss);
            c.close(`gap ${gap} gamma 0.5 grad[0]`, s.grad[0]!, rf.grad[0]!);
            c.close(`gap ${gap} gamma 0.5 grad[1]`, s.grad[1]!, rf.grad[1]!);
          }
          c.assert();
        });

        it('logits more than 3.4e38 apart: the loss is the correctly rounded value (Infinity in float32), the gradient finite', () => {
          // z = [3.4e38, -3.4e38], y = 1: the exact loss is 6.8e38 (-log p_y = the gap), beyond float32's
          // largest value: a float32 'none' loss rounds it to Infinity, as any rounding to float32 must.
          // The gradient (-q_y, +p_0 within 1e-38) is finite; 'sum' and 'mean' are doubles: 6.8e38.
          // y = 0 (the top class, p_y = 1): the loss is +0 (not -0).
          const z = [3.4e38, -3.4e38].map((v) => roundTo(dtype, v));
          const c = new Checker(tol);
          for (const gamma of [0, 2]) {
            const ref = refSoftmax(z, 1, { gamma, alpha: null });
            const r = run(api, dtype, 2, [{ z, target: 1 }], { gamma });
            c.ok(`gamma=${gamma} exact loss beyond float32`, ref.loss > 3.5e38, `${ref.loss}`);
            c.ok(
              `gamma=${gamma} 'none' loss`,
              dtype === 'float32' ? r.loss[0] === Infinity : relClose(r.loss[0]!, ref.loss, tol.rel),
              `got ${r.loss[0]}, exact ${ref.loss}`,
            );
            for (let k = 0; k < 2; k++) {
              c.ok(`gamma=${gamma} grad[${k}] finite`, Number.isFinite(r.grad[k]!), `got ${r.grad[k]}`);
              c.close(`gamma=${gamma} grad[${k}]`, r.grad[k]!, ref.grad[k]!);
            }
            for (const reduction of ['sum', 'mean'] as const) {
              const red = api.softmaxFocalLoss(makeArray(dtype, z), Int32Array.from([1]), {
                numClasses: 2,
                gamma,
                reduction,
              });
              c.ok(`gamma=${gamma} ${reduction} is a number`, typeof red.loss === 'number', `${typeof red.loss}`);
              c.ok(
                `gamma=${gamma} ${reduction} = the exact loss, a finite double`,
                relClose(lossNumber(red.loss), ref.loss, 1e-12),
                `got ${red.loss}, exact ${ref.loss}`,
              );
            }
            const top = run(api, dtype, 2, [{ z, target: 0 }], { gamma });
            c.ok(
              `gamma=${gamma} y = top: loss +0`,
              Object.is(top.loss[0], 0),
              `got ${Object.is(top.loss[0], -0) ? '-0' : top.loss[0]}`,
            );
          }
          c.assert();
        });

        it('NaN logit gives NaN in that sample only', () => {
          const samples: Sample[] = [
            { z: [0.5, 1, -1], target: 2 },
            { z: [0.5, 1, NaN], target: 0 },
            { z: [NaN, 1, -1], target: 0 },
            { z: [3, -2, 0.25], target: 1 },
          ];
          const c = new Checker(tol);
          for (const gamma of [0, 0.5, 2]) {
            const r = run(api, dtype, 3, samples, { gamma });
            c.ok(`gamma=${gamma} sample 1 loss NaN`, Number.isNaN(r.loss[1]!), `got ${r.loss[1]}`);
            c.ok(`gamma=${gamma} sample 2 loss NaN`, Number.isNaN(r.loss[2]!), `got ${r.loss[2]}`);
            c.ok(`gamma=${gamma} sample 1 grad at NaN logit`, Number.isNaN(r.grad[5]!), `got ${r.grad[5]}`);
            c.ok(`gamma=${gamma} sample 2 grad at NaN logit`, Number.isNaN(r.grad[6]!), `got ${r.grad[6]}`);
            for (const i of [0, 3]) {
              const ref = refSoftmax(
                samples[i]!.z.map((v) => roundTo(dtype, v)),
                samples[i]!.target,
                { gamma, alpha: null },
              );
              c.close(`gamma=${gamma} sample ${i} loss`, r.loss[i]!, ref.loss);
              for (let k = 0; k < 3; k++)
                c.close(`gamma=${gamma} sample ${i} grad[${k}]`, r.grad[3 * i + k]!, ref.grad[k]!);
            }
            const s = api.softmaxFocalLoss(
              makeArray(
                dtype,
                samples.flatMap((x) => x.z),
              ),
              Int32Array.from([2, 0, 0, 1]),
              {
                numClasses: 3,
                gamma,
                reduction: 'sum',
              },
            );
            c.ok(`gamma=${gamma} sum is NaN`, Number.isNaN(lossNumber(s.loss)), `got ${s.loss}`);
          }
          c.assert();
        });

        it('+-Infinity logits give their limits', () => {
          // Hand-derived limits. z = [+Inf, 0, 0] -> p = (1, 0, 0). z = [-Inf, 0, 0] -> p = (0, 1/2, 1/2).
          // dL/dz_k = sum_j w_j B_j (delta_jk - p_k), B_j = g q_j^(g-1) p_j log p_j - q_j^g:
          // B_j -> -1 when p_j -> 0 (p log p -> 0), and w_j B_j q_j -> 0 when q_j -> 0.
          const alpha = [0.25, 0.5, 1];
          const c = new Checker(tol);
          for (const gamma of GAMMAS) {
            const samples: Sample[] = [
              { z: [Infinity, 0, 0], target: 0 },
              { z: [Infinity, 0, 0], target: 1 },
              { z: [-Infinity, 0, 0], target: 0 },
              { z: [-Infinity, 0, 0], target: 1 },
            ];
            const r = run(api, dtype, 3, samples, { gamma, alpha });
            const w = `gamma=${gamma}`;
            const expectRow = (i: number, loss: number, grad: number[]) => {
              c.close(`${w} sample ${i} loss`, r.loss[i]!, loss, 0, 1e-6);
              grad.forEach((g, k) => c.close(`${w} sample ${i} grad[${k}]`, r.grad[3 * i + k]!, g, 0, 1e-6));
            };
            expectRow(0, 0, [0, 0, 0]);
            expectRow(1, Infinity, [alpha[1]!, -alpha[1]!, 0]);
            expectRow(2, Infinity, [-alpha[0]!, alpha[0]! / 2, alpha[0]! / 2]);
            // z = [-Inf, 0, 0], y = 1: p_1 = q_1 = 1/2, L = -a 2^-g log(1/2), B = 2^-g (g log(1/2) - 1)
            const a1 = alpha[1]!;
            const B = 0.5 ** gamma * (gamma * Math.log(0.5) - 1);
            expectRow(3, -a1 * 0.5 ** gamma * Math.log(0.5), [0, a1 * B * 0.5, -a1 * B * 0.5]);
            // soft target with z = [+Inf, 0, 0]: loss Infinity, grad [w1 + w2, -w1, -w2]
            const t = [0.5, 0.3, 0.2].map((v) => roundTo(dtype, v));
            const s = run(api, dtype, 3, [{ z: [Infinity, 0, 0], target: t }], { gamma, alpha });
            const w1 = t[1]! * alpha[1]!;
            const w2 = t[2]! * alpha[2]!;
            c.close(`${w} soft loss`, s.loss[0]!, Infinity);
            [w1 + w2, -w1, -w2].forEach((g, k) => c.close(`${w} soft grad[${k}]`, s.grad[k]!, g, 0, 1e-6));
          }
          c.assert();
        });

        it('gamma = 0 (alpha null) is the categorical cross-entropy and its gradient, within a few ulp', () => {
          // Plain double cross-entropy written here: log p_j = (z_j - M) - log1p(sum_{j != argmax} e^(z_j - M)),
          // L = -sum t_j log p_j, dL/dz_k = p_k sum_j t_j - t_k.
          const rng = mulberry32(dtype === 'float32' ? 17 : 18);
          const C = 5;
          const hard: Sample[] = [];
          const soft: Sample[] = [];
          for (let i = 0; i < 60; i++) {
            const z = Array.from({ length: C }, () => roundTo(dtype, uniform(rng, -8, 8)));
            hard.push({ z, target: Math.floor(rng() * C) });
            const raw = z.map(() => rng());
            const tot = raw.reduce((a, b) => a + b, 0);
            soft.push({ z, target: raw.map((v) => roundTo(dtype, v / tot)) });
          }
          const ce = (z: number[], target: Target) => {
            const t = typeof target === 'number' ? z.map((_, j) => (j === target ? 1 : 0)) : [...target];
            let mi = 0;
            for (let j = 1; j < z.length; j++) if (z[j]! > z[mi]!) mi = j;
            let rest = 0;
            for (let j = 0; j < z.length; j++) if (j !== mi) rest += Math.exp(z[j]! - z[mi]!);
            const lse = Math.log1p(rest);
            const p = z.map((v) => Math.exp(v - z[mi]!) / (1 + rest));
            let loss = 0;
            for (let j = 0; j < z.length; j++) if (t[j]) loss -= t[j]! * (z[j]! - z[mi]! - lse);
            const tsum = t.reduce((a, b) => a + b, 0);
            return {
              loss,
              grad: p.map((pk, k) => pk * tsum - t[k]!),
              scale: p.map((pk, k) => Math.max(pk * tsum, t[k]!)),
            };
          };
          const fewUlp = dtype === 'float32' ? 4 * 2 ** -23 : 8 * 2 ** -52;
          const c = new Checker(tol);
          for (const samples of [hard, soft]) {
            const r = run(api, dtype, C, samples, { gamma: 0, alpha: null });
            samples.forEach((s, i) => {
              const e = ce(s.z, s.target);
              const what = `z=[${s.z.map(fmt)}] target=${JSON.stringify(s.target)}`;
              c.close(`${what} loss`, r.loss[i]!, e.loss, 0, fewUlp);
              for (let k = 0; k < C; k++)
                c.close(`${what} grad[${k}]`, r.grad[C * i + k]!, e.grad[k]!, e.scale[k]!, fewUlp);
            });
          }
          c.assert();
        });

        it('scalar alpha only scales the loss; per-class alpha changes the relative weight of classes', () => {
          const rng = mulberry32(99);
          const C = 4;
          const samples: Sample[] = Array.from({ length: 16 }, (_, i) => ({
            z: Array.from({ length: C }, () => roundTo(dtype, uniform(rng, -4, 4))),
            target: i % C,
          }));
          const rel = 2 * tol.rel;
          const base = run(api, dtype, C, samples, { gamma: 2, alpha: null });
          const scalar = run(api, dtype, C, samples, { gamma: 2, alpha: 0.4 });
          const perClass = [0.1, 0.5, 1, 0.3];
          const pc = run(api, dtype, C, samples, { gamma: 2, alpha: perClass });
          const c = new Checker(tol);
          for (let i = 0; i < samples.length; i++) {
            const y = samples[i]!.target as number;
            c.ok(
              `scalar loss ${i}`,
              relClose(scalar.loss[i]!, 0.4 * base.loss[i]!, rel),
              `${scalar.loss[i]} vs 0.4 * ${base.loss[i]}`,
            );
            c.ok(
              `per-class loss ${i}`,
              relClose(pc.loss[i]!, perClass[y]! * base.loss[i]!, rel),
              `${pc.loss[i]} vs ${perClass[y]} * ${base.loss[i]}`,
            );
            for (let k = 0; k < C; k++) {
              const j = C * i + k;
              c.ok(
                `scalar grad ${i},${k}`,
                relClose(scalar.grad[j]!, 0.4 * base.grad[j]!, rel),
                `${scalar.grad[j]} vs 0.4 * ${base.grad[j]}`,
              );
              c.ok(
                `per-class grad ${i},${k}`,
                relClose(pc.grad[j]!, perClass[y]! * base.grad[j]!, rel),
                `${pc.grad[j]} vs ${perClass[y]} * ${base.grad[j]}`,
              );
            }
          }
          // ratio of two samples' losses: unchanged by a scalar alpha, multiplied by alpha[y0] / alpha[y1] per class
          const r0 = base.loss[0]! / base.loss[1]!;
          c.ok('scalar alpha keeps the ratio', relClose(scalar.loss[0]! / scalar.loss[1]!, r0, 4 * tol.rel));
          c.ok(
            'per-class alpha changes the ratio',
            relClose(pc.loss[0]! / pc.loss[1]!, (r0 * perClass[0]!) / perClass[1]!, 4 * tol.rel),
          );
          c.ok('per-class alpha really changes it', !relClose(pc.loss[0]! / pc.loss[1]!, r0, 1e-3));
          c.assert();
        });

        it('reductions, ignoreIndex and count: ignored samples have zero loss and gradient and are not counted', () => {
          const rng = mulberry32(111);
          const C = 5;
          const N = 12;
          const z = Array.from({ length: N * C }, () => roundTo(dtype, uniform(rng, -6, 6)));
          const labels = Array.from({ length: N }, (_, i) => (i % 4 === 1 ? -100 : Math.floor(rng() * C)));
          const counted = labels.filter((y) => y !== -100).length;
          const L = makeArray(dtype, z);
          const Y = Int32Array.from(labels);
          const o = { numClasses: C, gamma: 2, alpha: [0.5, 1, 0.6, 0.9, 0.25], gradient: true };
          const none = api.softmaxFocalLoss(L, Y, { ...o, reduction: 'none' });
          const sum = api.softmaxFocalLoss(L, Y, { ...o, reduction: 'sum' });
          const mean = api.softmaxFocalLoss(L, Y, { ...o, reduction: 'mean' });
          const dflt = api.softmaxFocalLoss(L, Y, { numClasses: C, gamma: 2, alpha: o.alpha });
          const norm = api.softmaxFocalLoss(L, Y, { ...o, normalizer: 4 });
          const nl = lossArray(none.loss);
          const ng = gradArray(none.grad);
          const rel = dtype === 'float32' ? 1e-6 : 1e-12;
          const c = new Checker(tol);
          let total = 0;
          for (let i = 0; i < N; i++) {
            total += nl[i]!;
            if (labels[i] === -100) {
              c.ok(`ignored sample ${i} loss 0`, nl[i] === 0, `got ${nl[i]}`);
              for (let k = 0; k < C; k++)
                c.ok(`ignored sample ${i} grad[${k}] 0`, ng[C * i + k] === 0, `got ${ng[C * i + k]}`);
            } else {
              const ref = refSoftmax(z.slice(C * i, C * i + C), labels[i]!, { gamma: 2, alpha: o.alpha });
              c.close(`sample ${i} loss`, nl[i]!, ref.loss);
              for (let k = 0; k < C; k++) c.close(`sample ${i} grad[${k}]`, ng[C * i + k]!, ref.grad[k]!);
            }
          }
          for (const [nm, r] of [
            ['none', none],
            ['sum', sum],
            ['mean', mean],
            ['normalizer', norm],
          ] as const) {
            c.ok(`${nm} count`, r.count === counted, `got ${r.count}, expected ${counted}`);
          }
          c.ok('sum', relClose(lossNumber(sum.loss), total, rel), `${sum.loss} vs ${total}`);
          c.ok(
            'mean = sum / counted',
            relClose(lossNumber(mean.loss), total / counted, rel),
            `${mean.loss} vs ${total / counted}`,
          );
          c.ok('default reduction is mean', relClose(lossNumber(dflt.loss), total / counted, rel), `${dflt.loss}`);
          c.ok('normalizer', relClose(lossNumber(norm.loss), total / 4, rel), `${norm.loss} vs ${total / 4}`);
          const gs = gradArray(sum.grad);
          const gm = gradArray(mean.grad);
          const gn = gradArray(norm.grad);
          for (let j = 0; j < N * C; j++) {
            c.ok(`sum grad ${j}`, relClose(gs[j]!, ng[j]!, rel), `${gs[j]} vs ${ng[j]}`);
            c.ok(
              `mean grad ${j} includes 1/count`,
              relClose(gm[j]!, ng[j]! / counted, rel),
              `${gm[j]} vs ${ng[j]! / counted}`,
            );
            c.ok(`normalizer grad ${j}`, relClose(gn[j]!, ng[j]! / 4, rel), `${gn[j]} vs ${ng[j]! / 4}`);
          }
          c.assert();
        });

        it('custom ignoreIndex with Uint8Array labels; everything ignored gives mean 0, zero gradient, count 0', () => {
          const rng = mulberry32(122);
          const C = 3;
          const N = 6;
          const z = Array.from({ length: N * C }, () => roundTo(dtype, uniform(rng, -3, 3)));
          const labels = [0, 255, 2, 1, 255, 0];
          const r = api.softmaxFocalLoss(makeArray(dtype, z), Uint8Array.from(labels), {
            numClasses: C,
            ignoreIndex: 255,
            reduction: 'none',
            gradient: true,
            gamma: 1,
          });
          const c = new Checker(tol);
          const rl = lossArray(r.loss);
          const rg = gradArray(r.grad);
          c.ok('count', r.count === 4, `got ${r.count}`);
          for (let i = 0; i < N; i++) {
            if (labels[i] === 255) {
              c.ok(`ignored ${i} loss`, rl[i] === 0, `got ${rl[i]}`);
              for (let k = 0; k < C; k++) c.ok(`ignored ${i} grad`, rg[C * i + k] === 0, `got ${rg[C * i + k]}`);
            } else {
              const ref = refSoftmax(z.slice(C * i, C * i + C), labels[i]!, { gamma: 1, alpha: null });
              c.close(`sample ${i} loss`, rl[i]!, ref.loss);
              for (let k = 0; k < C; k++) c.close(`sample ${i} grad[${k}]`, rg[C * i + k]!, ref.grad[k]!);
            }
          }
          const all = api.softmaxFocalLoss(makeArray(dtype, z), Int32Array.from(labels.map(() => -100)), {
            numClasses: C,
            gradient: true,
          });
          c.ok('all ignored: mean is 0', all.loss === 0, `got ${all.loss}`);
          c.ok('all ignored: count 0', all.count === 0, `got ${all.count}`);
          c.ok(
            'all ignored: grad all 0',
            gradArray(all.grad).every((v) => v === 0),
            `got ${Array.from(gradArray(all.grad))}`,
          );
          c.assert();
        });

        it('per-sample weights multiply loss and gradient; mean is sum(w L) / count', () => {
          const rng = mulberry32(133);
          const C = 4;
          const N = 10;
          const z = Array.from({ length: N * C }, () => roundTo(dtype, uniform(rng, -5, 5)));
          const labels = Array.from({ length: N }, (_, i) => (i === 3 ? -100 : Math.floor(rng() * C)));
          const ws = Array.from({ length: N }, (_, i) => (i === 5 ? 0 : roundTo(dtype, uniform(rng, 0.1, 3))));
          const L = makeArray(dtype, z);
          const Y = Int32Array.from(labels);
          const o = { numClasses: C, gamma: 2, gradient: true };
          const base = api.softmaxFocalLoss(L, Y, { ...o, reduction: 'none' });
          const wn = api.softmaxFocalLoss(L, Y, { ...o, reduction: 'none', weights: makeArray(dtype, ws) });
          const wm = api.softmaxFocalLoss(L, Y, { ...o, weights: makeArray(dtype, ws) });
          const bl = lossArray(base.loss);
          const bg = gradArray(base.grad);
          const wl = lossArray(wn.loss);
          const wg = gradArray(wn.grad);
          const mg = gradArray(wm.grad);
          const rel = dtype === 'float32' ? 1e-6 : 1e-12;
          const c = new Checker(tol);
          let total = 0;
          for (let i = 0; i < N; i++) {
            const w = ws[i]!;
            total += w * bl[i]!;
            c.ok(`loss ${i}`, relClose(wl[i]!, w * bl[i]!, rel), `${wl[i]} vs ${w * bl[i]!}`);
            for (let k = 0; k < C; k++) {
              const j = C * i + k;
              c.ok(`grad ${i},${k}`, relClose(wg[j]!, w * bg[j]!, rel), `${wg[j]} vs ${w * bg[j]!}`);
              c.ok(`mean grad ${i},${k}`, relClose(mg[j]!, (w * bg[j]!) / 9, rel), `${mg[j]} vs ${(w * bg[j]!) / 9}`);
            }
          }
          c.ok('weighted mean', relClose(lossNumber(wm.loss), total / 9, rel), `${wm.loss} vs ${total / 9}`);
          c.ok('count', wm.count === 9, `got ${wm.count}`);
          c.assert();
        });

        it('integer label types (Int8, Uint8, Int16, Uint16, Int32, Uint32) agree with the reference', () => {
          const rng = mulberry32(144);
          const C = 7;
          const N = 9;
          const z = Array.from({ length: N * C }, () => roundTo(dtype, uniform(rng, -5, 5)));
          const labels = Array.from({ length: N }, () => Math.floor(rng() * C));
          const c = new Checker(tol);
          for (const Int of [Int8Array, Uint8Array, Int16Array, Uint16Array, Int32Array, Uint32Array]) {
            const r = api.softmaxFocalLoss(makeArray(dtype, z), Int.from(labels), {
              numClasses: C,
              gamma: 1.5,
              reduction: 'none',
              gradient: true,
            });
            const samples = labels.map((y, i) => ({ z: z.slice(C * i, C * i + C), target: y }));
            checkSamples(
              c,
              dtype,
              samples,
              { loss: lossArray(r.loss), grad: gradArray(r.grad) },
              { gamma: 1.5, alpha: null },
            );
          }
          c.assert();
        });

        it('label smoothing: t_j (1 - s) + s / C, hard labels equal smoothed one-hot soft targets', () => {
          const rng = mulberry32(155);
          const C = 5;
          const samples: Sample[] = Array.from({ length: 12 }, () => ({
            z: Array.from({ length: C }, () => roundTo(dtype, uniform(rng, -10, 10))),
            target: Math.floor(rng() * C),
          }));
          samples.push({ z: [0, -50, -50, -50, -50].map((v) => roundTo(dtype, v)), target: 0 });
          const oneHot = samples.map((s) => ({ z: s.z, target: s.z.map((_, j) => (j === s.target ? 1 : 0)) }));
          // The smoothed targets are computed exactly by the reference (see the sigmoid suite).
          const c = new Checker(tol);
          // Tiny s too: the soft target (1 - s)[j = y] + s/C has no complement to cancel (unlike the
          // sigmoid's 1 - t'), so s = 1e-20 ... 1e-5 must stay within the contract as it is.
          for (const gamma of [0, 0.5, 2])
            for (const s of [1e-20, 1e-9, 1e-5, 0.1, 0.3]) {
              const alpha = [0.5, 1, 0.8, 0.25, 1];
              const h = run(api, dtype, C, samples, { gamma, alpha, labelSmoothing: s });
              checkSamples(c, dtype, samples, h, { gamma, alpha, labelSmoothing: s });
              const t = run(api, dtype, C, oneHot, { gamma, alpha, labelSmoothing: s });
              checkSamples(c, dtype, oneHot, t, { gamma, alpha, labelSmoothing: s });
            }
          c.assert();
        });

        it('class-second layout [N, C, H, W] equals the class-last computation after transposing', () => {
          const rng = mulberry32(166);
          const [N, C, H, W] = [2, 3, 2, 3];
          const S = H * W;
          // class-last rows r = n*S + s
          const rows = Array.from({ length: N * S }, () =>
            Array.from({ length: C }, () => roundTo(dtype, uniform(rng, -6, 6))),
          );
          const labels = Array.from({ length: N * S }, (_, r) => (r === 4 ? -100 : Math.floor(rng() * C)));
          const softRows = rows.map(() => {
            const raw = Array.from({ length: C }, () => rng());
            const tot = raw.reduce((a, b) => a + b, 0);
            return raw.map((v) => roundTo(dtype, v / tot));
          });
          const toClassSecond = (rs: number[][]) => {
            const out = new Array<number>(N * C * S);
            for (let n = 0; n < N; n++)
              for (let ci = 0; ci < C; ci++)
                for (let s = 0; s < S; s++) out[n * C * S + ci * S + s] = rs[n * S + s]![ci]!;
            return out;
          };
          const logits2 = makeArray(dtype, toClassSecond(rows));
          const logitsLast = makeArray(dtype, rows.flat());
          const weights = Array.from({ length: N * S }, () => roundTo(dtype, uniform(rng, 0.5, 2)));
          const c = new Checker(tol);
          const rel = dtype === 'float32' ? 1e-6 : 1e-12;
          for (const soft of [false, true]) {
            const tgt2 = soft ? makeArray(dtype, toClassSecond(softRows)) : Int32Array.from(labels);
            const tgtLast = soft ? makeArray(dtype, softRows.flat()) : Int32Array.from(labels);
            for (const reduction of ['none', 'mean', 'sum'] as const) {
              const o = {
                gamma: 2,
                alpha: [0.25, 1, 0.6],
                gradient: true,
                reduction,
                weights: makeArray(dtype, weights),
              };
              const a = api.softmaxFocalLoss(logits2, tgt2, { ...o, shape: [N, C, H, W], classAxis: 1 });
              const aDefaultAxis = api.softmaxFocalLoss(logits2, tgt2, { ...o, shape: [N, C, H, W] });
              const b = api.softmaxFocalLoss(logitsLast, tgtLast, { ...o, numClasses: C });
              const what = `soft=${soft} ${reduction}`;
              c.ok(`${what} count`, a.count === b.count, `${a.count} vs ${b.count}`);
              if (reduction === 'none') {
                const al = lossArray(a.loss);
                const bl = lossArray(b.loss);
                for (let r = 0; r < N * S; r++)
                  c.ok(`${what} loss row ${r}`, relClose(al[r]!, bl[r]!, rel), `${al[r]} vs ${bl[r]}`);
                // and against the reference
                rows.forEach((z, r) => {
                  if (!soft && labels[r] === -100) return;
                  const ref = refSoftmax(z, soft ? softRows[r]! : labels[r]!, { gamma: 2, alpha: o.alpha });
                  c.close(`${what} ref loss row ${r}`, al[r]!, ref.loss * weights[r]!, 0, 2 * tol.rel);
                });
              } else {
                c.ok(`${what} loss`, relClose(lossNumber(a.loss), lossNumber(b.loss), rel), `${a.loss} vs ${b.loss}`);
              }
              const ag = gradArray(a.grad);
              const adg = gradArray(aDefaultAxis.grad);
              const bg = gradArray(b.grad);
              for (let n = 0; n < N; n++)
                for (let ci = 0; ci < C; ci++)
                  for (let s = 0; s < S; s++) {
                    const i2 = n * C * S + ci * S + s;
                    const iL = (n * S + s) * C + ci;
                    c.ok(
                      `${what} grad (n=${n},c=${ci},s=${s})`,
                      relClose(ag[i2]!, bg[iL]!, rel, 1e-300),
                      `${ag[i2]} vs ${bg[iL]}`,
                    );
                    c.ok(`${what} classAxis defaults to 1`, ag[i2] === adg[i2], `${ag[i2]} vs ${adg[i2]}`);
                  }
            }
          }
          c.assert();
        });
      });
    }
  });
}
