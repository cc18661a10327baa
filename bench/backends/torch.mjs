// PyTorch CPU, when a Python with torch is installed (Debian: apt-get install python3-torch
// python3-torchvision). The data set is written to temporary files and bench/torch_bench.py times
// every cell at each thread count (torch.set_num_threads) and answers in JSON.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PREFIX_DIVISOR } from '../data.mjs';
import { SIGMOID_ALPHA } from './focal-calls.mjs';

const script = fileURLToPath(new URL('../torch_bench.py', import.meta.url));

/**
 * glibc malloc settings for the Python process: keep freed memory instead of returning it to the
 * system. Without them every large temporary of PyTorch (one per op, 40 MB at N = 1e7) is a fresh
 * mmap whose page faults dominate its time on this kind of VM (measured: ~3 s instead of ~0.1 s for
 * a forward pass at N = 1e7). PyTorch's own CPU tuning guide recommends a caching allocator
 * (jemalloc/tcmalloc) for the same reason; this is the glibc equivalent. `--torch-default-malloc`
 * turns it off.
 */
export const TUNED_MALLOC = { MALLOC_MMAP_THRESHOLD_: '4294967296', MALLOC_TRIM_THRESHOLD_: '4294967296' };

/** Pythons tried in order: --python, $FOCAL_BENCH_PYTHON, Debian's (where python3-torch installs), PATH's. */
function candidates(preferred) {
  return [preferred, process.env.FOCAL_BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
}

function python(exe, args, input, env = process.env) {
  return spawnSync(exe, [script, ...args], { input, env, encoding: 'utf8', maxBuffer: 1 << 24 });
}

export function loadTorch(preferredPython, tunedMalloc = true) {
  const env = tunedMalloc ? { ...process.env, ...TUNED_MALLOC } : process.env;
  const tried = [];
  for (const exe of candidates(preferredPython)) {
    const r = python(exe, ['--versions']);
    if (r.status === 0) {
      const versions = JSON.parse(r.stdout.trim().split('\n').pop());
      const run = (data, cells, threads, timing) => runTorch(exe, env, data, cells, threads, timing);
      return { available: true, python: exe, tunedMalloc, ...versions, run };
    }
    tried.push(`${exe}: ${r.error?.code ?? (r.stderr.trim().split('\n').pop() || `exit ${r.status}`)}`);
  }
  return { available: false, reason: `not installed (${tried.join('; ')})` };
}

function writeData(dir, data) {
  const bytes = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  writeFileSync(join(dir, 'logits.f32'), bytes(data.logits));
  if (data.size.kind === 'sigmoid') writeFileSync(join(dir, 'targets.f32'), bytes(data.targetsF32));
  else writeFileSync(join(dir, 'labels.i32'), bytes(data.labels));
}

/** Times `cells` ({gamma, gradient}) at each thread count; returns [{threads, gamma, gradient, ms, runs, warmup}]. */
function runTorch(exe, env, data, cells, threads, timing) {
  const dir = mkdtempSync(join(tmpdir(), 'focal-bench-'));
  try {
    writeData(dir, data);
    const { size } = data;
    const spec = {
      kind: size.kind,
      dir,
      rows: size.rows,
      classes: size.classes,
      alpha: SIGMOID_ALPHA,
      cells,
      threads,
      timing: { ...timing, prefixDivisor: PREFIX_DIVISOR },
    };
    const r = python(exe, [], JSON.stringify(spec), env);
    if (r.status !== 0)
      throw new Error(`torch_bench.py failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()).results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
