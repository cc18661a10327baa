#!/usr/bin/env node
// What an async call costs over the sync one: the copy of the inputs (and of `out` buffers) that
// keeps the kernel off memory the caller can free (README, "sigmoidFocalLossAsync"). Prints ms per
// call for 1e7 float32 logits with uint8 targets, sync and async side by side, for the loss only,
// the gradient into an `out` buffer (async: copied back), and a new gradient array (fresh memory
// each call, for both). The first round pays for fresh copies; later ones reuse the pooled ones.
// Needs `npm run build`. Arguments: [elements] [rounds].
import { backend, sigmoidFocalLoss, sigmoidFocalLossAsync } from '../dist/index.js';

const n = Number(process.argv[2] ?? 1e7);
const rounds = Number(process.argv[3] ?? 5);
const logits = new Float32Array(n).map((_, i) => (i % 200) / 10 - 10);
const targets = new Uint8Array(n).map((_, i) => (i % 7 === 0 ? 1 : 0));
const grad = new Float32Array(n);

async function time(f) {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0).toFixed(1).padStart(7);
}

console.log(`backend ${backend().name}, ${n} float32 elements, ms per call, sync / async`);
console.log('round   loss only         gradient into out   new gradient');
const cases = [{}, { out: { grad } }, { gradient: true }];
for (let r = 1; r <= rounds; r++) {
  const cells = [];
  for (const options of cases) {
    const sync = await time(() => sigmoidFocalLoss(logits, targets, options));
    const async = await time(() => sigmoidFocalLossAsync(logits, targets, options));
    cells.push(`${sync} / ${async}`);
  }
  console.log(`${String(r).padStart(5)}  ${cells.join('   ')}`);
}
