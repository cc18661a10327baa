#!/usr/bin/env node
// `npm run demo`: the seed article's table, then a timed batch on built-in random data.
import { backend, sigmoidFocalLoss, softmaxFocalLoss } from '../dist/index.js';

const GAMMAS = [0, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 16];

function seedTable() {
  // 11 classes with logits 0, 0.1, ..., 1.0; one sample per true class; alpha none.
  const logits = new Float64Array(11).map((_, j) => j / 10);
  const batch = new Float64Array(11 * 11);
  for (let i = 0; i < 11; i++) batch.set(logits, i * 11);
  const labels = Int32Array.from({ length: 11 }, (_, i) => i);
  const columns = GAMMAS.map(
    (gamma) => softmaxFocalLoss(batch, labels, { numClasses: 11, gamma, reduction: 'none' }).loss,
  );
  console.log('Softmax focal loss for logits [0, 0.1, ..., 1.0] (the seed article\'s table, exact):\n');
  console.log(['class', 'logit', ...GAMMAS.map((g) => `γ=${g}`)].map((s) => s.padStart(8)).join(''));
  for (let i = 0; i < 11; i++) {
    const row = [String(i), logits[i].toFixed(1), ...columns.map((c) => c[i].toFixed(4))];
    console.log(row.map((s) => s.padStart(8)).join(''));
  }
  const ratio = (i) => (columns[0][i] / columns[GAMMAS.indexOf(16)][i]).toFixed(2);
  console.log(`\nγ=0 / γ=16: ${ratio(0)}× for logit 0, ${ratio(10)}× for logit 1 (the article rounds these to 2× and 16×).\n`);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function time(label, elements, fn) {
  fn(); // warm-up
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const start = process.hrtime.bigint();
    fn();
    runs.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const ms = median(runs);
  console.log(`${label.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms  ${((ms * 1e6) / elements).toFixed(2).padStart(7)} ns/element`);
}

function timedBatch() {
  const info = backend();
  console.log(`Backend: ${info.name}${info.loadError ? ` (${info.loadError})` : ''}, OpenMP: ${info.openmp}, threads: ${info.threads}`);
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const n = 1_000_000;
  const logits = new Float32Array(n).map(() => (random() - 0.5) * 8);
  const targets = new Uint8Array(n).map(() => (random() < 0.01 ? 1 : 0));
  const grad = new Float32Array(n);
  time('sigmoid, N = 1e6, float32, loss + gradient', n, () =>
    sigmoidFocalLoss(logits, targets, { gamma: 2, alpha: 0.25, out: { grad } }),
  );
  const rows = 100_000;
  const classes = 10;
  const z = new Float32Array(rows * classes).map(() => (random() - 0.5) * 8);
  const labels = new Int32Array(rows).map(() => Math.floor(random() * classes));
  const zGrad = new Float32Array(rows * classes);
  time('softmax, [1e5, 10], float32, loss + gradient', rows * classes, () =>
    softmaxFocalLoss(z, labels, { numClasses: classes, gamma: 2, out: { grad: zGrad } }),
  );
  const r = sigmoidFocalLoss(logits, targets, { gamma: 2, alpha: 0.25 });
  console.log(`\nmean sigmoid focal loss over the batch: ${r.loss.toPrecision(6)} (${r.count} elements)`);
}

seedTable();
timedBatch();
