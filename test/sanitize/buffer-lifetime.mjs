#!/usr/bin/env node
// The memory-safety findings of docs/SANITIZERS.md ("Findings"), kept as regression scenarios: an
// ArrayBuffer detached (transferred) or shrunk while an async call reads or writes it, and one
// detached by a plan getter given to the binding itself. Each used to crash (SIGSEGV with the
// regular build, heap-use-after-free under ASan); now an async call computes on a copy and the
// binding reads every plan property before taking a pointer. test/sanitize/buffer-lifetime.san.ts
// runs every scenario in a child process under the ASan build (npm run test:asan).
//
//   node --expose-gc test/sanitize/buffer-lifetime.mjs <scenario>     one scenario, in this process
//   node test/sanitize/buffer-lifetime.mjs --list                     the scenario names
// Needs `npm run build` (dist/). Prints one JSON line: { scenario, ok, error? }.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { planExports, sigmoidPlan } from '../fixtures/plans.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const SCENARIOS = {
  // The caller transfers the logits' buffer (structuredClone / postMessage with a transfer list)
  // while sigmoidFocalLossAsync reads it; the new owner is dropped and collected: the kernel reads
  // freed memory.
  'transfer-logits': async (lib) => {
    const n = 20_000_000;
    const logits = new Float32Array(n).fill(0.5);
    const p = lib.sigmoidFocalLossAsync(logits, new Uint8Array(n), { gradient: true, threads: 1 });
    await null;
    structuredClone(logits.buffer, { transfer: [logits.buffer] });
    for (let i = 0; i < 5; i++) {
      globalThis.gc();
      new Float32Array(n).fill(1);
    }
    return p;
  },
  // The same with the output buffer: the kernel writes into freed memory (heap corruption).
  'transfer-out-grad': async (lib) => {
    const rows = 200_000;
    const C = 10;
    let grad = new Float64Array(rows * C);
    const p = lib.softmaxFocalLossAsync(new Float64Array(rows * C).fill(0.1), new Int32Array(rows), {
      numClasses: C,
      out: { grad },
      threads: 1,
    });
    await null;
    structuredClone(grad.buffer, { transfer: [grad.buffer] });
    grad = null;
    for (let i = 0; i < 5; i++) {
      globalThis.gc();
      new Float64Array(rows * C).fill(1);
    }
    return p;
  },
  // A length-tracking view of a resizable ArrayBuffer, shrunk to 0 bytes while the call runs: V8
  // releases the pages and the kernel faults on them (no garbage collection involved).
  'resize-logits': async (lib) => {
    const n = 20_000_000;
    const buffer = new ArrayBuffer(n * 4, { maxByteLength: n * 4 });
    const logits = new Float32Array(buffer).fill(0.5);
    const p = lib.sigmoidFocalLossAsync(logits, new Uint8Array(n), { gradient: true, threads: 1 });
    await null;
    buffer.resize(0);
    return p;
  },
  // Sync, through the binding itself (not reachable through the public API, whose plans are plain
  // objects): a getter on a plan property detaches the logits. native/binding/plan_reader.cpp used to take
  // the logits' pointer first and run the getter after it; the kernel then read the freed buffer.
  'plan-getter': async () => {
    const { loadNative } = await import(pathToFileURL(join(ROOT, 'dist', 'backends', 'native', 'loader.js')).href);
    const addon = planExports(loadNative('native').addon);
    const n = 1 << 20;
    const logits = new Float64Array(n).fill(0.5);
    const plan = sigmoidPlan(n, { logits });
    Object.defineProperty(plan, 'gamma', {
      get() {
        structuredClone(logits.buffer, { transfer: [logits.buffer] });
        for (let i = 0; i < 3; i++) globalThis.gc();
        return 2;
      },
    });
    return { loss: addon.sigmoid(plan).sum };
  },
};

const scenario = process.argv[2];
if (scenario === '--list') {
  console.log(Object.keys(SCENARIOS).join('\n'));
} else {
  if (!(scenario in SCENARIOS)) throw new Error(`unknown scenario ${scenario}: ${Object.keys(SCENARIOS).join(', ')}`);
  const lib = await import(pathToFileURL(join(ROOT, 'dist', 'index.js')).href);
  if (lib.backend().name !== 'native') throw new Error('the native backend did not load');
  try {
    const r = await SCENARIOS[scenario](lib);
    console.log(JSON.stringify({ scenario, ok: true, loss: r.loss }));
  } catch (error) {
    console.log(JSON.stringify({ scenario, ok: false, error: `${error?.constructor?.name}: ${error?.message}` }));
  }
}
