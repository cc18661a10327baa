// focal-loss/tfjs against the same focal loss written with tfjs ops, forward + backward, on the
// pure-JS cpu backend of @tensorflow/tfjs. Prints figures; not a test, not part of `npm run bench`.
//
//   npm run build && node bench/tfjs-adapter.mjs [--n 1000000] [--runs 3] [--threads k]
//   FOCAL_LOSS_BACKEND=js node bench/tfjs-adapter.mjs     # the adapter over the JS kernels
//
// Fair by construction: both sides get the same float32 tensors (made once, not timed), both are
// differentiated by tf.valueAndGrad inside tf.tidy, and both read the loss and the whole gradient
// back with dataSync(), so the work is finished when the clock stops. tfjs runs in prod mode (its
// fastest configuration). Each figure is the median of --runs timed runs after one warm-up run.
// The adapter's time is split into the kernel (the library's call on typed arrays, timed alone)
// and the rest: reading yTrue/yPred, making the loss scalar and the gradient tensor, dy * grad,
// the tape.
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { backend, sigmoidFocalLoss, softmaxFocalLoss } from '../dist/index.js';
import { sigmoidFocalLossTf, softmaxFocalLossTf } from '../dist/tfjs.js';
import { generator } from './data.mjs';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    threads: { type: 'string' },
  },
});
const N = Number(args.n);
const RUNS = Number(args.runs);
const CLASSES = 10;
const GAMMA = 2;
const ALPHA = 0.25;
const threads = args.threads === undefined ? {} : { threads: Number(args.threads) };
const SIGMOID = { gamma: GAMMA, alpha: ALPHA, ...threads };
const SOFTMAX = { gamma: GAMMA, ...threads };

await tf.setBackend('cpu');
await tf.ready();
tf.enableProdMode();

// ---- data: seeded, logits in [-4, 4], 1 positive in 21 (the imbalance focal loss is for) -------

const rng = generator(2026);
const logits = Float32Array.from({ length: N }, () => -4 + 8 * rng());
const binary = Float32Array.from({ length: N }, () => (rng() < 1 / 21 ? 1 : 0));
const rows = Math.floor(N / CLASSES);
// Class 0 takes 80% of the samples, the other 9 classes share the rest.
const label = () => (rng() < 0.8 ? 0 : 1 + Math.floor(rng() * (CLASSES - 1)));
const labels = Int32Array.from({ length: rows }, label);

const x = tf.tensor1d(logits);
const t = tf.tensor1d(binary);
const z = tf.tensor2d(logits.slice(0, rows * CLASSES), [rows, CLASSES]);
const yLabels = tf.tensor1d(labels, 'int32');
// Made from a Float32Array: tf.oneHot(...).toFloat() would keep an Int32Array behind the float32
// dtype on the cpu backend, which the adapter then converts (a copy) before the library reads it.
const oneHot = new Float32Array(rows * CLASSES);
labels.forEach((y, i) => (oneHot[i * CLASSES + y] = 1));
const yOneHot = tf.tensor2d(oneHot, [rows, CLASSES]);
const zData = logits.subarray(0, rows * CLASSES);

// ---- the focal loss in tfjs ops (as bench/backends/tfjs.mjs and test/tfjs.test.ts write it) ----

function opsSigmoid(target, input) {
  const p = tf.sigmoid(input);
  const ce = tf.add(tf.sub(tf.relu(input), tf.mul(input, target)), tf.log1p(tf.exp(tf.neg(tf.abs(input)))));
  const notT = tf.sub(1, target);
  const m = tf.add(tf.mul(target, tf.sub(1, p)), tf.mul(notT, p));
  const a = tf.add(tf.mul(target, ALPHA), tf.mul(notT, 1 - ALPHA));
  return tf.mean(tf.mul(a, tf.mul(tf.pow(m, GAMMA), ce)));
}

function opsSoftmax(oneHot, input) {
  const logp = tf.logSoftmax(input);
  const q = tf.sub(1, tf.exp(logp));
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.mul(tf.pow(q, GAMMA), logp)), -1)));
}

// ---- timing ----------------------------------------------------------------------------------

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * `run` (which returns the loss) after one warm-up: at least RUNS timed runs, more (up to 50) while
 * they add up to less than a second. The median and the fastest run: on a machine shared with other
 * work the fastest is the better estimate of the uncontended time.
 */
function time(run) {
  let value = run();
  const times = [];
  let total = 0;
  while (times.length < RUNS || (total < 1000 && times.length < 50)) {
    const start = nowMs();
    value = run();
    times.push(nowMs() - start);
    total += times.at(-1);
  }
  return { ms: median(times), min: Math.min(...times), runs: times.length, value };
}

/** Forward + backward through tf.valueAndGrad, loss and gradient read back. */
function tfStep(f, input) {
  return () =>
    tf.tidy(() => {
      const { value, grad } = tf.valueAndGrad(f)(input);
      grad.dataSync();
      return value.dataSync()[0];
    });
}

const info = backend();
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const load = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
console.log(`machine: ${cpu}, ${availableParallelism()} cores, load average at start ${load}`);
console.log(
  `node ${process.version}, @tensorflow/tfjs ${tf.version.tfjs} (${tf.getBackend()} backend, prod mode), ` +
    `focal-loss ${info.name} backend` +
    (info.name === 'native' ? ` (${info.simd}, threads: ${threads.threads ?? info.threads})` : ''),
);
console.log(
  `float32, gamma ${GAMMA}, forward + backward; after 1 warm-up, ` + `at least ${RUNS} runs (up to 50 within 1 s):`,
);
console.log('median ms, and in parentheses the fastest run; ns per element below\n');

const sigmoidTf = sigmoidFocalLossTf(SIGMOID);
const softmaxTf = softmaxFocalLossTf(SOFTMAX);
const cases = [
  {
    name: `sigmoid [${N}], alpha ${ALPHA}`,
    elements: N,
    ops: tfStep((p) => opsSigmoid(t, p), x),
    adapter: tfStep((p) => sigmoidTf(t, p), x),
    kernel: () => sigmoidFocalLoss(logits, binary, { ...SIGMOID, gradient: true }).loss,
  },
  {
    name: `softmax [${rows}, ${CLASSES}], one-hot yTrue`,
    elements: rows * CLASSES,
    ops: tfStep((p) => opsSoftmax(yOneHot, p), z),
    adapter: tfStep((p) => softmaxTf(yOneHot, p), z),
    kernel: () => softmaxFocalLoss(zData, oneHot, { ...SOFTMAX, numClasses: CLASSES, gradient: true }).loss,
  },
  {
    name: `softmax [${rows}, ${CLASSES}], int32 labels [${rows}]`,
    elements: rows * CLASSES,
    ops: tfStep((p) => opsSoftmax(yOneHot, p), z),
    adapter: tfStep((p) => softmaxTf(yLabels, p), z),
    kernel: () => softmaxFocalLoss(zData, labels, { ...SOFTMAX, numClasses: CLASSES, gradient: true }).loss,
  },
];

const ns = (ms, n) => ((ms * 1e6) / n).toFixed(1);
const pad = (s, w) => String(s).padStart(w);
const cell = (t, w) => pad(`${t.ms.toFixed(1)} (${t.min.toFixed(1)})`, w);
const nsCell = (t, n, w) => pad(`${ns(t.ms, n)} (${ns(t.min, n)})`, w);
const columns = (first) => `${first.padEnd(44)}${pad('tfjs ops', 18)}${pad('adapter', 16)}${pad('kernel', 16)}`;
console.log(`${columns('case')}${pad('speed-up', 10)}`);
const perElement = [];
for (const c of cases) {
  const ops = time(c.ops);
  const adapter = time(c.adapter);
  const kernel = time(c.kernel);
  const rel = Math.abs(adapter.value - ops.value) / Math.abs(ops.value);
  const speedUp = `${(ops.ms / adapter.ms).toFixed(0)}×`;
  const cells = `${cell(ops, 18)}${cell(adapter, 16)}${cell(kernel, 16)}`;
  console.log(`${c.name.padEnd(44)}${cells}${pad(speedUp, 10)}`);
  perElement.push(
    `${c.name.padEnd(44)}${nsCell(ops, c.elements, 18)}${nsCell(adapter, c.elements, 16)}` +
      `${nsCell(kernel, c.elements, 16)}   loss ${adapter.value.toPrecision(7)}, ` +
      `vs ops ${rel.toExponential(1)}`,
  );
}
console.log(`\n${columns('ns per element')}`);
for (const line of perElement) console.log(line);
console.log(
  `\nload average at end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
tf.dispose([x, t, z, yLabels, yOneHot]);
