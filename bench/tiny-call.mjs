#!/usr/bin/env node
// What a small call costs, per call, end to end through the public functions and (for the analysis
// of where the time goes) at each layer under them: the facade alone (a kernel that returns at once),
// the addon called directly with the plan the facade built, and an N-API call that does nothing
// useful (info()). Float32 logits, gamma 2, default options; sigmoid with Uint8 targets, softmax
// with 4 classes and Int32 labels (N elements = N / 4 samples). Each figure is the median (and the
// best) of several rounds of many calls. Needs a build (`npm run build`, and the addon for the
// native rows).
//
//   node bench/tiny-call.mjs [--root DIR] [--rounds R] [--sizes 4,1000,100000] [--ms 40]
//
// --root: the checkout whose dist/ is measured (another worktree, to compare side by side).
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    root: { type: 'string', default: new URL('..', import.meta.url).pathname },
    rounds: { type: 'string', default: '7' },
    sizes: { type: 'string', default: '4,1000,100000' },
    ms: { type: 'string', default: '40' },
    only: { type: 'string', default: '' },
  },
});
const root = resolve(values.root);
const rounds = Number(values.rounds);
const sizes = values.sizes.split(',').map(Number);
const roundMs = Number(values.ms);
const only = values.only ? new Set(values.only.split(',')) : null;

const load = (path) => import(pathToFileURL(resolve(root, 'dist', path)).href);
const [{ createFocalLoss }, { loadNative }, { jsKernels }, protocol] = await Promise.all([
  load('facade/api.js'),
  load('backends/native/loader.js'),
  load('backends/js/kernels.js'),
  load('backends/protocol.js'),
]);
const native = loadNative();
if (!native.kernels) console.log(`(no addon: ${native.loadError})`);

/** Calls per round so that a round takes about roundMs, from a short trial. */
function calibrate(fn) {
  let calls = 16;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn();
    const ms = performance.now() - t0;
    if (ms > roundMs / 4 || calls > 1 << 22) return Math.max(16, Math.ceil((calls * roundMs) / Math.max(ms, 1e-3)));
    calls *= 4;
  }
}

/** µs per call: median and best of the rounds. */
function timeSync(fn) {
  const calls = calibrate(fn);
  const per = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn();
    per.push(((performance.now() - t0) * 1000) / calls);
  }
  return summary(per);
}

async function timeAsync(fn) {
  // Calibrated the same way, awaiting each call (one at a time, as a caller awaiting would).
  let calls = 16;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await fn();
    const ms = performance.now() - t0;
    if (ms > roundMs / 4 || calls > 1 << 20) {
      calls = Math.max(16, Math.ceil((calls * roundMs) / Math.max(ms, 1e-3)));
      break;
    }
    calls *= 4;
  }
  const per = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await fn();
    per.push(((performance.now() - t0) * 1000) / calls);
  }
  return summary(per);
}

function summary(per) {
  const sorted = [...per].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], best: sorted[0] };
}

/** A backend whose kernels keep the plan they were handed and return a fixed result at once. */
function capturing(kernels) {
  const seen = {};
  const result = { sum: 0, count: 1 };
  const keep = (kind) => (plan) => {
    seen[kind] = plan;
    return result;
  };
  return {
    seen,
    kernels: {
      ...kernels,
      sigmoid: keep('sigmoid'),
      softmax: keep('softmax'),
      sigmoidAsync: async (plan) => keep('sigmoidAsync')(plan),
      softmaxAsync: async (plan) => keep('softmaxAsync')(plan),
    },
  };
}

function inputs(n) {
  const logits = new Float32Array(n).map((_, i) => ((i * 37) % 200) / 10 - 10);
  const targets = new Uint8Array(n).map((_, i) => (i % 7 === 0 ? 1 : 0));
  const labels = new Int32Array(n / 4).map((_, i) => i % 4);
  return { logits, targets, labels };
}

const rows = [];
function row(layer, kind, n, figure) {
  rows.push({ layer, kind, n, ...figure });
  const f = (v) => v.toFixed(2).padStart(9);
  console.log(`${layer.padEnd(34)} ${kind.padEnd(14)} ${String(n).padStart(7)} ${f(figure.median)} ${f(figure.best)}`);
}

console.log(`root ${root}; backend native: ${native.kernels ? native.path : 'none'}`);
console.log(`µs per call: median and best of ${rounds} rounds of ~${roundMs} ms`);
console.log(
  `${'layer'.padEnd(34)} ${'call'.padEnd(14)} ${'N'.padStart(7)} ${'median'.padStart(9)} ${'best'.padStart(9)}`,
);

const want = (layer) => !only || only.has(layer);
if (native.addon && want('info'))
  row(
    'addon.info() (an N-API call)',
    '-',
    0,
    timeSync(() => native.addon.info()),
  );

for (const n of sizes) {
  const { logits, targets, labels } = inputs(n);
  const softmaxOptions = { numClasses: 4 };
  const backends = [['js', jsKernels]];
  if (native.kernels) backends.unshift(['native', native.kernels]);
  for (const [name, kernels] of backends) {
    const api = createFocalLoss(kernels);
    if (want('facade')) {
      row(
        `facade, ${name}`,
        'sigmoid',
        n,
        timeSync(() => api.sigmoidFocalLoss(logits, targets)),
      );
      row(
        `facade, ${name}`,
        'softmax',
        n,
        timeSync(() => api.softmaxFocalLoss(logits, labels, softmaxOptions)),
      );
    }
    if (want('async')) {
      row(`facade, ${name}`, 'sigmoidAsync', n, await timeAsync(() => api.sigmoidFocalLossAsync(logits, targets)));
      row(
        `facade, ${name}`,
        'softmaxAsync',
        n,
        await timeAsync(() => api.softmaxFocalLossAsync(logits, labels, softmaxOptions)),
      );
    }
  }
  if (native.kernels && (want('layers') || want('facade-only'))) {
    // The facade alone: validation, options, plan, result; the kernel returns at once.
    const { seen, kernels } = capturing(native.kernels);
    const api = createFocalLoss(kernels);
    row(
      'facade only (no kernel)',
      'sigmoid',
      n,
      timeSync(() => api.sigmoidFocalLoss(logits, targets)),
    );
    row(
      'facade only (no kernel)',
      'softmax',
      n,
      timeSync(() => api.softmaxFocalLoss(logits, labels, softmaxOptions)),
    );
    if (want('layers')) {
      // The addon with the plan the facade built, in the form this checkout's addon takes: plan
      // version 5 and later, the plan's values as arguments (SIGMOID_PLAN_KEYS order) and a result
      // array; before, the object.
      const { addon } = native;
      const direct = (fn, plan, keys) => {
        if (native.info.planVersion < 5) return () => fn(plan);
        const args = [...keys.map((key) => plan[key]), new Float64Array(protocol.RESULT_LENGTH)];
        return () => fn(...args);
      };
      row(
        "addon directly (facade's plan)",
        'sigmoid',
        n,
        timeSync(direct(addon.sigmoid, seen.sigmoid, protocol.SIGMOID_PLAN_KEYS)),
      );
      row(
        "addon directly (facade's plan)",
        'softmax',
        n,
        timeSync(direct(addon.softmax, seen.softmax, protocol.SOFTMAX_PLAN_KEYS)),
      );
    }
  }
}

if (process.env.TINY_CALL_JSON) console.log(JSON.stringify(rows));
