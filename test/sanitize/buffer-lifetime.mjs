#!/usr/bin/env node
// Reproduces the memory-safety findings of docs/SANITIZERS.md ("Findings"): an ArrayBuffer that is
// detached (transferred) or shrunk while an async call reads or writes it, and (through the binding
// itself) one detached by a plan getter. Not part of any suite: each scenario crashes the process
// (SIGSEGV with the regular build, a heap-use-after-free report with the ASan build).
//
//   node test/sanitize/findings/buffer-lifetime.mjs            every scenario, each in a child process
//   node --expose-gc test/sanitize/findings/buffer-lifetime.mjs <scenario>   one, in this process
//
// With the ASan build:
//   LD_PRELOAD="$(g++ -print-file-name=libasan.so) $(g++ -print-file-name=libubsan.so)" ASAN_OPTIONS=detect_leaks=0 \
//   FOCAL_LOSS_NATIVE_PATH=build/sanitize/focal_loss.node node test/sanitize/findings/buffer-lifetime.mjs
// Needs `npm run build` (dist/).
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SELF = fileURLToPath(import.meta.url);

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
    const p = lib.softmaxFocalLossAsync(new Float64Array(rows * C).fill(0.1), new Int32Array(rows), { numClasses: C, out: { grad }, threads: 1 });
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
  // objects): a getter on a plan property read after the logits detaches them; the kernel then
  // reads the freed buffer. native/plan_reader.cpp reads `logits` first and runs JS (property
  // reads) after it.
  'plan-getter': async () => {
    const { loadNative } = await import(pathToFileURL(join(ROOT, 'dist', 'loader.js')).href);
    const { addon } = loadNative('native');
    const n = 1 << 20;
    const logits = new Float64Array(n).fill(0.5);
    const plan = { logits, targets: new Uint8Array(n), weights: null, alpha: 0.25, labelSmoothing: 0, probabilities: false, probabilityEpsilon: 1e-7, gradScale: 1, lossOut: null, gradOut: null, threads: 1, simd: -1 };
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
if (scenario) {
  if (!(scenario in SCENARIOS)) throw new Error(`unknown scenario ${scenario}: ${Object.keys(SCENARIOS).join(', ')}`);
  const lib = await import(pathToFileURL(join(ROOT, 'dist', 'index.js')).href);
  if (lib.backend().name !== 'native') throw new Error('the native backend did not load');
  const r = await SCENARIOS[scenario](lib);
  console.log(`${scenario}: the call settled (loss ${r.loss}): no crash`);
} else {
  let crashed = 0;
  for (const name of Object.keys(SCENARIOS)) {
    const r = spawnSync(process.execPath, ['--expose-gc', SELF, name], { encoding: 'utf8', env: { ...process.env, FOCAL_LOSS_BACKEND: 'native' } });
    const report = (r.stderr.match(/ERROR: AddressSanitizer: [^\n]*\n(READ|WRITE)[^\n]*/) ?? [''])[0].replace(/\n/, ' / ');
    const how = r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
    console.log(`${name.padEnd(18)} ${how}${report ? `  ${report}` : ''}${r.status === 0 ? `  ${r.stdout.trim()}` : ''}`);
    if (r.status !== 0) crashed++;
  }
  console.log(`${crashed} of ${Object.keys(SCENARIOS).length} scenarios crashed`);
}
