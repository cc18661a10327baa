#!/usr/bin/env node
// Leak checks of the native binding: many sync and async calls (sigmoid and softmax, several sizes
// and dtypes, with and without gradient / loss / weight buffers, calls that fail in the facade, in
// the kernels and inside the binding itself), then one of:
//
//   node scripts/leak-check.mjs rss       [--batches 12] [--batch 1000]    (CI; ~1 min)
//       In-process: after warm-up, RSS and external/ArrayBuffer memory measured (after gc) at the end
//       of every batch of sync + async calls must stay flat. Every call gets fresh input and output
//       arrays, so a native reference that kept a plan (and its arrays) alive would show as growth
//       of `arrayBuffers` (~10 KB per call); a native allocation that is never freed as RSS growth.
//   node scripts/leak-check.mjs valgrind  [--calls 10000]
//       The workload under valgrind memcheck (FOCAL_LOSS_SIMD=avx2: valgrind has no AVX-512), on the
//       regular build (build/Release or FOCAL_LOSS_NATIVE_PATH). Fails on any definitely / indirectly
//       lost block allocated through the addon; reports node's own definitely-lost bytes.
//   node scripts/leak-check.mjs lsan      [--calls 10000] [--addon build/sanitize/focal_loss.node]
//       The workload with the ASan build and LeakSanitizer (scripts/test-asan.sh --build-only first).
//       Fails on any leak whose allocation stack passes through the addon.
//   node scripts/leak-check.mjs workload  [--calls 10000]
//       Only the workload (what the two above run in a child process).
//
// --calls N: N sync calls and N async calls (default 10,000 each). Needs `npm run build` (dist/).
// Exit status: 0 no leak, 1 leak (or failed workload), 2 usage error.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { planExports, sigmoidPlan, softmaxPlan } from '../test/fixtures/plans.mjs';
import { mulberry32 as rng } from '../demo/data.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SELF = fileURLToPath(import.meta.url);

function parseArgs(argv) {
  const [mode = 'rss', ...rest] = argv;
  const opts = { mode, calls: 10_000, batches: 20, batch: 1000, warmup: 5, addon: undefined, verbose: false };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const next = () => {
      if (i + 1 >= rest.length) usage(`${a} needs a value`);
      return rest[++i];
    };
    if (a === '--calls') opts.calls = Number(next());
    else if (a === '--batches') opts.batches = Number(next());
    else if (a === '--batch') opts.batch = Number(next());
    else if (a === '--warmup') opts.warmup = Number(next());
    else if (a === '--addon') opts.addon = resolve(next());
    else if (a === '--verbose') opts.verbose = true;
    else usage(`unknown argument ${a}`);
  }
  if (!['rss', 'valgrind', 'lsan', 'workload'].includes(mode)) usage(`unknown mode ${mode}`);
  for (const k of ['calls', 'batches', 'batch', 'warmup']) {
    if (!Number.isInteger(opts[k]) || opts[k] < 0) usage(`--${k} must be a whole number`);
  }
  return opts;
}

function usage(message) {
  console.error(`leak-check: ${message}`);
  console.error(
    'usage: node scripts/leak-check.mjs [rss|valgrind|lsan|workload] [--calls N] [--batches N] [--batch N] [--addon path]',
  );
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// The workload.

async function loadLibrary() {
  const dist = join(ROOT, 'dist', 'index.js');
  if (!existsSync(dist)) throw new Error('dist/ is missing: run `npm run build` first');
  const lib = await import(pathToFileURL(dist).href);
  const { loadNative } = await import(pathToFileURL(join(ROOT, 'dist', 'backends', 'native', 'loader.js')).href);
  const native = loadNative('native');
  if (lib.backend().name !== 'native') throw new Error(`the native backend is not in use: ${lib.backend().loadError}`);
  return { lib, addon: native.addon && planExports(native.addon), path: native.path };
}

// Sizes: tiny, a vector remainder, one block, and above 2^15 elements (several blocks, OpenMP).
const SIZES = [1, 7, 100, 1000, 40_000];
// How often each size is used (the large one rarely: valgrind runs it at ~1/50 speed).
const SIZE_WEIGHTS = [30, 30, 25, 14, 1];

function pickSize(random) {
  let r = random() * 100;
  for (let i = 0; i < SIZES.length; i++) {
    r -= SIZE_WEIGHTS[i];
    if (r < 0) return SIZES[i];
  }
  return SIZES[0];
}

// Random data to copy from: logits in [-10, 10), values in [0, 1), 0/1 targets (20% ones), and labels
// in [0, C) with 10% of 255 (the ignore index used below).
const POOL_SIZE = 2 * 40_000;
const POOL = (() => {
  const random = rng(12345);
  const make = (Ctor, f) => Ctor.from({ length: POOL_SIZE }, f);
  return {
    logits: make(Float64Array, () => (random() - 0.5) * 20),
    unit: make(Float64Array, () => random()),
    bits: make(Uint8Array, () => (random() < 0.2 ? 1 : 0)),
    labels2: make(Uint8Array, () => (random() < 0.1 ? 255 : Math.floor(random() * 2))),
    labels5: make(Uint8Array, () => (random() < 0.1 ? 255 : Math.floor(random() * 5))),
    labels10: make(Uint8Array, () => (random() < 0.1 ? 255 : Math.floor(random() * 10))),
  };
})();

/** n consecutive pool values from a random start (a view; the caller copies it). */
function slice(pool, n, random) {
  const start = Math.floor(random() * (pool.length - n));
  return pool.subarray(start, start + n);
}

/** A plan the facade never builds: the binding itself throws (native/binding/plan_reader.cpp). */
function badPlan(i, n) {
  const sigmoid = sigmoidPlan(n);
  const softmax = softmaxPlan(n, 2, { alpha: new Float64Array([0.5, 0.5]) });
  switch (i % 6) {
    case 0:
      return ['sigmoid', { ...sigmoid, targets: new Uint8Array(n + 1) }]; // length mismatch
    case 1:
      return ['sigmoid', { ...sigmoid, gradOut: new Float64Array(n) }]; // wrong output type
    case 2:
      return ['sigmoid', { ...sigmoid, threads: 0 }]; // one of the last fields read
    case 3:
      return ['softmax', { ...softmax, alpha: new Float64Array(3) }]; // alpha of the wrong length
    case 4:
      return ['softmax', { ...softmax, labels: null }]; // neither labels nor targets (after alpha was copied)
    default: {
      // A JS exception thrown by a getter in the middle of the read.
      const plan = { ...softmax };
      Object.defineProperty(plan, 'ignoreIndex', {
        get() {
          throw new Error('getter');
        },
      });
      return ['softmax', plan];
    }
  }
}

/**
 * Call number i: its function and arguments, all arrays freshly allocated. `kind` is 'ok' (must
 * succeed), 'facade' (the facade throws before the binding: validation), 'kernel' (the kernel
 * reports a bad element; the call throws a RangeError after the kernel ran) or 'binding'.
 */
function makeCall(lib, addon, i, random) {
  const n = pickSize(random);
  const F = i % 2 ? Float32Array : Float64Array;
  const which = i % 20;
  if (which === 19) {
    const [fn, plan] = badPlan(i >> 1, n);
    return { kind: 'binding', sync: () => addon[fn](plan), async: () => addon[`${fn}Async`](plan) };
  }
  if (which === 18) {
    // Rejected by the facade's validation (never reaches the binding).
    const logits = new F(n);
    return {
      kind: 'facade',
      sync: () => lib.sigmoidFocalLoss(logits, new Uint8Array(n + 1)),
      async: () => lib.sigmoidFocalLossAsync(logits, new Uint8Array(n + 1)),
    };
  }
  if (which === 17) {
    // A bad element found by the kernel (after it ran): RangeError.
    const logits = new F(n).fill(0.5);
    const labels = new Int32Array(n);
    labels[n - 1] = 9;
    const options = { numClasses: 1, gradient: true };
    return {
      kind: 'kernel',
      sync: () => lib.softmaxFocalLoss(logits, labels, options),
      async: () => lib.softmaxFocalLossAsync(logits, labels, options),
    };
  }
  // Fresh arrays, filled from precomputed pools by typed-array copies (element loops in JS would
  // dominate the run time under valgrind, where node runs without its JIT).
  const logits = new F(slice(POOL.logits, n, random));
  if (which % 2 === 0) {
    // sigmoid, with a rotation of target kinds and buffers.
    const targets = which % 4 === 0 ? new Uint8Array(slice(POOL.bits, n, random)) : new F(slice(POOL.unit, n, random));
    const v = (which >> 1) % 5;
    const options = {
      gamma: [2, 0.5, 0, 3, 1.5][v],
      gradient: v === 1 || v === 4,
      reduction: v === 2 ? 'none' : 'mean',
      weights: v === 3 ? new F(n).fill(0.5) : undefined,
      out: v === 4 ? { grad: new F(n) } : undefined,
    };
    return {
      kind: 'ok',
      sync: () => lib.sigmoidFocalLoss(logits, targets, options),
      async: () => lib.sigmoidFocalLossAsync(logits, targets, options),
    };
  }
  // softmax: [rows, C] hard labels (with ignored ones), or soft targets.
  const C = [2, 5, 10][which % 3];
  const rows = Math.max(1, Math.floor(n / C));
  const x = logits.length >= rows * C ? logits.subarray(0, rows * C) : new F(rows * C);
  const v = (which >> 1) % 4;
  if (v === 3) {
    const soft = new F(slice(POOL.unit, rows * C, random)).map((t) => t / C);
    const options = { shape: [rows, C], classAxis: -1, gradient: true, reduction: 'sum' };
    return {
      kind: 'ok',
      sync: () => lib.softmaxFocalLoss(x, soft, options),
      async: () => lib.softmaxFocalLossAsync(x, soft, options),
    };
  }
  const labels = new Uint8Array(slice(POOL[`labels${C}`], rows, random));
  const options = {
    numClasses: C,
    ignoreIndex: 255,
    gradient: v === 0 || v === 2,
    alpha: v === 1 ? Array.from({ length: C }, (_, k) => (k + 1) / C) : null,
    reduction: v === 2 ? 'none' : 'mean',
    out: v === 2 ? { grad: new F(rows * C), loss: new F(rows) } : undefined,
  };
  return {
    kind: 'ok',
    sync: () => lib.softmaxFocalLoss(x, labels, options),
    async: () => lib.softmaxFocalLossAsync(x, labels, options),
  };
}

class Tally {
  constructor() {
    this.counts = { ok: 0, facade: 0, kernel: 0, binding: 0 };
    this.unexpected = [];
  }
  record(kind, error) {
    const failed = error !== undefined;
    if (failed !== (kind !== 'ok')) {
      this.unexpected.push(`${kind} call ${failed ? `threw ${error?.message}` : 'succeeded'}`);
    } else if (kind === 'binding' && !(error instanceof TypeError) && error?.message !== 'getter') {
      this.unexpected.push(`binding call threw ${error?.name}: ${error?.message}`);
    }
    this.counts[kind]++;
  }
}

/** `count` sync calls, then `count` async calls in waves of `inFlight` concurrent calls. */
async function runCalls(lib, addon, count, seed, tally, inFlight = 64) {
  const random = rng(seed);
  for (let i = 0; i < count; i++) {
    const call = makeCall(lib, addon, i, random);
    let error;
    try {
      call.sync();
    } catch (e) {
      error = e;
    }
    tally.record(call.kind, error);
  }
  for (let start = 0; start < count; start += inFlight) {
    const wave = [];
    for (let i = start; i < Math.min(count, start + inFlight); i++) {
      const call = makeCall(lib, addon, i, random);
      let promise;
      try {
        promise = Promise.resolve(call.async()); // the binding throws synchronously on a bad plan
      } catch (e) {
        promise = Promise.reject(e);
      }
      wave.push(
        promise.then(
          () => tally.record(call.kind),
          (e) => tally.record(call.kind, e),
        ),
      );
    }
    await Promise.all(wave);
  }
}

async function workload(opts) {
  const { lib, addon, path } = await loadLibrary();
  const tally = new Tally();
  const start = performance.now();
  await runCalls(lib, addon, opts.calls, 1, tally);
  const seconds = (performance.now() - start) / 1000;
  const b = lib.backend();
  console.log(
    `workload: ${opts.calls} sync + ${opts.calls} async calls on ${path} (simd ${b.simd}, ${b.threads} threads) in ${seconds.toFixed(1)} s: ` +
      `${tally.counts.ok} ok, ${tally.counts.facade} rejected by the facade, ${tally.counts.kernel} bad elements found by the kernel, ` +
      `${tally.counts.binding} rejected inside the binding`,
  );
  if (tally.unexpected.length > 0) {
    console.error(
      `workload: ${tally.unexpected.length} unexpected outcomes, e.g.\n  ${tally.unexpected.slice(0, 5).join('\n  ')}`,
    );
    return 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// rss: memory after gc, batch by batch.

async function rss(opts) {
  if (process.env.FOCAL_LEAK_CHECK_CHILD !== 'rss') {
    // Re-run with gc exposed and a young generation of fixed size: V8 grows it from 1 to 16 MB
    // under allocation pressure, which would show as RSS growth (heapTotal 9 -> 37 MB) that is not
    // a leak.
    const flags = ['--expose-gc', '--min-semi-space-size=16', '--max-semi-space-size=16'];
    const r = spawnSync(process.execPath, [...flags, SELF, ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, FOCAL_LEAK_CHECK_CHILD: 'rss' },
    });
    return r.status ?? 1;
  }
  const { lib, addon, path } = await loadLibrary();
  const settle = async () => {
    for (let k = 0; k < 3; k++) {
      globalThis.gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    return process.memoryUsage();
  };
  const MB = 1024 * 1024;
  const tally = new Tally();
  const start = performance.now();
  const samples = [];
  const total = opts.warmup + opts.batches;
  console.log(
    `rss: ${total} batches (${opts.warmup} of warm-up) of ${opts.batch} sync + ${opts.batch} async calls on ${path}`,
  );
  console.log('batch      rss MB  heapTotal MB   heapUsed MB   external MB   arrayBuffers MB');
  for (let b = 0; b < total; b++) {
    await runCalls(lib, addon, opts.batch, 1000 + b, tally);
    const m = await settle();
    if (b >= opts.warmup) samples.push(m);
    console.log(
      `${String(b + 1).padStart(5)}${b < opts.warmup ? '*' : ' '}  ${(m.rss / MB).toFixed(1).padStart(9)} ${(m.heapTotal / MB).toFixed(1).padStart(13)} ${(m.heapUsed / MB).toFixed(1).padStart(13)} ` +
        `${(m.external / MB).toFixed(2).padStart(13)} ${(m.arrayBuffers / MB).toFixed(2).padStart(17)}`,
    );
  }
  const seconds = (performance.now() - start) / 1000;
  // Growth: the mean of the last third of the batches minus the mean of the first third (after
  // warm-up), so that one noisy sample does not decide. Tolerances: a leak of one 8-byte object
  // per call is 80 KB per batch of 10,000 calls; an array kept alive per call is ~10 KB per call.
  const third = Math.max(1, Math.floor(samples.length / 3));
  const mean = (xs, key) => xs.reduce((s, m) => s + m[key], 0) / xs.length;
  const growth = (key) => mean(samples.slice(-third), key) - mean(samples.slice(0, third), key);
  const calls = opts.batch * 2 * (samples.length - third);
  const limits = { rss: 8 * MB, external: 1 * MB, arrayBuffers: 1 * MB, heapUsed: 4 * MB };
  let status = 0;
  console.log(
    `rss: ${tally.counts.ok + tally.counts.facade + tally.counts.kernel + tally.counts.binding} calls in ${seconds.toFixed(1)} s`,
  );
  for (const [key, limit] of Object.entries(limits)) {
    const g = growth(key);
    const ok = g <= limit;
    if (!ok) status = 1;
    console.log(
      `  ${key.padEnd(13)} growth ${(g / MB).toFixed(2).padStart(7)} MB over ~${calls} calls (${(g / calls).toFixed(1)} bytes/call), limit ${(limit / MB).toFixed(0)} MB: ${ok ? 'ok' : 'LEAK?'}`,
    );
  }
  if (tally.unexpected.length > 0) {
    console.error(
      `rss: ${tally.unexpected.length} unexpected outcomes, e.g.\n  ${tally.unexpected.slice(0, 5).join('\n  ')}`,
    );
    status = 1;
  }
  console.log(status === 0 ? 'rss: no growth' : 'rss: FAILED');
  return status;
}

// ---------------------------------------------------------------------------------------------
// valgrind and lsan: the workload in a child process, then the report read.

/** Frames that belong to the addon (file name, or its namespaces / sources when symbolized). */
const ADDON_FRAME = /focal_loss\.node|focal::|Napi::|native\/[a-z_]+\.(cpp|hpp|inc)|FocalWorker|RunSync|RunAsync/;

function childArgs(opts) {
  return [SELF, 'workload', '--calls', String(opts.calls)];
}

function valgrind(opts) {
  const which = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  if (which.status !== 0) {
    console.error('leak-check: valgrind is not installed');
    return 1;
  }
  const dir = mkdtempSync(join(tmpdir(), 'focal-valgrind-'));
  const log = join(dir, 'memcheck.log');
  const supp = join(ROOT, 'scripts', 'valgrind-node.supp');
  const args = [
    '--tool=memcheck',
    '--leak-check=full',
    '--show-leak-kinds=definite,indirect',
    '--errors-for-leak-kinds=definite,indirect',
    '--num-callers=40',
    // V8 generates and patches code at run time.
    '--smc-check=all-non-file',
    ...(existsSync(supp) ? [`--suppressions=${supp}`] : []),
    `--log-file=${log}`,
    process.execPath,
    // FOCAL_VALGRIND_JITLESS=1: node --jitless (no generated code for valgrind to re-translate;
    // measured slower here: 34 s against 24 s for 1,000 + 1,000 calls).
    ...(process.env.FOCAL_VALGRIND_JITLESS === '1' ? ['--jitless'] : []),
    ...childArgs(opts),
  ];
  const env = { ...process.env, FOCAL_LOSS_BACKEND: 'native', FOCAL_LOSS_SIMD: process.env.FOCAL_LOSS_SIMD || 'avx2' };
  if (opts.addon) env.FOCAL_LOSS_NATIVE_PATH = opts.addon;
  console.log(
    `valgrind: memcheck on node, ${opts.calls} sync + ${opts.calls} async calls, FOCAL_LOSS_SIMD=${env.FOCAL_LOSS_SIMD}`,
  );
  const start = performance.now();
  const r = spawnSync('valgrind', args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const seconds = (performance.now() - start) / 1000;
  const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
  if (opts.verbose) console.log(text);
  const summary = parseValgrind(text);
  rmSync(dir, { recursive: true, force: true });
  console.log(`valgrind: finished in ${seconds.toFixed(0)} s, workload exit ${r.status}`);
  console.log(
    `  definitely lost: ${summary.definite} bytes, indirectly lost: ${summary.indirect} bytes, possibly lost: ${summary.possible} bytes (whole process)`,
  );
  console.log(`  invalid reads/writes and other memcheck errors: ${summary.errors.length}`);
  console.log(`  loss records through the addon: ${summary.addonLeaks.length}`);
  let status = r.status === 0 ? 0 : 1;
  const head = (record) => record.split('\n').slice(0, 14).join('\n');
  for (const e of summary.errors.slice(0, 5)) console.log(`\n${head(e)}`);
  for (const l of summary.addonLeaks.slice(0, 3)) console.log(`\n${head(l)}`);
  if (summary.addonLeaks.length > 0) {
    console.log('valgrind: leaks in the addon');
    status = 1;
  }
  if (summary.errors.some((e) => ADDON_FRAME.test(e))) {
    console.log('valgrind: memory errors in the addon');
    status = 1;
  }
  if (!/ERROR SUMMARY/.test(text)) {
    console.log('valgrind: no memcheck summary (did valgrind run?)');
    status = 1;
  }
  console.log(status === 0 ? 'valgrind: no leak through the addon' : 'valgrind: FAILED');
  return status;
}

function parseValgrind(text) {
  const lines = text.split('\n').map((l) => l.replace(/^==\d+== ?/, ''));
  const num = (re) => {
    const m = text.match(re);
    return m ? Number(m[1].replace(/,/g, '')) : 0;
  };
  const records = [];
  let current = null;
  for (const line of lines) {
    if (/^\S/.test(line) && !/^(at|by) /.test(line)) {
      if (current) records.push(current.join('\n'));
      current = [line];
    } else if (current && line.trim() !== '') {
      current.push(line);
    } else if (current) {
      records.push(current.join('\n'));
      current = null;
    }
  }
  if (current) records.push(current.join('\n'));
  const leaks = records.filter((r) => /are (definitely|indirectly) lost in loss record/.test(r));
  const errors = records.filter((r) =>
    /^(Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap)/.test(
      r,
    ),
  );
  return {
    definite: num(/definitely lost: ([\d,]+) bytes/),
    indirect: num(/indirectly lost: ([\d,]+) bytes/),
    possible: num(/possibly lost: ([\d,]+) bytes/),
    addonLeaks: leaks.filter((r) => ADDON_FRAME.test(r)),
    errors,
  };
}

function runtimeLib(name) {
  const r = spawnSync(process.env.CXX || 'g++', [`-print-file-name=${name}`], { encoding: 'utf8' });
  const p = r.stdout?.trim();
  if (!p || !p.startsWith('/') || !existsSync(p)) throw new Error(`cannot find ${name} (g++ -print-file-name)`);
  return p;
}

function lsan(opts) {
  const addon = opts.addon ?? join(ROOT, 'build', 'sanitize', 'focal_loss.node');
  if (!existsSync(addon)) {
    console.error(`leak-check: no ASan build at ${addon}: run scripts/test-asan.sh --build-only`);
    return 1;
  }
  const dir = mkdtempSync(join(tmpdir(), 'focal-lsan-'));
  const env = {
    ...process.env,
    LD_PRELOAD: `${runtimeLib('libasan.so')} ${runtimeLib('libubsan.so')}`,
    // Leaks are checked at exit; node's own blocks are not suppressed but filtered below, so that a
    // leak through the addon cannot hide behind a suppression that matches a node frame.
    ASAN_OPTIONS: `detect_leaks=1:leak_check_at_exit=1:fast_unwind_on_malloc=0:malloc_context_size=40:log_path=${join(dir, 'asan')}`,
    LSAN_OPTIONS: 'report_objects=0:use_unaligned=1',
    UBSAN_OPTIONS: `halt_on_error=1:print_stacktrace=1:log_path=${join(dir, 'ubsan')}`,
    FOCAL_LOSS_NATIVE_PATH: addon,
    FOCAL_LOSS_BACKEND: 'native',
  };
  console.log(`lsan: LeakSanitizer, ${opts.calls} sync + ${opts.calls} async calls on ${addon}`);
  const start = performance.now();
  const r = spawnSync(process.execPath, childArgs(opts), { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const seconds = (performance.now() - start) / 1000;
  const reports = readdirSync(dir)
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
  rmSync(dir, { recursive: true, force: true });
  if (opts.verbose) console.log(reports);
  // Blocks: "Direct leak of N byte(s) in M object(s) allocated from:" + frames.
  const blocks = reports
    .split(/\n(?=(?:Direct|Indirect) leak of )/)
    .filter((b) => /^(Direct|Indirect) leak of/.test(b));
  const bytes = (bs) => bs.reduce((s, b) => s + Number(b.match(/leak of (\d+) byte/)[1]), 0);
  const addonBlocks = blocks.filter((b) => ADDON_FRAME.test(b));
  const otherErrors = reports
    .replace(/=+\n/g, '')
    .split('\n')
    .filter((l) => /ERROR: (AddressSanitizer|LeakSanitizer)(?!: detected memory leaks)|runtime error:/.test(l));
  console.log(`lsan: finished in ${seconds.toFixed(0)} s, workload exit ${r.status}`);
  console.log(
    `  leaked in the whole process: ${bytes(blocks)} bytes in ${blocks.length} stacks; through the addon: ${bytes(addonBlocks)} bytes in ${addonBlocks.length} stacks`,
  );
  for (const b of addonBlocks.slice(0, 5)) console.log(`\n${b.split('\n').slice(0, 14).join('\n')}`);
  for (const l of otherErrors) console.log(l);
  let status = r.status === 0 || (r.status === 23 && addonBlocks.length === 0) ? 0 : 1; // 23: LSan's exit code
  if (addonBlocks.length > 0) {
    console.log('lsan: leaks in the addon');
    status = 1;
  }
  if (otherErrors.length > 0) status = 1;
  console.log(status === 0 ? 'lsan: no leak through the addon' : 'lsan: FAILED');
  return status;
}

const opts = parseArgs(process.argv.slice(2));
let status;
try {
  if (opts.mode === 'workload') status = await workload(opts);
  else if (opts.mode === 'rss') status = await rss(opts);
  else if (opts.mode === 'valgrind') status = valgrind(opts);
  else status = lsan(opts);
} catch (error) {
  console.error(`leak-check: ${error?.stack ?? error}`);
  status = 1;
}
process.exitCode = status;
