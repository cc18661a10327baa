/**
 * Sigmoid focal loss over more than 2^31 elements (opt-in: `npm run test:huge`; about 11 GiB of
 * memory, 20 GiB with the gradient check, which is skipped when the memory is not there).
 *
 * The logits repeat 7 values and the labels 3, so element i is (X[i % 7], T[i % 3]) and the exact
 * sum is sum over r < 21 of count(i % 21 = r) * loss(X[r % 7], T[r % 3]), each loss from the
 * 80-digit reference. Periods 7 and 3 do not divide 2^31 or 2^32, so an index that wrapped or was
 * truncated anywhere would read other elements (or other memory) and change the sum.
 */
import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Blocks, MAX_BLOCKS, runBlocks } from '../../lib/backends/js/blocks.js';
import { ReproducibleSum } from '../../lib/reduce/reproducible-sum.js';
import { readReproducibleSumState } from '../../lib/reduce/reproducible-state.js';
import { jsBackend, nativeBackend } from '../backends.js';
import { Checker, TOL, gradArray, lossArray, lossNumber } from '../helpers.js';
import { refSigmoid, refSigmoidDecimal } from '../reference.js';
import {
  TWO_31,
  bytes,
  exactDot,
  fillPeriodic,
  log,
  memoryAllows,
  preferOomKill,
  relativeError,
  residueCount,
  thrown,
  timed,
  timedAsync,
} from './huge-helpers.js';

const N = TWO_31 + 1001; // odd, and not a multiple of 256 blocks
const X = [-7.5, -2.25, -0.5, 0, 0.75, 1.5, 3.25]; // float32-exact
const T = [1, 0, 0];
const PERIOD = X.length * T.length;
const OPTIONS = { gamma: 2, alpha: 0.25 } as const;
const THREADS = Math.max(2, availableParallelism());
/**
 * The native sum is float64 sums of 256-element chunks, added per block, blocks added in order:
 * measured 1.1e-13 (gamma 2) and 2.4e-13 (gamma 1.5) here; allowed 1e-12.
 */
const SUM_REL = 1e-12;
/** The JS backend adds each block's elements one by one: bound ~N/256 ulps = 1e-9; measured 4e-11. */
const JS_SUM_REL = 1e-9;

const xAt = (i: number): number => X[i % X.length]!;
const tAt = (i: number): number => T[i % T.length]!;

/** The exact sum over all N elements for one set of options, from the 80-digit reference. */
function exactSum(options: { gamma: number; alpha: number | null }) {
  const terms = Array.from({ length: PERIOD }, (_, r) => ({
    count: residueCount(N, PERIOD, r),
    value: refSigmoidDecimal(xAt(r), tAt(r), options).loss,
  }));
  expect(terms.reduce((a, t) => a + t.count, 0)).toBe(N);
  return exactDot(terms);
}

let logits: Float32Array;
let targets: Uint8Array;

beforeAll(() => {
  preferOomKill();
  log(`allocating ${N} float32 logits (${bytes(N, 4)}) and uint8 targets (${bytes(N, 1)})`);
  logits = timed('fill logits', () => fillPeriodic(new Float32Array(N), X));
  targets = timed('fill targets', () => fillPeriodic(new Uint8Array(N), T));
});

afterAll(() => {
  logits = undefined as unknown as Float32Array;
  targets = undefined as unknown as Uint8Array;
});

describe('setup', () => {
  it('holds the pattern past 2^31', () => {
    expect(logits.length).toBe(N);
    for (const i of [0, 1, TWO_31 - 1, TWO_31, TWO_31 + 1, TWO_31 + 500, N - 2, N - 1]) {
      expect(logits[i], `logits[${i}]`).toBe(xAt(i));
      expect(targets[i], `targets[${i}]`).toBe(tAt(i));
    }
  });
});

describe.skipIf(!nativeBackend)('native, more than 2^31 elements', () => {
  const api = nativeBackend!.api;
  const exact = exactSum(OPTIONS);
  let sum = NaN;

  it("'sum' matches the closed form, bit-identical for 1 thread and all threads", () => {
    const one = timed('native sum, 1 thread', () =>
      api.sigmoidFocalLoss(logits, targets, { ...OPTIONS, reduction: 'sum', threads: 1 }),
    );
    const all = timed(`native sum, ${THREADS} threads`, () =>
      api.sigmoidFocalLoss(logits, targets, { ...OPTIONS, reduction: 'sum', threads: THREADS }),
    );
    expect(one.count).toBe(N);
    expect(all.count).toBe(N);
    sum = lossNumber(all.loss);
    const err = relativeError(sum, exact);
    log(`sum ${sum}, exact ${exact.toSignificantDigits(20).toString()}, relative error ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(SUM_REL);
    expect(Object.is(lossNumber(one.loss), sum), `1 thread ${one.loss} vs ${THREADS} threads ${sum}`).toBe(true);
  });

  it("'mean' (async) is that sum over N", async (context) => {
    // An async call computes on a copy of its inputs (lib/async/snapshot.ts): a second 10 GiB.
    if (!memoryAllows(logits.byteLength + targets.byteLength, 'async (a copy of the inputs)')) {
      context.skip("not enough free memory for the async call's copy of the inputs");
      return;
    }
    const r = await timedAsync('native mean, async', () =>
      api.sigmoidFocalLossAsync(logits, targets, { ...OPTIONS, reduction: 'mean', threads: THREADS }),
    );
    expect(r.count).toBe(N);
    expect(r.loss).toBe(sum / N);
    expect(relativeError(lossNumber(r.loss), exact.div(N))).toBeLessThanOrEqual(SUM_REL);
  });

  it('a non-integer gamma without alpha (the general power path) matches its closed form', () => {
    const options = { gamma: 1.5, alpha: null };
    const r = timed('native sum, gamma 1.5', () =>
      api.sigmoidFocalLoss(logits, targets, { ...options, reduction: 'sum', threads: THREADS }),
    );
    expect(r.count).toBe(N);
    const err = relativeError(lossNumber(r.loss), exactSum(options));
    log(`gamma 1.5: relative error ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(SUM_REL);
  });

  it('a bad label past 2^31 is reported at its own index', () => {
    const at = 2147483700;
    expect(at).toBeGreaterThan(TWO_31);
    targets[at] = 7;
    targets[N - 1] = 9; // a later bad label in the same block: the first one is named
    try {
      for (const threads of [1, THREADS]) {
        const error = timed(`native error run, ${threads} thread(s)`, () =>
          thrown(() => api.sigmoidFocalLoss(logits, targets, { ...OPTIONS, reduction: 'sum', threads })),
        );
        expect(error).toBeInstanceOf(RangeError);
        expect(error.message).toBe('Expected a label of 0 or 1 for targets[2147483700] but received 7 of type number');
      }
      // The same label through views that start past 2^31: the index is the view's.
      const start = TWO_31 + 8;
      const view = thrown(() => api.sigmoidFocalLoss(logits.subarray(start), targets.subarray(start), OPTIONS));
      expect(view.message).toContain(`targets[${at - start}]`);
    } finally {
      targets[at] = tAt(at);
      targets[N - 1] = tAt(N - 1);
    }
  });
});

describe('views that start past 2^31 (byteOffset > 2^33), both backends', () => {
  // [start, end) windows of the big arrays: across 2^31, and the very end.
  const windows = [
    [TWO_31 - 5, TWO_31 + 35],
    [N - 37, N],
  ] as const;

  for (const backend of [nativeBackend, jsBackend].filter((b) => b !== undefined)) {
    it(`${backend.name}: every element's loss and gradient (reduction 'none')`, () => {
      const check = new Checker(TOL.float32);
      for (const [start, end] of windows) {
        const x = logits.subarray(start, end);
        const t = targets.subarray(start, end);
        expect(x.byteOffset).toBe(start * 4);
        const r = backend.api.sigmoidFocalLoss(x, t, { ...OPTIONS, reduction: 'none', gradient: true });
        const loss = lossArray(r.loss);
        const grad = gradArray(r.grad);
        for (let k = 0; k < end - start; k++) {
          const i = start + k;
          const ref = refSigmoid(xAt(i), tAt(i), OPTIONS);
          check.close(`loss of element ${i}`, loss[k]!, ref.loss);
          check.close(`gradient of element ${i}`, grad[k]!, ref.grad);
        }
      }
      check.assert();
    });
  }
});

describe('JS index arithmetic past 2^31', () => {
  /** The C++ partition (native/kernels/parallel.hpp) in exact integers. */
  function cppBegin(items: bigint, count: bigint, b: bigint): bigint {
    const size = items / count;
    const extra = items % count;
    return b * size + (b < extra ? b : extra);
  }

  it('Blocks cuts 2^31+ items exactly as the C++ does, contiguous and balanced', () => {
    for (const [items, work] of [
      [N, 1],
      [TWO_31 + 255, 1],
      [2 ** 32 + 3, 1],
      [2 ** 28 + 3, 8], // softmax [2^28 + 3, 8]
      [Number.MAX_SAFE_INTEGER, 1],
    ] as const) {
      const blocks = new Blocks(items, work);
      expect(blocks.count).toBe(MAX_BLOCKS);
      const size = Math.floor(items / blocks.count);
      for (let b = 0; b < blocks.count; b++) {
        const begin = blocks.begin(b);
        expect(BigInt(begin), `items ${items}, block ${b}`).toBe(
          cppBegin(BigInt(items), BigInt(blocks.count), BigInt(b)),
        );
        expect(blocks.end(b) - begin === size || blocks.end(b) - begin === size + 1).toBe(true);
      }
      expect(blocks.begin(0)).toBe(0);
      expect(blocks.end(blocks.count - 1)).toBe(items);
    }
  });

  it('runBlocks adds counts past 2^31 and keeps the lowest error index', () => {
    const blocks = new Blocks(N, 1);
    const one = (): ReproducibleSum => {
      const acc = new ReproducibleSum();
      acc.add(1);
      return acc;
    };
    const total = runBlocks(blocks, (begin, end) => ({ sum: one(), count: end - begin }));
    expect([total.sum, total.count]).toEqual([MAX_BLOCKS, N]);
    const bad = [2147483700, N - 1];
    const failed = runBlocks(blocks, (begin, end) => {
      const index = bad.find((i) => i >= begin && i < end);
      return index === undefined
        ? { sum: new ReproducibleSum(), count: end - begin }
        : { sum: new ReproducibleSum(), count: index - begin, error: { kind: 'target', index, value: 7 } };
    });
    expect(failed.error).toEqual({ kind: 'target', index: 2147483700, value: 7 });
  });

  it('the JS backend over all N elements: the closed form, and the reproducible sum of its own losses', () => {
    const r = timed('JS sum over N elements', () =>
      jsBackend.api.sigmoidFocalLoss(logits, targets, { ...OPTIONS, reduction: 'sum' }),
    );
    expect(r.count).toBe(N);
    const sum = lossNumber(r.loss);
    const err = relativeError(sum, exactSum(OPTIONS));
    log(`JS: relative error ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(JS_SUM_REL);
    // Stronger: the same bits as the reproducible sum of the JS backend's own per-element losses
    // (float64 'none' on one period): the multiset is N / PERIOD copies of the period plus its first
    // N % PERIOD elements, summed here by merging doubled copies (the sum depends only on the multiset).
    // A single element read at a wrong index would change it.
    const one = jsBackend.api.sigmoidFocalLoss(
      Float64Array.from({ length: PERIOD }, (_, k) => xAt(k)),
      Uint8Array.from({ length: PERIOD }, (_, k) => tAt(k)),
      { ...OPTIONS, reduction: 'none' },
    );
    const loss = lossArray(one.loss);
    const expected = new ReproducibleSum();
    timed('the reproducible sum of the multiset', () => {
      const copy = (acc: ReproducibleSum) => readReproducibleSumState(acc.state(), 'copy');
      const doubled = new ReproducibleSum();
      doubled.addAll(loss);
      for (let m = Math.floor(N / PERIOD); m > 0; m = Math.floor(m / 2)) {
        if (m % 2 === 1) expected.merge(copy(doubled));
        doubled.merge(copy(doubled));
      }
      expected.addAll(loss, 0, N % PERIOD);
    });
    expect(Object.is(sum, expected.toDouble()), `JS sum ${sum}, expected ${expected.toDouble()}`).toBe(true);
    expect(r.count).toBe(N);
  });
});

describe.skipIf(!nativeBackend)('native gradient over more than 2^31 elements', () => {
  it("'mean' with gradient: every element of the 8.6 GB gradient", (context) => {
    if (!memoryAllows(N * 4, 'gradient check (a second float32 array of N)')) {
      context.skip('not enough free memory for a second float32 array of N elements');
      return;
    }
    const api = nativeBackend!.api;
    let r = timed('native mean + gradient', () =>
      api.sigmoidFocalLoss(logits, targets, { ...OPTIONS, reduction: 'mean', gradient: true, threads: THREADS }),
    );
    expect(r.count).toBe(N);
    expect(relativeError(lossNumber(r.loss), exactSum(OPTIONS).div(N))).toBeLessThanOrEqual(SUM_REL);
    const grad = gradArray(r.grad);
    expect(grad.length).toBe(N);
    // d(mean)/dx_i = grad_i / N, per residue class, from the reference; float32 tolerance.
    const expected = Float64Array.from({ length: PERIOD }, (_, k) =>
      refSigmoidDecimal(xAt(k), tAt(k), OPTIONS).grad.div(N).toNumber(),
    );
    const nearest = Float32Array.from(expected);
    const bound = expected.map((e) => TOL.float32.rel * Math.abs(e));
    const failures: string[] = [];
    let failed = 0;
    let bitDifferent = 0;
    timed('scan the gradient', () => {
      for (let base = 0; base < N; base += PERIOD) {
        const end = Math.min(PERIOD, N - base);
        for (let k = 0; k < end; k++) {
          const g = grad[base + k]!;
          if (g === nearest[k]) continue;
          bitDifferent++;
          if (!(Math.abs(g - expected[k]!) <= bound[k]!) && failed++ < 10) {
            failures.push(`grad[${base + k}] = ${g}, expected ${expected[k]}`);
          }
        }
      }
    });
    log(`gradient: ${failed} elements outside 1e-6, ${bitDifferent} not the nearest float32 of the reference`);
    expect(failures).toEqual([]);
    expect(failed).toBe(0);
    r = undefined as unknown as typeof r;
  });
});
