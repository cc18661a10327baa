/**
 * Gradient check: central finite differences of the float64 API loss (the reduced loss, 'sum' and
 * 'mean'/normalizer) against the returned gradient, for sigmoid and softmax, hard and soft labels,
 * label smoothing, weights, per-class alpha, and probability input. Smooth regions only (|x| <= 8).
 *
 * Step h = 1e-6 max(1, |x|); truncation error ~h^2 |L'''| ~ 1e-11, rounding error ~eps |L| / h ~ 1e-10 |L|.
 * Tolerance: 1e-6 relative plus an absolute floor of 1e-8 (1 + |L|).
 */
import { describe, expect, it } from 'vitest';
import type { SigmoidFocalLossOptions, SoftmaxFocalLossOptions } from '../lib/types.js';
import { backends } from './backends.js';
import { gradcheck, lossNumber, mulberry32, uniform } from './helpers.js';

type Api = (typeof backends)[number]['api'];
type LossFn = (x: Float64Array) => { loss: number; grad?: Float64Array };

function sigmoidFn(api: Api, targets: Float64Array | Uint8Array, opts: SigmoidFocalLossOptions): LossFn {
  return (x) => {
    const r = api.sigmoidFocalLoss(x, targets, { gradient: true, ...opts });
    return { loss: lossNumber(r.loss), grad: r.grad as Float64Array | undefined };
  };
}

function softmaxFn(api: Api, labels: Int32Array | Float64Array, opts: SoftmaxFocalLossOptions): LossFn {
  return (x) => {
    const r = api.softmaxFocalLoss(x, labels, { gradient: true, ...opts });
    return { loss: lossNumber(r.loss), grad: r.grad as Float64Array | undefined };
  };
}

const randomArray = (rng: () => number, n: number, lo: number, hi: number) =>
  Float64Array.from({ length: n }, () => uniform(rng, lo, hi));

function softTargets(rng: () => number, n: number, C: number): Float64Array {
  const t = new Float64Array(n * C);
  for (let i = 0; i < n; i++) {
    let tot = 0;
    for (let k = 0; k < C; k++) tot += t[i * C + k] = rng();
    for (let k = 0; k < C; k++) t[i * C + k]! /= tot;
  }
  return t;
}

for (const { name, api } of backends) {
  describe(`gradcheck [${name}]`, () => {
    describe('sigmoid', () => {
      const N = 10;
      const cases: { label: string; seed: number; make: (rng: () => number) => { f: LossFn; x: Float64Array } }[] = [
        {
          label: 'sum, hard Uint8 targets, gamma 2, alpha 0.25',
          seed: 1,
          make: (rng) => ({
            x: randomArray(rng, N, -8, 8),
            f: sigmoidFn(
              api,
              Uint8Array.from({ length: N }, () => (rng() < 0.5 ? 1 : 0)),
              { gamma: 2, alpha: 0.25, reduction: 'sum' },
            ),
          }),
        },
        {
          label: 'mean, soft targets, gamma 0.5, alpha null',
          seed: 2,
          make: (rng) => ({
            x: randomArray(rng, N, -8, 8),
            f: sigmoidFn(api, randomArray(rng, N, 0, 1), { gamma: 0.5, alpha: null, reduction: 'mean' }),
          }),
        },
        {
          label: 'sum, soft targets, gamma 0.25, alpha 0.6',
          seed: 3,
          make: (rng) => ({
            x: randomArray(rng, N, -8, 8),
            f: sigmoidFn(api, randomArray(rng, N, 0, 1), { gamma: 0.25, alpha: 0.6, reduction: 'sum' }),
          }),
        },
        {
          label: 'mean, label smoothing 0.1 + weights, gamma 1.5',
          seed: 4,
          make: (rng) => ({
            x: randomArray(rng, N, -8, 8),
            f: sigmoidFn(
              api,
              Float64Array.from({ length: N }, () => (rng() < 0.5 ? 1 : 0)),
              {
                gamma: 1.5,
                alpha: 0.25,
                labelSmoothing: 0.1,
                weights: randomArray(rng, N, 0, 2),
                reduction: 'mean',
              },
            ),
          }),
        },
        {
          label: 'normalizer 3, gamma 3, hard float targets',
          seed: 5,
          make: (rng) => ({
            x: randomArray(rng, N, -8, 8),
            f: sigmoidFn(
              api,
              Float64Array.from({ length: N }, () => (rng() < 0.3 ? 1 : 0)),
              { gamma: 3, normalizer: 3 },
            ),
          }),
        },
        {
          label: "input 'probabilities' (p in [0.02, 0.98]), soft targets, gamma 2, sum",
          seed: 6,
          make: (rng) => ({
            x: randomArray(rng, N, 0.02, 0.98),
            f: sigmoidFn(api, randomArray(rng, N, 0, 1), {
              gamma: 2,
              alpha: 0.25,
              input: 'probabilities',
              reduction: 'sum',
            }),
          }),
        },
        {
          label: "input 'probabilities', hard targets, gamma 0.5, mean",
          seed: 7,
          make: (rng) => ({
            x: randomArray(rng, N, 0.02, 0.98),
            f: sigmoidFn(
              api,
              Float64Array.from({ length: N }, () => (rng() < 0.5 ? 1 : 0)),
              {
                gamma: 0.5,
                input: 'probabilities',
                reduction: 'mean',
              },
            ),
          }),
        },
      ];
      for (const { label, seed, make } of cases) {
        it(label, () => {
          const rng = mulberry32(seed);
          for (let rep = 0; rep < 3; rep++) {
            const { f, x } = make(rng);
            expect(gradcheck(f, x)).toEqual([]);
          }
        });
      }
    });

    describe('softmax', () => {
      const N = 4;
      const C = 5;
      const cases: { label: string; seed: number; make: (rng: () => number) => { f: LossFn; x: Float64Array } }[] = [
        {
          label: 'sum, hard Int32 labels, gamma 2, per-class alpha',
          seed: 11,
          make: (rng) => ({
            x: randomArray(rng, N * C, -8, 8),
            f: softmaxFn(
              api,
              Int32Array.from({ length: N }, () => Math.floor(rng() * C)),
              {
                numClasses: C,
                gamma: 2,
                alpha: [0.25, 0.5, 1, 0.8, 0.4],
                reduction: 'sum',
              },
            ),
          }),
        },
        {
          label: 'mean with an ignored sample, gamma 0.5, scalar alpha 0.25',
          seed: 12,
          make: (rng) => ({
            x: randomArray(rng, N * C, -8, 8),
            f: softmaxFn(
              api,
              Int32Array.from({ length: N }, (_, i) => (i === 2 ? -100 : Math.floor(rng() * C))),
              {
                numClasses: C,
                gamma: 0.5,
                alpha: 0.25,
                reduction: 'mean',
              },
            ),
          }),
        },
        {
          label: 'sum, soft targets, gamma 1.5, per-class alpha, weights',
          seed: 13,
          make: (rng) => ({
            x: randomArray(rng, N * C, -8, 8),
            f: softmaxFn(api, softTargets(rng, N, C), {
              numClasses: C,
              gamma: 1.5,
              alpha: [1, 0.5, 0.9, 0.25, 0.6],
              weights: randomArray(rng, N, 0.2, 2),
              reduction: 'sum',
            }),
          }),
        },
        {
          label: 'mean, soft targets, gamma 0.25',
          seed: 14,
          make: (rng) => ({
            x: randomArray(rng, N * C, -8, 8),
            f: softmaxFn(api, softTargets(rng, N, C), { numClasses: C, gamma: 0.25, reduction: 'mean' }),
          }),
        },
        {
          label: 'mean, hard labels + label smoothing 0.1, gamma 3',
          seed: 15,
          make: (rng) => ({
            x: randomArray(rng, N * C, -8, 8),
            f: softmaxFn(
              api,
              Int32Array.from({ length: N }, () => Math.floor(rng() * C)),
              {
                numClasses: C,
                gamma: 3,
                labelSmoothing: 0.1,
                reduction: 'mean',
              },
            ),
          }),
        },
        {
          label: 'class-second [2, 3, 2, 2] with an ignored sample, gamma 2, mean or normalizer 2.5',
          seed: 16,
          make: (rng) => {
            const labels = Int32Array.from({ length: 8 }, (_, i) => (i === 5 ? -100 : Math.floor(rng() * 3)));
            const useNorm = rng() < 0.5;
            return {
              x: randomArray(rng, 24, -8, 8),
              f: softmaxFn(api, labels, { shape: [2, 3, 2, 2], gamma: 2, ...(useNorm ? { normalizer: 2.5 } : {}) }),
            };
          },
        },
      ];
      for (const { label, seed, make } of cases) {
        it(label, () => {
          const rng = mulberry32(seed);
          for (let rep = 0; rep < 3; rep++) {
            const { f, x } = make(rng);
            expect(gradcheck(f, x)).toEqual([]);
          }
        });
      }
    });
  });
}
