#!/usr/bin/env node
// Attacks on the addon's own async exports, as a caller who requires the .node file directly (its
// path is public: backend().path) can make them: the plan's arrays replaced after the call started,
// an array's buffer transferred or a resizable one shrunk while the pool thread reads it, a plan
// whose getter swaps the arrays. Before the binding held its arrays (issue 9, finding 2) each one
// read or wrote freed memory (SIGSEGV, or a heap-use-after-free report under ASan). Now each must
// either compute on what was read or be refused with a TypeError naming the plan field.
// test/binding-lifetime.test.ts runs every scenario in a child process (also under ASan, through
// scripts/test-asan.sh), with the addon's external buffers and with its copying fallback.
//
//   node --expose-gc test/sanitize/binding-lifetime.mjs <scenario>    one scenario, in this process
//   node test/sanitize/binding-lifetime.mjs --list                    the scenario names
// Needs `npm run build` (dist/). Prints one JSON line: { scenario, ok, sum? , error? }.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { planExports, sigmoidPlan, softmaxPlan } from '../fixtures/plans.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { loadNative } = await import(pathToFileURL(join(ROOT, 'dist', 'backends', 'native', 'loader.js')).href);
const addon = planExports(loadNative('native').addon);

// Memory the async exports accept: the addon's own blocks (an addon without allocate(), as before
// the fix, gets plain buffers, which is what a direct caller passed then).
const allocate = (bytes) => (typeof addon.allocate === 'function' ? addon.allocate(bytes) : new ArrayBuffer(bytes));
const on = (Ctor, n) => new Ctor(allocate(n * Ctor.BYTES_PER_ELEMENT));

// Collects garbage and reuses the freed memory until the call settles: a kernel still reading or
// writing freed memory then reads other data, faults, or (under ASan) hits the quarantine. (V8
// frees backing stores some time after a collection, so collecting once is not enough.)
async function churn(call, bytes) {
  let settled = false;
  call.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 500 && !settled; i++) {
    globalThis.gc();
    new Uint8Array(bytes).fill(0xff);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return call;
}

// Transfers a buffer away and drops the new owner. An external buffer from allocate() is not
// transferable through Node's structured clone (DataCloneError), so the attack then has no effect.
function transferAway(buffer) {
  try {
    structuredClone(buffer, { transfer: [buffer] });
  } catch (error) {
    if (error?.name !== 'DataCloneError') throw error;
  }
  // ArrayBuffer.prototype.transfer (Node 21+) detaches whatever kind of buffer it is given.
  if (typeof buffer.transfer === 'function' && !buffer.detached) buffer.transfer();
}

const N = 8_000_000; // sigmoid elements: tens of milliseconds on the pool thread
const ROWS = 200_000; // softmax samples of C classes (the per-row kernel: C > 32)
const C = 40;

const SCENARIOS = {
  // The plan keeps its identity, but its arrays are replaced: the old ones are garbage.
  'replaced-inputs': async () => {
    const plan = sigmoidPlan(N, { logits: on(Float64Array, N).fill(0.5), targets: on(Uint8Array, N), gamma: 1.7 });
    const p = addon.sigmoidAsync(plan);
    plan.logits = new Float64Array(1);
    plan.targets = new Uint8Array(1);
    return churn(p, N * 8);
  },
  'replaced-outputs': async () => {
    const plan = softmaxPlan(ROWS, C, {
      logits: on(Float64Array, ROWS * C).fill(0.1),
      labels: on(Int32Array, ROWS),
      gradOut: on(Float64Array, ROWS * C),
      lossOut: on(Float64Array, ROWS),
      gamma: 1.5,
    });
    const p = addon.softmaxAsync(plan);
    plan.gradOut = null;
    plan.lossOut = null;
    return churn(p, ROWS * C * 8);
  },
  // The caller transfers (detaches) a buffer the pool thread reads, or writes, and drops it.
  'transferred-input': async () => {
    const plan = sigmoidPlan(N, { logits: on(Float32Array, N).fill(0.5), targets: on(Uint8Array, N), gamma: 1.7 });
    const p = addon.sigmoidAsync(plan);
    transferAway(plan.logits.buffer);
    return churn(p, N * 4);
  },
  'transferred-output': async () => {
    const plan = softmaxPlan(ROWS, C, {
      logits: on(Float64Array, ROWS * C).fill(0.1),
      labels: on(Int32Array, ROWS),
      gradOut: on(Float64Array, ROWS * C),
      gamma: 1.5,
    });
    const p = addon.softmaxAsync(plan);
    transferAway(plan.gradOut.buffer);
    plan.gradOut = null;
    return churn(p, ROWS * C * 8);
  },
  // A length-tracking view of a resizable buffer, shrunk to nothing while the call runs: V8 gives
  // the pages back at once (no garbage collection needed).
  'resizable-shrunk': async () => {
    const buffer = new ArrayBuffer(N * 4, { maxByteLength: N * 4 });
    const plan = sigmoidPlan(N, { logits: new Float32Array(buffer).fill(0.5), targets: on(Uint8Array, N), gamma: 1.7 });
    const p = addon.sigmoidAsync(plan);
    buffer.resize(0);
    return churn(p, N * 4);
  },
  // The last property the binding reads is a getter that swaps the arrays it already took: after
  // the call returns, nothing in JavaScript refers to the arrays the job uses.
  'getter-swaps-arrays': async () => {
    let plan = sigmoidPlan(N, { logits: on(Float64Array, N).fill(0.5), targets: on(Uint8Array, N), gamma: 1.7 });
    Object.defineProperty(plan, 'simd', {
      get() {
        plan.logits = new Float64Array(1);
        plan.targets = new Uint8Array(1);
        return -1;
      },
    });
    const p = addon.sigmoidAsync(plan);
    plan = null;
    return churn(p, N * 8);
  },
  // A getter that detaches the logits after the binding read them (but before it takes pointers).
  'getter-detaches': async () => {
    const plan = sigmoidPlan(N, { logits: on(Float64Array, N).fill(0.5), targets: on(Uint8Array, N) });
    const logits = plan.logits;
    Object.defineProperty(plan, 'gamma', {
      get() {
        transferAway(logits.buffer);
        for (let i = 0; i < 3; i++) globalThis.gc();
        return 2;
      },
    });
    const p = addon.sigmoidAsync(plan);
    return churn(p, N * 8);
  },
  // Arrays on ordinary buffers: with external buffers the async exports refuse them (TypeError).
  'plain-arrays': async () => {
    const plan = sigmoidPlan(N, { logits: new Float32Array(N).fill(0.5) });
    const p = addon.sigmoidAsync(plan);
    return churn(p, N * 4);
  },
};

const scenario = process.argv[2];
if (scenario === '--list') {
  console.log(Object.keys(SCENARIOS).join('\n'));
} else {
  if (!(scenario in SCENARIOS)) throw new Error(`unknown scenario ${scenario}: ${Object.keys(SCENARIOS).join(', ')}`);
  try {
    const r = await SCENARIOS[scenario]();
    console.log(JSON.stringify({ scenario, ok: true, sum: r.sum, count: r.count }));
  } catch (error) {
    console.log(JSON.stringify({ scenario, ok: false, error: `${error?.constructor?.name}: ${error?.message}` }));
  }
}
