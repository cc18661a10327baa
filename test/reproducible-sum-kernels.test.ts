/**
 * The kernels sum through the reproducible accumulator (lib/reduce/reproducible-sum.ts,
 * native/reduce/reproducible_sum.hpp): for both backends, sigmoid and softmax (labels, soft targets,
 * ignore index, weights, float32 and float64), on threads 1, 2 and 3,
 *   - the one-shot 'sum' and its state are the merge of the states of random sub-chunks;
 *   - every element's 'none' loss is the same bits on a sub-chunk as in the whole call (the value
 *     of an element does not depend on where it falls: blocks, tiles, vector tails, strips);
 *   - for float64, the one-shot 'sum' is the accumulator over the 'none' losses.
 * The kernels' state is read through a wrapper of the backend (the facade passes it on unchanged).
 */
import { describe, expect, it } from 'vitest';
import { createFocalLoss } from '../lib/facade/api.js';
import type { KernelResult, Kernels } from '../lib/backends/contract.js';
import { jsKernels } from '../lib/backends/js/kernels.js';
import { loadNative } from '../lib/backends/native/loader.js';
import { ReproducibleSum, type ReproducibleSumState } from '../lib/reduce/reproducible-sum.js';
import { readReproducibleSumState } from '../lib/reduce/reproducible-state.js';
import { mulberry32 } from './helpers.js';

const native = loadNative();
const KERNELS: Array<[string, Kernels]> = [['js', jsKernels]];
if (native.kernels) KERNELS.push(['native', native.kernels]);

/** The backend, with the state of each call's sum kept for the test. */
function spied(kernels: Kernels): { api: ReturnType<typeof createFocalLoss>; states: ReproducibleSumState[] } {
  const states: ReproducibleSumState[] = [];
  const keep = (r: KernelResult): KernelResult => {
    states.push(r.sumState!);
    return r;
  };
  const wrapped: Kernels = {
    ...kernels,
    sigmoid: (plan) => keep(kernels.sigmoid(plan)),
    softmax: (plan) => keep(kernels.softmax(plan)),
  };
  return { api: createFocalLoss(wrapped), states };
}

/** Cut points 0 = c0 < c1 < ... < ck = n, at random. */
function cuts(n: number, rng: () => number, pieces: number): number[] {
  const inner = new Set<number>();
  while (inner.size < Math.min(pieces - 1, n - 1)) inner.add(1 + Math.floor(rng() * (n - 1)));
  return [0, ...[...inner].sort((a, b) => a - b), n];
}

function merged(states: ReproducibleSumState[]): ReproducibleSum {
  const acc = new ReproducibleSum();
  for (const s of states) acc.merge(readReproducibleSumState(s, 'state'));
  return acc;
}

type Dtype = 'float32' | 'float64';
// Typed as Float64Array's constructor for brevity: at run time the float32 cases hold Float32Arrays.
const Float = (dtype: Dtype) => (dtype === 'float32' ? Float32Array : Float64Array) as unknown as typeof Float64Array;

interface Case {
  name: string;
  /** Samples (softmax) or elements (sigmoid). */
  n: number;
  /** Elements per item. */
  width: number;
  dtype: Dtype;
  /** One call on items [begin, end). */
  call: (
    api: ReturnType<typeof createFocalLoss>,
    begin: number,
    end: number,
    reduction: 'sum' | 'none',
    threads: number,
  ) => { loss: number | Float32Array | Float64Array };
}

function sigmoidCase(dtype: Dtype, targets: 'hard' | 'soft' | 'mixed', weighted: boolean, gamma: number): Case {
  const rng = mulberry32(1000 + gamma * 10 + (weighted ? 1 : 0));
  const n = 70_001; // more than one block (32768 elements each), and an odd tail
  const F = Float(dtype);
  const logits = F.from({ length: n }, () => (rng() - 0.5) * (rng() < 0.05 ? 200 : 12));
  const t =
    targets === 'hard'
      ? Uint8Array.from({ length: n }, () => (rng() < 0.3 ? 1 : 0))
      : F.from({ length: n }, (_, i) => (targets === 'soft' || i % 97 === 0 ? rng() : rng() < 0.3 ? 1 : 0));
  const w = weighted ? F.from({ length: n }, () => (rng() < 0.1 ? 0 : rng() * 3)) : undefined;
  return {
    name: `sigmoid ${dtype} ${targets} targets${weighted ? ', weights' : ''}, gamma ${gamma}`,
    n,
    width: 1,
    dtype,
    call: (api, begin, end, reduction, threads) =>
      api.sigmoidFocalLoss(logits.subarray(begin, end), t.subarray(begin, end), {
        gamma,
        alpha: 0.25,
        reduction,
        threads,
        ...(w ? { weights: w.subarray(begin, end) } : {}),
      }),
  };
}

function softmaxCase(dtype: Dtype, classes: number, mode: 'labels' | 'targets', weighted: boolean): Case {
  const rng = mulberry32(2000 + classes);
  const n = Math.ceil(80_000 / classes) + 7;
  const F = Float(dtype);
  const logits = F.from({ length: n * classes }, () => (rng() - 0.5) * 10);
  const labels = Int32Array.from({ length: n }, () => (rng() < 0.1 ? 255 : Math.floor(rng() * classes)));
  const targets = F.from({ length: n * classes }, () => rng());
  const w = weighted ? F.from({ length: n }, () => rng() * 2) : undefined;
  const alpha = Array.from({ length: classes }, () => 0.05 + 0.95 * rng());
  return {
    name: `softmax ${dtype} C=${classes} ${mode}${weighted ? ', weights' : ''}`,
    n,
    width: classes,
    dtype,
    call: (api, begin, end, reduction, threads) =>
      api.softmaxFocalLoss(
        logits.subarray(begin * classes, end * classes),
        mode === 'labels' ? labels.subarray(begin, end) : targets.subarray(begin * classes, end * classes),
        {
          numClasses: classes,
          gamma: 2,
          alpha,
          reduction,
          threads,
          ...(mode === 'labels' ? { ignoreIndex: 255 } : {}),
          ...(w ? { weights: w.subarray(begin, end) } : {}),
        },
      ),
  };
}

const CASES: Case[] = [];
for (const dtype of ['float32', 'float64'] as const) {
  CASES.push(sigmoidCase(dtype, 'hard', false, 2));
  CASES.push(sigmoidCase(dtype, 'hard', true, 0.5));
  CASES.push(sigmoidCase(dtype, 'mixed', false, 2));
  CASES.push(sigmoidCase(dtype, 'soft', true, 2));
  for (const classes of [3, 10, 40, 100]) CASES.push(softmaxCase(dtype, classes, 'labels', classes === 10));
  CASES.push(softmaxCase(dtype, 10, 'targets', true));
}

describe.each(KERNELS)('the %s kernels sum order-free', (_backend, kernels) => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { api, states } = spied(kernels);
    const rng = mulberry32(c.n);
    const whole = c.call(api, 0, c.n, 'sum', 1).loss as number;
    const state = states.at(-1)!;
    for (const threads of [2, 3]) {
      expect(c.call(api, 0, c.n, 'sum', threads).loss).toBe(whole);
      expect(states.at(-1)).toStrictEqual(state);
    }
    const none = c.call(api, 0, c.n, 'none', 1).loss as Float32Array | Float64Array;
    for (const pieces of [2, 7]) {
      const at = cuts(c.n, rng, pieces);
      const parts: ReproducibleSumState[] = [];
      for (let k = 0; k + 1 < at.length; k++) {
        const [begin, end] = [at[k]!, at[k + 1]!];
        c.call(api, begin, end, 'sum', 1 + (k % 3));
        parts.push(states.at(-1)!);
        const chunk = c.call(api, begin, end, 'none', 1 + (k % 3)).loss as Float32Array | Float64Array;
        const first = chunk.findIndex((v, i) => !Object.is(v, none[begin + i]));
        expect(
          first,
          `element ${begin + first}: ${chunk[first]} in [${begin}, ${end}), ${none[begin + first]} in the whole`,
        ).toBe(-1);
      }
      parts.sort(() => rng() - 0.5);
      const acc = merged(parts);
      expect(acc.state()).toStrictEqual(state);
      expect(acc.toDouble()).toBe(whole);
    }
    if (c.dtype === 'float64') {
      const acc = new ReproducibleSum();
      acc.addAll(none);
      expect(acc.state()).toStrictEqual(state);
      expect(acc.toDouble()).toBe(whole);
    }
  });
});
