/**
 * Softmax focal loss over more than 2^31 logits (opt-in: `npm run test:huge`; about 9 GiB of memory,
 * 17 GiB with the gradient check, which is skipped when the memory is not there).
 *
 * One float32 buffer repeats P = 11 values, the labels repeat Q = 5 (one of them the ignoreIndex
 * 255). Read as [R, C] (class last) or [outer, C, inner] (classAxis 1), sample s sees logits that
 * depend only on a residue of its row offset mod 11 and a label that depends on s mod 5, so the
 * exact sum is a sum over at most 55 distinct samples times their counts, each from the 80-digit
 * reference. 11 and 5 do not divide 2^31 or 2^32: a wrapped or truncated index changes the sum.
 *
 * Four kernels: the tiled class-last one (C <= 32), the row-wise class-last one (C > 32, general
 * gamma), the scalar one with label smoothing (soft targets), and the strided [N, C, H*W] one.
 */
import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsBackend, nativeBackend } from '../backends.js';
import { Checker, TOL, gradArray, lossArray, lossNumber } from '../helpers.js';
import { D, type Dec, refSoftmax, refSoftmaxDecimal, type SoftmaxRefOptions } from '../reference.js';
import {
  TWO_31,
  bytes,
  fillPeriodic,
  log,
  memoryAllows,
  preferOomKill,
  relativeError,
  residueCount,
  timed,
  timedAsync,
} from './huge-helpers.js';

const Z = [-3, -1.5, 0.25, 2, -0.75, 4.5, 1, -6, 0.5, 3.25, -2.5]; // float32-exact
const P = Z.length;
const IGNORE = 255;
const LABELS_8 = [0, 3, IGNORE, 7, 5];
const LABELS_40 = [0, 39, IGNORE, 17, 8];
const Q = LABELS_8.length;
const ALPHA_8 = [0.25, 0.5, 0.75, 1, 0.125, 0.375, 0.625, 0.875];
const THREADS = Math.max(2, availableParallelism());
/**
 * The softmax kernels add the losses of a block's ~1M samples one after the other in float64 (no
 * chunks, unlike the sigmoid kernel), and block sums in order: the bound is ~1M ulps (1e-10); with
 * these periodic rows the error measured 0.4e-12 to 1.6e-12. Allowed: 1e-11.
 */
const SUM_REL = 1e-11;

/** Class-last [ROWS_8, 8]: the tiled kernel. */
const ROWS_8 = 2 ** 28 + 3;
/** Class-last [ROWS_40, 40]: the row-wise kernel. */
const ROWS_40 = Math.floor(TWO_31 / 40) + 1;
/** [OUTER, 8, INNER] with classAxis 1: the strided kernel; INNER is prime. */
const INNER = 1021;
const OUTER = Math.floor(TWO_31 / (8 * INNER)) + 1;
const LENGTH = Math.max(ROWS_8 * 8, ROWS_40 * 40, OUTER * 8 * INNER);

interface Layout {
  outer: number;
  classes: number;
  inner: number;
  labels: readonly number[];
}
const CLASS_LAST_8: Layout = { outer: ROWS_8, classes: 8, inner: 1, labels: LABELS_8 };
const CLASS_LAST_40: Layout = { outer: ROWS_40, classes: 40, inner: 1, labels: LABELS_40 };
const STRIDED: Layout = { outer: OUTER, classes: 8, inner: INNER, labels: LABELS_8 };

/** The logits of the sample whose class 0 is at flat offset `offset`. */
const rowAt = (layout: Layout, offset: number): number[] =>
  Array.from({ length: layout.classes }, (_, j) => Z[(offset + j * layout.inner) % P]!);

/**
 * The exact sum and the number of counted samples: samples grouped by (offset of class 0 mod P,
 * sample index mod Q), which fix their logits and label. Sample (o, i) is s = o*inner + i and its
 * class 0 is at o*C*inner + i; both residues depend on o and i mod P*Q only.
 */
function closedForm(layout: Layout, options: SoftmaxRefOptions): { sum: Dec; count: number } {
  const { outer, classes: C, inner } = layout;
  const m = P * Q;
  const groups = new Map<string, { offset: number; label: number; count: number }>();
  for (let a = 0; a < m; a++) {
    const outerCount = residueCount(outer, m, a);
    for (let b = 0; b < (inner === 1 ? 1 : m); b++) {
      const count = outerCount * (inner === 1 ? 1 : residueCount(inner, m, b));
      if (count === 0) continue;
      const offset = (a * C * inner + b) % P;
      const label = layout.labels[(a * inner + b) % Q]!;
      const key = `${offset}|${label}`;
      const g = groups.get(key) ?? { offset, label, count: 0 };
      g.count += count;
      groups.set(key, g);
    }
  }
  let sum = new D(0);
  let count = 0;
  let samples = 0;
  for (const { offset, label, count: n } of groups.values()) {
    samples += n;
    if (label === IGNORE) continue;
    count += n;
    sum = sum.plus(refSoftmaxDecimal(rowAt(layout, offset), label, options).loss.times(n));
  }
  expect(samples).toBe(outer * inner);
  return { sum, count };
}

let buffer: Float32Array;
let labels8: Uint8Array; // LABELS_8 repeated, for [ROWS_8, 8] and the strided layout
let labels40: Uint8Array;

const logitsOf = (layout: Layout): Float32Array =>
  new Float32Array(buffer.buffer, 0, layout.outer * layout.classes * layout.inner);
const labelsOf = (layout: Layout): Uint8Array =>
  (layout.classes === 40 ? labels40 : labels8).subarray(0, layout.outer * layout.inner);

beforeAll(() => {
  preferOomKill();
  log(`allocating ${LENGTH} float32 logits (${bytes(LENGTH, 4)})`);
  buffer = timed('fill logits', () => fillPeriodic(new Float32Array(LENGTH), Z));
  labels8 = timed('fill labels', () => fillPeriodic(new Uint8Array(Math.max(ROWS_8, OUTER * INNER)), LABELS_8));
  labels40 = fillPeriodic(new Uint8Array(ROWS_40), LABELS_40);
});

afterAll(() => {
  buffer = undefined as unknown as Float32Array;
});

describe('setup', () => {
  it('every layout has more than 2^31 logits', () => {
    expect(LENGTH % 8).toBe(0);
    expect(labels8.length).toBe(LENGTH / 8);
    for (const layout of [CLASS_LAST_8, CLASS_LAST_40, STRIDED]) {
      expect(logitsOf(layout).length).toBeGreaterThan(TWO_31);
      expect(labelsOf(layout).length).toBe(layout.outer * layout.inner);
    }
    for (const i of [TWO_31 - 1, TWO_31, LENGTH - 1]) expect(buffer[i]).toBe(Z[i % P]);
  });
});

describe.skipIf(!nativeBackend)('native, more than 2^31 logits', () => {
  const api = nativeBackend!.api;
  const tiled = { gamma: 2, alpha: ALPHA_8 };
  const exact8 = closedForm(CLASS_LAST_8, tiled);
  let sum8 = NaN;

  it("[2^28 + 3, 8] 'sum' (tiled kernel) matches the closed form, bit-identical for 1 and all threads", () => {
    const options = { ...tiled, numClasses: 8, ignoreIndex: IGNORE, reduction: 'sum' } as const;
    const x = logitsOf(CLASS_LAST_8);
    const y = labelsOf(CLASS_LAST_8);
    const one = timed('native [R, 8] sum, 1 thread', () => api.softmaxFocalLoss(x, y, { ...options, threads: 1 }));
    const all = timed(`native [R, 8] sum, ${THREADS} threads`, () =>
      api.softmaxFocalLoss(x, y, { ...options, threads: THREADS }),
    );
    expect(one.count).toBe(exact8.count);
    expect(all.count).toBe(exact8.count);
    sum8 = lossNumber(all.loss);
    const err = relativeError(sum8, exact8.sum);
    log(`[R, 8]: sum ${sum8}, count ${all.count}, relative error ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(SUM_REL);
    expect(Object.is(lossNumber(one.loss), sum8)).toBe(true);
  });

  it("[2^28 + 3, 8] 'mean' (async) divides by the samples not ignored", async (context) => {
    // An async call computes on a copy of its inputs (lib/async/snapshot.ts).
    const inputBytes = logitsOf(CLASS_LAST_8).byteLength + labelsOf(CLASS_LAST_8).byteLength;
    if (!memoryAllows(inputBytes, 'async (a copy of the inputs)')) {
      context.skip("not enough free memory for the async call's copy of the inputs");
      return;
    }
    const r = await timedAsync('native [R, 8] mean, async', () =>
      api.softmaxFocalLossAsync(logitsOf(CLASS_LAST_8), labelsOf(CLASS_LAST_8), {
        ...tiled,
        numClasses: 8,
        ignoreIndex: IGNORE,
        threads: THREADS,
      }),
    );
    expect(r.count).toBe(exact8.count);
    expect(r.loss).toBe(sum8 / exact8.count);
  });

  it('[2^28 + 3, 8] with label smoothing (soft-target kernel) matches the closed form', () => {
    const options = { ...tiled, labelSmoothing: 0.125 };
    const r = timed('native [R, 8] sum, label smoothing', () =>
      api.softmaxFocalLoss(logitsOf(CLASS_LAST_8), labelsOf(CLASS_LAST_8), {
        ...options,
        numClasses: 8,
        ignoreIndex: IGNORE,
        reduction: 'sum',
        threads: THREADS,
      }),
    );
    const exact = closedForm(CLASS_LAST_8, options);
    expect(r.count).toBe(exact.count);
    const err = relativeError(lossNumber(r.loss), exact.sum);
    log(`[R, 8] smoothed: relative error ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(SUM_REL);
  });

  it('[R, 40] with gamma 1.5 (row-wise kernel, general power) matches the closed form', () => {
    const options = { gamma: 1.5, alpha: null };
    const r = timed('native [R, 40] sum', () =>
      api.softmaxFocalLoss(logitsOf(CLASS_LAST_40), labelsOf(CLASS_LAST_40), {
        ...options,
        numClasses: 40,
        ignoreIndex: IGNORE,
        reduction: 'sum',
        threads: THREADS,
      }),
    );
    const exact = closedForm(CLASS_LAST_40, options);
    expect(r.count).toBe(exact.count);
    const err = relativeError(lossNumber(r.loss), exact.sum);
    log(`[R, 40]: relative error ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(SUM_REL);
  });

  it(`[${OUTER}, 8, ${INNER}] with classAxis 1 (strided kernel) matches the closed form`, () => {
    const r = timed('native [N, 8, H*W] sum', () =>
      api.softmaxFocalLoss(logitsOf(STRIDED), labelsOf(STRIDED), {
        ...tiled,
        shape: [OUTER, 8, INNER],
        classAxis: 1,
        ignoreIndex: IGNORE,
        reduction: 'sum',
        threads: THREADS,
      }),
    );
    const exact = closedForm(STRIDED, tiled);
    expect(r.count).toBe(exact.count);
    const err = relativeError(lossNumber(r.loss), exact.sum);
    log(`[N, 8, H*W]: relative error ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(SUM_REL);
  });
});

describe('rows past 2^31 logits through views (byteOffset > 2^33), both backends', () => {
  const options = { gamma: 2, alpha: ALPHA_8 };
  // The whole buffer as [LENGTH / 8, 8]; rows [first, first + n) across logit 2^31, and the last rows.
  const rows = LENGTH / 8;
  const windows = [
    [TWO_31 / 8 - 3, 6],
    [rows - 5, 5],
  ] as const;

  for (const backend of [nativeBackend, jsBackend].filter((b) => b !== undefined)) {
    it(`${backend.name}: every sample's loss and every gradient element (reduction 'none')`, () => {
      const check = new Checker(TOL.float32);
      for (const [first, n] of windows) {
        const x = buffer.subarray(first * 8, (first + n) * 8);
        const y = labels8.subarray(first, first + n);
        expect(x.byteOffset).toBe(first * 32);
        const r = backend.api.softmaxFocalLoss(x, y, {
          ...options,
          numClasses: 8,
          ignoreIndex: IGNORE,
          reduction: 'none',
          gradient: true,
        });
        const loss = lossArray(r.loss);
        const grad = gradArray(r.grad);
        for (let k = 0; k < n; k++) {
          const row = first + k;
          const label = LABELS_8[row % Q]!;
          if (label === IGNORE) {
            check.ok(`ignored row ${row}`, loss[k] === 0 && grad.subarray(k * 8, k * 8 + 8).every((g) => g === 0));
            continue;
          }
          const ref = refSoftmax(rowAt(CLASS_LAST_8, row * 8), label, options);
          check.close(`loss of row ${row}`, loss[k]!, ref.loss);
          for (let j = 0; j < 8; j++) check.close(`gradient of row ${row}, class ${j}`, grad[k * 8 + j]!, ref.grad[j]!);
        }
      }
      check.assert();
    });
  }
});

describe.skipIf(!nativeBackend)('native gradient over more than 2^31 logits', () => {
  it("[2^28 + 3, 8] 'mean' with gradient: every element of the 8 GiB gradient", (context) => {
    const x = logitsOf(CLASS_LAST_8);
    if (!memoryAllows(x.byteLength, 'gradient check (a second float32 array of 2^31+ logits)')) {
      context.skip('not enough free memory for a second float32 array of 2^31+ logits');
      return;
    }
    const options = { gamma: 2, alpha: ALPHA_8 };
    const exact = closedForm(CLASS_LAST_8, options);
    const r = timed('native [R, 8] mean + gradient', () =>
      nativeBackend!.api.softmaxFocalLoss(x, labelsOf(CLASS_LAST_8), {
        ...options,
        numClasses: 8,
        ignoreIndex: IGNORE,
        gradient: true,
        threads: THREADS,
      }),
    );
    expect(r.count).toBe(exact.count);
    expect(relativeError(lossNumber(r.loss), exact.sum.div(exact.count))).toBeLessThanOrEqual(SUM_REL);
    const grad = gradArray(r.grad);
    // Row r: logits from offset 8r mod 11, label r mod 5; expected gradient / count per (r mod 55).
    const m = P * Q;
    const expected = new Float64Array(m * 8);
    for (let k = 0; k < m; k++) {
      const label = LABELS_8[k % Q]!;
      if (label === IGNORE) continue;
      const ref = refSoftmaxDecimal(rowAt(CLASS_LAST_8, k * 8), label, options);
      for (let j = 0; j < 8; j++) expected[k * 8 + j] = ref.grad[j]!.div(exact.count).toNumber();
    }
    const nearest = Float32Array.from(expected);
    const failures: string[] = [];
    let failed = 0;
    let bitDifferent = 0;
    timed('scan the gradient', () => {
      const rel = TOL.float32.rel;
      for (let row = 0, k = 0; row < ROWS_8; row++, k = k + 1 === m ? 0 : k + 1) {
        const base = row * 8;
        for (let j = 0; j < 8; j++) {
          const g = grad[base + j]!;
          if (g === nearest[k * 8 + j]) continue;
          bitDifferent++;
          const e = expected[k * 8 + j]!;
          if (!(Math.abs(g - e) <= rel * Math.abs(e)) && failed++ < 10) {
            failures.push(`grad[${base + j}] (row ${row}, class ${j}) = ${g}, expected ${e}`);
          }
        }
      }
    });
    log(`gradient: ${failed} elements outside 1e-6, ${bitDifferent} not the nearest float32 of the reference`);
    expect(failures).toEqual([]);
    expect(failed).toBe(0);
  });
});
