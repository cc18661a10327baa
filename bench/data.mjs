// The random inputs every backend is timed on, and the buffers they write into.
//
// One data set per size, generated once from a fixed seed, shared by all backends (tfjs and
// PyTorch get copies in their own formats, made outside the timed region).

import { mulberry32 } from '../demo/data.mjs';

/** All sizes: `full` ones are the issue's; `quick` ones are timed by `--quick`. */
export const SIZES = [
  { id: 'sigmoid-1e6', kind: 'sigmoid', n: 1e6, label: 'sigmoid, N = 1e6', full: true, quick: true },
  { id: 'sigmoid-1e7', kind: 'sigmoid', n: 1e7, label: 'sigmoid, N = 1e7', full: true, quick: false },
  {
    id: 'softmax-1e5x10',
    kind: 'softmax',
    rows: 1e5,
    classes: 10,
    label: 'softmax, [1e5, 10]',
    full: false,
    quick: true,
  },
  {
    id: 'softmax-1e5x100',
    kind: 'softmax',
    rows: 1e5,
    classes: 100,
    label: 'softmax, [1e5, 100]',
    full: true,
    quick: false,
  },
  {
    id: 'softmax-1e6x10',
    kind: 'softmax',
    rows: 1e6,
    classes: 10,
    label: 'softmax, [1e6, 10]',
    full: true,
    quick: false,
  },
];

/**
 * The small-batch table: time per call at these numbers of logits, where the per-call overhead
 * shows (softmax: rows of `classes` logits each).
 */
export const SMALL_BATCH = { elements: [4, 1e3, 1e5], classes: 4 };

/** The sizes of the small-batch table, sigmoid then softmax. */
export function smallBatchSizes() {
  const { elements, classes } = SMALL_BATCH;
  return [
    ...elements.map((n) => ({ id: `sigmoid-${n}`, kind: 'sigmoid', n, label: `sigmoid, N = ${n}` })),
    ...elements.map((n) => ({
      id: `softmax-${n}`,
      kind: 'softmax',
      rows: n / classes,
      classes,
      label: `softmax, [${n / classes}, ${classes}]`,
    })),
  ];
}

/** Fraction of positives among the sigmoid targets (hard 0/1 labels). */
export const POSITIVE_RATE = 0.1;
/** Standard deviation of the logits (normal, mean 0). */
export const LOGIT_STD = 3;
/** Prefix used to warm up slow backends without paying for a full-size run: 1/16 of the data. */
export const PREFIX_DIVISOR = 16;

/** A small fast seeded generator, so that every run sees the same data: the demo's (the package ships it). */
export const generator = mulberry32;

function normalLogits(length, random) {
  const logits = new Float32Array(length);
  for (let i = 0; i < length; i += 2) {
    // Box-Muller: two normal deviates per pair of uniforms.
    const r = LOGIT_STD * Math.sqrt(-2 * Math.log(1 - random()));
    const a = 2 * Math.PI * random();
    logits[i] = r * Math.cos(a);
    if (i + 1 < length) logits[i + 1] = r * Math.sin(a);
  }
  return logits;
}

/**
 * The data for one size. Sigmoid: float32 logits, Uint8Array 0/1 targets (the natural input for
 * hard labels), and the same targets as float32 for frameworks that need float targets.
 * Sigmoid also has the logits as float64 (`logitsF64`, with its own `gradF64` buffer) for the
 * float64 kernels. Softmax: float32 logits [rows, classes] and Int32Array labels.
 * `grad` is one preallocated float32 buffer of the logits' length, passed as `out: { grad }` (and
 * as the floor's output) so that allocation is never timed.
 */
export function makeData(size, seed = 20261128) {
  const random = generator(seed);
  if (size.kind === 'sigmoid') {
    const logits = normalLogits(size.n, random);
    const targets = new Uint8Array(size.n);
    for (let i = 0; i < size.n; i++) targets[i] = random() < POSITIVE_RATE ? 1 : 0;
    return {
      size,
      elements: size.n,
      logits,
      targets,
      targetsF32: Float32Array.from(targets),
      grad: new Float32Array(size.n),
      logitsF64: Float64Array.from(logits),
      gradF64: new Float64Array(size.n),
    };
  }
  const { rows, classes } = size;
  const logits = normalLogits(rows * classes, random);
  const labels = new Int32Array(rows);
  for (let i = 0; i < rows; i++) labels[i] = Math.floor(random() * classes);
  // The floor pass reads one target per logit: here one byte per logit standing in for the labels.
  const floorTargets = new Uint8Array(rows * classes);
  for (let i = 0; i < rows; i++) floorTargets[i * classes + labels[i]] = 1;
  return { size, elements: rows * classes, logits, labels, floorTargets, grad: new Float32Array(rows * classes) };
}

const prefixes = new WeakMap();

/** The first 1/PREFIX_DIVISOR of a data set (whole rows for softmax), as views: no copy. Memoized. */
export function prefixOf(data) {
  if (!prefixes.has(data)) prefixes.set(data, makePrefix(data));
  return prefixes.get(data);
}

function makePrefix(data) {
  const { size } = data;
  if (size.kind === 'sigmoid') {
    const n = Math.ceil(size.n / PREFIX_DIVISOR);
    return {
      size: { ...size, n },
      elements: n,
      logits: data.logits.subarray(0, n),
      targets: data.targets.subarray(0, n),
      targetsF32: data.targetsF32.subarray(0, n),
      grad: data.grad.subarray(0, n),
      logitsF64: data.logitsF64.subarray(0, n),
      gradF64: data.gradF64.subarray(0, n),
    };
  }
  const rows = Math.ceil(size.rows / PREFIX_DIVISOR);
  const length = rows * size.classes;
  return {
    size: { ...size, rows },
    elements: length,
    logits: data.logits.subarray(0, length),
    labels: data.labels.subarray(0, rows),
    floorTargets: data.floorTargets.subarray(0, length),
    grad: data.grad.subarray(0, length),
  };
}

/** A description of the data for the report. */
export function describeData() {
  return (
    `logits float32 ~ Normal(0, ${LOGIT_STD}²) from a fixed seed; sigmoid targets hard 0/1 ` +
    `(${POSITIVE_RATE * 100}% positives), as Uint8Array for focal-loss and float32 for tfjs/PyTorch; ` +
    'softmax labels uniform over the classes (Int32Array; int64 for PyTorch)'
  );
}
