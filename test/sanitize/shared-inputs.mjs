#!/usr/bin/env node
// SharedArrayBuffer-backed inputs written by a worker while the main thread computes on them
// (issue 9, finding 3). The worker keeps storing out-of-range values (labels past the classes or
// negative, targets outside [0, 1] or NaN, negative or NaN weights) and the old ones back, at random
// places. A kernel that checks an element and then reads it again to use it indexes with an
// unchecked label (alpha[y], a row offset: SIGSEGV within seconds) or computes on an unchecked
// target. Each element must be read once: each call returns finite numbers or throws a RangeError
// naming an element. test/binding-shared.test.ts runs this in a child process (also under ASan).
//
//   node test/sanitize/shared-inputs.mjs [seconds]     prints one JSON line: { calls, results, rangeErrors, bad }
// Needs `npm run build` (dist/). The backend is FOCAL_LOSS_BACKEND's.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { planExports, softmaxPlan } from '../fixtures/plans.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

if (!isMainThread) {
  // The writer: bad values in, good values back, as fast as it can, until the main thread says stop.
  const { views, stop } = workerData;
  const halt = new Int32Array(stop);
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);
  // One element of each array is bad at a time, for a moment: most calls see clean arrays, some
  // see one bad element, and a kernel that reads an element twice sees it change in between.
  while (Atomics.load(halt, 0) === 0) {
    const picks = views.map(({ array, bad }) => {
      const i = next() % array.length;
      const old = array[i];
      array[i] = bad[next() % bad.length];
      return [i, old];
    });
    for (let spin = next() % 2000; spin > 0; spin--) next();
    views.forEach(({ array }, v) => (array[picks[v][0]] = picks[v][1]));
    for (let spin = next() % 20000; spin > 0; spin--) next();
  }
} else {
  const seconds = Number(process.argv[2] ?? 3);
  const lib = await import(pathToFileURL(join(ROOT, 'dist', 'index.js')).href);
  const { loadNative } = await import(pathToFileURL(join(ROOT, 'dist', 'backends', 'native', 'loader.js')).href);
  const addon = lib.backend().name === 'native' ? planExports(loadNative('native').addon) : null;

  const shared = (Ctor, n, fill) => {
    const a = new Ctor(new SharedArrayBuffer(n * Ctor.BYTES_PER_ELEMENT));
    for (let i = 0; i < n; i++) a[i] = fill(i);
    return a;
  };
  const logits = (Ctor, n) => {
    const a = new Ctor(n);
    for (let i = 0; i < n; i++) a[i] = Math.sin(i * 0.7) * 4;
    return a;
  };
  const FAR = 2 ** 30; // a label this far past the classes reads unmapped memory
  const S = 4096; // samples
  const C = 40; // > 32: the per-row softmax kernel; 8: the tiled one
  const labels40 = shared(Int32Array, S, (i) => i % C);
  const labels8 = shared(Int32Array, S, (i) => i % 8);
  const labels5x3 = shared(Uint16Array, S, (i) => i % 5); // [S/64, 5, 64]: the strided path
  const soft = shared(Float64Array, S * 4, () => 0.25);
  const weights = shared(Float64Array, S, () => 1);
  const weights32 = shared(Float32Array, S * 8, () => 1);
  const binary = shared(Uint8Array, S * 8, (i) => i % 2);
  const probs = shared(Float32Array, S * 8, (i) => (i % 3) / 3);
  const sigmoidTargets = shared(Float32Array, S * 8, (i) => (i % 5) / 4);
  const stop = new SharedArrayBuffer(4);
  const views = [
    { array: labels40, bad: [-1, C, FAR, -FAR, 2 ** 31 - 1] },
    { array: labels8, bad: [-1, 8, FAR, -FAR] },
    { array: labels5x3, bad: [5, 65535, 40000] },
    { array: soft, bad: [-1, 2, NaN, Infinity, -1e300] },
    { array: weights, bad: [-1, NaN, Infinity] },
    { array: weights32, bad: [-1, NaN, Infinity] },
    { array: binary, bad: [2, 255] },
    { array: probs, bad: [-0.5, 1.5, Infinity] },
    { array: sigmoidTargets, bad: [-0.5, 1.5, NaN, -Infinity] },
  ];
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { views, stop } });
  const alpha40 = Array.from({ length: C }, (_, j) => 1 + j / C);

  const x40 = logits(Float64Array, S * C);
  const x8 = logits(Float32Array, S * 8);
  const x5 = logits(Float64Array, S * 5);
  const x4 = logits(Float64Array, S * 4);
  const xs = logits(Float32Array, S * 8);
  // Every native path that reads labels, targets, weights or probabilities.
  const calls = [
    [
      'softmax per-row, alpha, weights',
      (f) => f.softmax(x40, labels40, { numClasses: C, alpha: alpha40, weights, gradient: true }),
    ],
    ['softmax tiled, none', (f) => f.softmax(x8, labels8, { numClasses: 8, reduction: 'none', gradient: true })],
    ['softmax smoothing', (f) => f.softmax(x40, labels40, { numClasses: C, labelSmoothing: 0.1, gradient: true })],
    ['softmax strided', (f) => f.softmax(x5, labels5x3, { shape: [S / 64, 5, 64], gradient: true })],
    ['softmax soft targets', (f) => f.softmax(x4, soft, { numClasses: 4, weights, gradient: true })],
    ['sigmoid binary', (f) => f.sigmoid(xs, binary, { weights: weights32, gradient: true })],
    ['sigmoid float targets', (f) => f.sigmoid(xs, sigmoidTargets, { gradient: true, gamma: 1.5 })],
    ['sigmoid probabilities', (f) => f.sigmoid(probs, binary, { input: 'probabilities', gradient: true })],
  ];
  const sync = { softmax: lib.softmaxFocalLoss, sigmoid: lib.sigmoidFocalLoss };
  const async = { softmax: lib.softmaxFocalLossAsync, sigmoid: lib.sigmoidFocalLossAsync };

  const finite = (r) =>
    (typeof r.loss === 'number' ? Number.isFinite(r.loss) : r.loss.every(Number.isFinite)) &&
    (!r.grad || r.grad.every(Number.isFinite));
  const out = { calls: 0, results: 0, rangeErrors: 0, direct: 0, bad: [] };
  const judge = (name, r, error) => {
    out.calls++;
    if (error) {
      if (error instanceof RangeError && /\[\d+\]/.test(error.message)) out.rangeErrors++;
      else if (out.bad.length < 10) out.bad.push(`${name}: ${error?.constructor?.name}: ${error?.message}`);
    } else if (finite(r)) out.results++;
    else if (out.bad.length < 10) out.bad.push(`${name}: non-finite result`);
  };
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    for (const [name, call] of calls) {
      try {
        judge(`sync ${name}`, call(sync));
      } catch (error) {
        judge(`sync ${name}`, null, error);
      }
      try {
        judge(`async ${name}`, await call(async));
      } catch (error) {
        judge(`async ${name}`, null, error);
      }
    }
    if (addon) {
      // The binding itself (what a direct caller reaches): a bad element comes back as a report.
      const plan = softmaxPlan(S, C, {
        logits: x40,
        labels: labels40,
        weights,
        alpha: Float64Array.from(alpha40),
        threads: 2,
      });
      const r = addon.softmax(plan);
      out.direct++;
      if (!r.error && !Number.isFinite(r.sum) && out.bad.length < 10) out.bad.push(`direct softmax: sum ${r.sum}`);
    }
  }
  Atomics.store(new Int32Array(stop), 0, 1);
  await worker.terminate();
  console.log(JSON.stringify(out));
}
