// PyTorch CPU, when a Python with torch is installed (Debian: apt-get install python3-torch
// python3-torchvision). The data sets are written to temporary files and bench/torch_bench.py times
// every cell at each thread count (torch.set_num_threads) and answers in JSON. Each run chooses
// glibc's malloc settings: tuned (TUNED_MALLOC, the bench's `torch` rows) or the default ones (the
// `torch-default-malloc` rows: PyTorch as it comes).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
 * (jemalloc/tcmalloc) for the same reason; this is the glibc equivalent.
 */
export const TUNED_MALLOC = { MALLOC_MMAP_THRESHOLD_: '4294967296', MALLOC_TRIM_THRESHOLD_: '4294967296' };

/** Pythons tried in order: --python, $FOCAL_BENCH_PYTHON, Debian's (where python3-torch installs), PATH's. */
function candidates(preferred) {
  return [preferred, process.env.FOCAL_BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
}

function python(exe, args, input, env = process.env) {
  return spawnSync(exe, [script, ...args], { input, env, encoding: 'utf8', maxBuffer: 1 << 24 });
}

/**
 * { available, reason?, python, torch, torchvision, formula, run(data, cells, threads, timing,
 * tunedMalloc), perCall(sets, cells, options) }.
 */
export function loadTorch(preferredPython) {
  const tried = [];
  for (const exe of candidates(preferredPython)) {
    const r = python(exe, ['--versions']);
    if (r.status === 0) {
      const versions = JSON.parse(r.stdout.trim().split('\n').pop());
      const env = (tunedMalloc) => (tunedMalloc ? { ...process.env, ...TUNED_MALLOC } : process.env);
      return {
        available: true,
        python: exe,
        ...versions,
        /** Times `cells` ({gamma, gradient}) at each thread count: [{requested, threads, gamma, gradient, ms, runs, warmup, loss}]. */
        run: (data, cells, threads, timing, tunedMalloc) =>
          runSets(exe, env(tunedMalloc), [data], {
            cells,
            threads,
            timing: { ...timing, prefixDivisor: PREFIX_DIVISOR },
          })[0],
        /** Time per call of `cells` on each data set, 1 thread, tuned malloc: per set [{gamma, gradient, us, ...}]. */
        perCall: (sets, cells, options) => runSets(exe, env(true), sets, { cells, threads: [1], perCall: options }),
      };
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

/** One torch_bench.py run over several data sets with the same `common` spec fields; its results per set. */
function runSets(exe, env, sets, common) {
  const dir = mkdtempSync(join(tmpdir(), 'focal-bench-'));
  try {
    const specs = sets.map((data, i) => {
      const folder = join(dir, String(i));
      mkdirSync(folder);
      writeData(folder, data);
      const { size } = data;
      return { kind: size.kind, dir: folder, rows: size.rows, classes: size.classes, alpha: SIGMOID_ALPHA, ...common };
    });
    const r = python(exe, [], JSON.stringify({ sets: specs }), env);
    if (r.status !== 0)
      throw new Error(`torch_bench.py failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()).sets.map((set) => set.results);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
