// Memory-safety sweeps for the sanitizer build (scripts/test-asan.sh); not part of `npm test`
// (the default include is test/**/*.test.ts). Under ASan every typed array below ends exactly where
// its allocation ends (node allocates ArrayBuffers with calloc, so a redzone follows), so a kernel
// that reads or writes one element too far, in a vector remainder, a block edge or a thread's
// range, stops the run with a report. The tests themselves only check what is cheap to check:
// counts, finiteness, sync == async; the numbers are checked by the ordinary suites.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createFocalLoss } from '../../lib/facade/api.js';
import type { SigmoidPlan, SoftmaxPlan } from '../../lib/backends/contract.js';
import { loadNative } from '../../lib/backends/native/loader.js';
import { PLAN_VERSION } from '../../lib/backends/protocol.js';
import { planExports, sigmoidPlan as makeSigmoidPlan, softmaxPlan as makeSoftmaxPlan } from '../fixtures/plans.mjs';
import { mulberry32, relClose } from '../helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const native = loadNative();
if (!native.addon || !native.kernels) throw new Error(`test/sanitize needs the native addon: ${native.loadError}`);
const addon = planExports(native.addon);
const api = createFocalLoss(native.kernels);
const LEVELS = Object.keys(native.info!.simdLevels) as ('scalar' | 'avx2' | 'avx512' | 'neon')[];

type FloatCtor = Float32ArrayConstructor | Float64ArrayConstructor;
const FLOATS: FloatCtor[] = [Float32Array, Float64Array];
const INTS = [Uint8Array, Int8Array, Uint16Array, Int16Array, Uint32Array, Int32Array, Uint8ClampedArray] as const;

type AnyCtor = FloatCtor | (typeof INTS)[number];

/**
 * A typed array of `n` elements that ends exactly at the end of its ArrayBuffer: its own buffer, or
 * (`offset`) a view that starts a few elements into a buffer that ends where the view ends.
 */
function exact<C extends AnyCtor>(Ctor: C, n: number, fill: (i: number) => number, offset = 0): InstanceType<C> {
  const size = Ctor.BYTES_PER_ELEMENT;
  const a = new Ctor(new ArrayBuffer((n + offset) * size), offset * size, n) as InstanceType<C>;
  for (let i = 0; i < n; i++) a[i] = fill(i);
  return a;
}

// Lengths around every vector width (2, 4, 8, 16 lanes), the 256-element inner buffers of the
// sigmoid kernel, and the block / thread boundaries of native/kernels/parallel.hpp (2^15 elements per block).
const SMALL = Array.from({ length: 41 }, (_, i) => i);
const LARGE = [63, 64, 65, 255, 256, 257, 511, 513, 1023, 1025, 32767, 32768, 32769, 65535, 65537, 100_003];

describe('sigmoid: every length, level, dtype, target type and output buffer stays in bounds', () => {
  const random = mulberry32(1);
  it.each(LEVELS)('simd %s', (simd) => {
    let calls = 0;
    for (const n of [...SMALL, ...LARGE]) {
      for (const F of FLOATS) {
        // Rotate through the variants instead of taking their product: every variant meets every
        // length class, at a cost the sanitizer build can afford.
        const v = (n + calls) % 8;
        const offset = v % 3;
        const logits = exact(F, n, () => (random() - 0.5) * 40, offset);
        const T = v < 7 ? INTS[v]! : F;
        const targets = T === F ? exact(F, n, () => random()) : exact(T, n, () => (random() < 0.3 ? 1 : 0), 2 - offset);
        const weights = v % 2 === 0 ? exact(F, n, () => random() * 2) : undefined;
        const grad = v % 3 !== 2 ? exact(F, n, () => NaN, offset) : undefined;
        const loss = v % 4 === 1 ? exact(F, n, () => NaN) : undefined;
        const r = api.sigmoidFocalLoss(logits, targets, {
          gamma: [2, 0, 0.5, 1.7, 3][v % 5],
          alpha: v % 3 === 0 ? null : 0.25,
          labelSmoothing: v === 5 ? 0.1 : 0,
          reduction: loss ? 'none' : v % 2 ? 'sum' : 'mean',
          weights,
          out: { grad, loss },
          gradient: v === 3 || grad !== undefined ? true : undefined,
          threads: 1 + (v % 4),
          simd,
        });
        expect(r.count).toBe(n);
        if (grad) expect(grad.every((g) => Number.isFinite(g))).toBe(true);
        calls++;
      }
    }
    // Probabilities as input (a path of its own), and the per-element error paths.
    for (const n of [0, 1, 7, 8, 9, 17, 33, 257, 32769]) {
      const p = exact(Float64Array, n, () => random());
      const r = api.sigmoidFocalLoss(
        p,
        exact(Uint8Array, n, (i) => i % 2),
        { input: 'probabilities', gradient: true, simd },
      );
      expect(r.grad!.length).toBe(n);
      if (n > 0) {
        const bad = exact(Uint8Array, n, (i) => (i === n - 1 ? 2 : 0));
        expect(() =>
          api.sigmoidFocalLoss(
            exact(Float32Array, n, () => 0),
            bad,
            { simd },
          ),
        ).toThrow(RangeError);
        const badWeights = exact(Float32Array, n, (i) => (i === n - 1 ? -1 : 1));
        expect(() =>
          api.sigmoidFocalLoss(
            exact(Float32Array, n, () => 0),
            exact(Uint8Array, n, () => 0),
            { weights: badWeights, simd },
          ),
        ).toThrow(RangeError);
      }
    }
  });
});

describe('softmax: every class count, layout, label type and output buffer stays in bounds', () => {
  const random = mulberry32(2);
  const CLASSES = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100];
  const ROWS = [0, 1, 2, 3, 5, 8, 13];
  it.each(LEVELS)('simd %s, class last', (simd) => {
    let calls = 0;
    for (const C of CLASSES) {
      for (const rows of ROWS) {
        for (const F of FLOATS) {
          const v = (C + rows + calls++) % 7;
          const offset = v % 2;
          const logits = exact(F, rows * C, () => (random() - 0.5) * 30, offset);
          const L = INTS[v]!;
          const max = L === Int8Array ? 127 : 255;
          const labels = exact(
            L,
            rows,
            () => (random() < 0.1 && C <= max ? 255 % (max + 1) : Math.floor(random() * C)),
            1 - offset,
          );
          const ignoreIndex = 255 % (max + 1) < C ? -100 : 255 % (max + 1);
          const grad = v % 2 === 0 ? exact(F, rows * C, () => NaN) : undefined;
          const loss = v % 3 === 0 ? exact(F, rows, () => NaN) : undefined;
          const r = api.softmaxFocalLoss(logits, labels, {
            numClasses: C,
            ignoreIndex,
            gamma: [2, 0, 0.5, 1, 2.5][v % 5],
            alpha: v % 2 ? Array.from({ length: C }, (_, k) => (k + 1) / (C + 1)) : v % 3 ? 0.5 : null,
            labelSmoothing: v === 4 ? 0.05 : 0,
            weights: v === 5 ? exact(F, rows, () => random()) : undefined,
            reduction: loss ? 'none' : 'mean',
            out: { grad, loss },
            threads: 1 + (v % 3),
            simd,
          });
          expect(r.count).toBeLessThanOrEqual(rows);
        }
      }
    }
  });

  it.each(LEVELS)('simd %s, [N, C, H, W] layouts, soft targets, large batches', (simd) => {
    for (const [n, c, h, w] of [
      [1, 3, 1, 1],
      [2, 3, 4, 5],
      [3, 1, 7, 3],
      [2, 17, 3, 3],
      [1, 5, 181, 181], // 32761 samples: around a block boundary
      [0, 4, 3, 3],
    ] as const) {
      const samples = n * h * w;
      for (const F of FLOATS) {
        const logits = exact(F, n * c * h * w, () => (random() - 0.5) * 20);
        const labels = exact(Int16Array, samples, (i) => (i % 11 === 0 ? -1 : Math.floor(random() * c)));
        const grad = exact(F, n * c * h * w, () => NaN);
        const loss = exact(F, samples, () => NaN);
        api.softmaxFocalLoss(logits, labels, {
          shape: [n, c, h, w],
          classAxis: 1,
          ignoreIndex: -1,
          out: { grad, loss },
          reduction: 'none',
          simd,
        });
        const soft = exact(F, n * c * h * w, () => random() / c);
        const r = api.softmaxFocalLoss(logits, soft, {
          shape: [n, c, h, w],
          classAxis: 1,
          gradient: true,
          reduction: 'sum',
          threads: 3,
          simd,
        });
        expect(r.grad!.length).toBe(n * c * h * w);
        // Class last through `shape`, soft targets.
        api.softmaxFocalLoss(logits, soft, {
          shape: [n * h * w, c],
          classAxis: -1,
          gradient: true,
          labelSmoothing: 0.1,
          simd,
        });
      }
    }
    for (const [rows, C] of [
      [40_000, 3],
      [6_554, 5],
      [3_000, 33],
      [1_000, 1000],
    ] as const) {
      const logits = exact(Float32Array, rows * C, () => (random() - 0.5) * 20);
      const labels = exact(Uint16Array, rows, () => Math.floor(random() * C));
      for (const threads of [1, 2, 8]) {
        const r = api.softmaxFocalLoss(logits, labels, { numClasses: C, gradient: true, threads, simd });
        expect(r.count).toBe(rows);
      }
      const bad = exact(Uint16Array, rows, (i) => (i === rows - 1 ? C : 0));
      expect(() => api.softmaxFocalLoss(logits, bad, { numClasses: C, simd })).toThrow(RangeError);
    }
  });
});

// Direct calls to the binding with plans the facade would never build: every check of
// native/binding/plan_reader.cpp must throw (a C++ exception turned into a JS TypeError), never read.
describe('the binding rejects malformed plans (sync and async entry points)', () => {
  const n = 10;
  const sigmoidPlan = (): SigmoidPlan => makeSigmoidPlan(n);
  const softmaxPlan = (): SoftmaxPlan => makeSoftmaxPlan(n, 3);

  const throwingGetter = <P extends object>(plan: P, key: string): P =>
    Object.defineProperty(plan, key, {
      get() {
        throw new Error(`getter ${key} throws`);
      },
    });

  const sigmoidBad: [string, (p: Record<string, unknown>) => unknown][] = [
    ['logits missing', (p) => delete p.logits],
    ['logits Int32Array', (p) => (p.logits = new Int32Array(n))],
    ['logits a plain array', (p) => (p.logits = [1, 2])],
    ['logits a DataView', (p) => (p.logits = new DataView(new ArrayBuffer(8)))],
    ['targets too short', (p) => (p.targets = new Uint8Array(n - 1))],
    ['targets too long', (p) => (p.targets = new Uint8Array(n + 1))],
    ['targets of the other float type', (p) => (p.targets = new Float64Array(n))],
    ['targets BigInt64Array', (p) => (p.targets = new BigInt64Array(n))],
    ['targets null', (p) => (p.targets = null)],
    ['weights too short', (p) => (p.weights = new Float32Array(n - 1))],
    ['weights float64', (p) => (p.weights = new Float64Array(n))],
    ['lossOut too short', (p) => (p.lossOut = new Float32Array(n - 1))],
    ['gradOut too long', (p) => (p.gradOut = new Float32Array(n + 1))],
    ['gradOut Int32Array', (p) => (p.gradOut = new Int32Array(n))],
    ['gamma a string', (p) => (p.gamma = '2')],
    ['alpha undefined', (p) => (p.alpha = undefined)],
    ['probabilities a number', (p) => (p.probabilities = 1)],
    ['threads 0', (p) => (p.threads = 0)],
    ['threads 1025', (p) => (p.threads = 1025)],
    ['threads 1.5', (p) => (p.threads = 1.5)],
    ['threads NaN', (p) => (p.threads = NaN)],
    ['threads Infinity', (p) => (p.threads = Infinity)],
    ['simd 4', (p) => (p.simd = 4)],
    ['simd -2', (p) => (p.simd = -2)],
  ];
  const softmaxBad: [string, (p: Record<string, unknown>) => unknown][] = [
    ['outer * classes * inner too large', (p) => (p.outer = n + 1)],
    ['outer * classes * inner too small', (p) => (p.classes = 2)],
    ['classes 0', (p) => ((p.classes = 0), (p.outer = 0))],
    ['outer negative', (p) => (p.outer = -n)],
    ['outer 2^53', (p) => (p.outer = 2 ** 53)],
    ['a product that rounds', (p) => ((p.outer = 2 ** 52 + 1), (p.classes = 3), (p.inner = 1))],
    ['alpha Float32Array', (p) => (p.alpha = new Float32Array(3))],
    ['alpha one short', (p) => (p.alpha = new Float64Array(2))],
    ['labels float', (p) => (p.labels = new Float64Array(n))],
    ['labels too short', (p) => (p.labels = new Int32Array(n - 1))],
    ['labels and targets null', (p) => (p.labels = null)],
    ['targets too short', (p) => ((p.labels = null), (p.targets = new Float64Array(n * 3 - 1)))],
    ['targets of the other float type', (p) => ((p.labels = null), (p.targets = new Float32Array(n * 3)))],
    ['weights per element instead of per sample', (p) => (p.weights = new Float64Array(n * 3))],
    ['lossOut per element', (p) => (p.lossOut = new Float64Array(n * 3))],
    ['gradOut per sample', (p) => (p.gradOut = new Float64Array(n))],
    ['ignoreIndex 1e300', (p) => (p.ignoreIndex = 1e300)],
    ['ignoreIndex NaN', (p) => (p.ignoreIndex = NaN)],
    ['gradScaleByCount a number', (p) => (p.gradScaleByCount = 1)],
  ];

  it.each(sigmoidBad)('sigmoid: %s', (_, mutate) => {
    for (const fn of [addon.sigmoid, addon.sigmoidAsync]) {
      const plan = sigmoidPlan() as unknown as Record<string, unknown>;
      mutate(plan);
      expect(() => fn(plan as never)).toThrow(TypeError);
    }
  });

  it.each(softmaxBad)('softmax: %s', (_, mutate) => {
    for (const fn of [addon.softmax, addon.softmaxAsync]) {
      const plan = softmaxPlan() as unknown as Record<string, unknown>;
      mutate(plan);
      expect(() => fn(plan as never)).toThrow(TypeError);
    }
  });

  it('no plan, two plans, not an object; a getter that throws; memoryFloor with bad arguments', () => {
    for (const fn of [addon.sigmoid, addon.softmax, addon.sigmoidAsync, addon.softmaxAsync] as ((
      ...a: unknown[]
    ) => unknown)[]) {
      expect(() => fn()).toThrow(TypeError);
      expect(() => fn(1)).toThrow(TypeError);
      expect(() => fn(null)).toThrow(TypeError);
      expect(() => fn({}, {})).toThrow(TypeError);
    }
    for (const key of ['logits', 'targets', 'gamma', 'threads', 'simd']) {
      expect(() => addon.sigmoid(throwingGetter(sigmoidPlan(), key))).toThrow(`getter ${key} throws`);
      expect(() => addon.sigmoidAsync(throwingGetter(sigmoidPlan(), key))).toThrow(`getter ${key} throws`);
    }
    for (const key of ['outer', 'alpha', 'labels', 'ignoreIndex']) {
      expect(() => addon.softmax(throwingGetter(softmaxPlan(), key))).toThrow(`getter ${key} throws`);
      expect(() => addon.softmaxAsync(throwingGetter(softmaxPlan(), key))).toThrow(`getter ${key} throws`);
    }
    const floor = addon.memoryFloor as (...a: unknown[]) => unknown;
    const f = new Float32Array(5);
    expect(() => floor(f, new Uint8Array(5), f)).toThrow(TypeError);
    expect(() => floor(f, new Uint8Array(4), new Float32Array(5), 1)).toThrow(TypeError);
    expect(() => floor(f, new Float64Array(5), new Float32Array(5), 1)).toThrow(TypeError);
    expect(() => floor(new Float64Array(5), new Uint8Array(5), new Float32Array(5), 1)).toThrow(TypeError);
    expect(() => floor(f, new Uint8Array(5), new Float32Array(4), 1)).toThrow(TypeError);
    for (const T of [Uint8Array, Int32Array, Float32Array]) {
      for (const len of [0, 1, 17, 70_001]) {
        const out = exact(Float32Array, len, () => NaN);
        floor(
          exact(Float32Array, len, () => 2),
          exact(T, len, () => 1),
          out,
          2,
        );
        expect(out.every((x) => x === 2)).toBe(true);
      }
    }
    expect(addon.info().planVersion).toBe(PLAN_VERSION);
  });
});

describe('async: many calls in flight, arrays dropped by the caller and collected', () => {
  it('1,000 concurrent calls of mixed sizes and kinds resolve to the sync results', async () => {
    const random = mulberry32(3);
    const calls: { run: () => Promise<unknown>; want: number }[] = [];
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) {
      const n = random() < 0.03 ? 40_000 + Math.floor(random() * 40_000) : Math.floor(random() * 600);
      const F = i % 2 ? Float32Array : Float64Array;
      if (i % 3 === 0) {
        const C = 1 + (i % 7);
        const rows = Math.floor(n / C);
        const make = () => ({
          logits: exact(F, rows * C, (k) => Math.sin(k + i) * 8),
          labels: exact(Int32Array, rows, (k) => (k * 7 + i) % C),
        });
        const { logits, labels } = make();
        const want = api.softmaxFocalLoss(logits, labels, { numClasses: C, reduction: 'sum' }).loss as number;
        calls.push({
          run: () => {
            const a = make();
            return api.softmaxFocalLossAsync(a.logits, a.labels, {
              numClasses: C,
              reduction: 'sum',
              gradient: i % 2 === 0,
            });
          },
          want,
        });
      } else {
        const make = () => ({
          logits: exact(F, n, (k) => Math.cos(k * 3 + i) * 10),
          targets: exact(Uint8Array, n, (k) => ((k + i) % 5 === 0 ? 1 : 0)),
        });
        const { logits, targets } = make();
        const want = api.sigmoidFocalLoss(logits, targets, { reduction: 'sum', gamma: 1 + (i % 4) / 2 }).loss as number;
        calls.push({
          run: () => {
            const a = make();
            return api.sigmoidFocalLossAsync(a.logits, a.targets, {
              reduction: 'sum',
              gamma: 1 + (i % 4) / 2,
              out: { grad: i % 2 ? exact(F, n, () => 0) : undefined },
            });
          },
          want,
        });
      }
    }
    // Only the calls hold their arrays; collect garbage while they run.
    for (const [i, c] of calls.entries()) {
      pending.push(
        (c.run() as Promise<{ loss: number }>).then((r) =>
          expect(relClose(r.loss, c.want, 1e-12), `call ${i}: ${r.loss} vs ${c.want}`).toBe(true),
        ),
      );
      if (i % 100 === 0) gc();
    }
    for (let k = 0; k < 5; k++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(pending);
  });
});
