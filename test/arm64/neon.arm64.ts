/**
 * The linux-arm64 prebuild, run by the arm64 Node under qemu-aarch64: every kernel at every SIMD
 * level the arm64 build has (scalar and neon), against the exact reference (test/reference.ts) at
 * docs/NUMERICS.md's tolerances. `npm run test:arm64` (vitest.arm64.config.ts), after `npm run
 * prebuildify` with the aarch64 cross compiler; CI runs it as a step of its own.
 *
 * Covered, float32 and float64 each:
 *   - sigmoid: hard targets (Uint8Array, Int8Array), soft targets (the logits' float type); integer
 *     gammas (the power by multiplication) and general ones (pow); alpha and none; vector tails;
 *   - softmax: hard labels (Int32Array with an ignored sample, Uint8Array, Int16Array) through the
 *     tiled kernel (C <= 32, rows in tiles of 16 with a tail) and the generic one (C > 32), soft
 *     targets, label smoothing; per-class alpha and scalar alpha;
 *   - threads: 'sum' losses and gradients bit-identical for 1, 2 and 3 threads, at each SIMD level;
 *   - an async call of each function: the same bits as the synchronous call.
 * The emulated process only computes (test/arm64/runner.mjs); the reference and the comparisons run
 * here, on the host. Inputs are small: emulation costs about 20x, and node itself starting under
 * qemu is most of the time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arm64Node, missing } from '../../scripts/arm64-node.mjs';
import { Checker, TOL, fmt, mulberry32, roundTo, type DType } from '../helpers.js';
import { refSigmoid, refSoftmax } from '../reference.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const prebuild = join(root, 'prebuilds', 'linux-arm64', 'focal-loss.glibc.node');
const work = mkdtempSync(join(tmpdir(), 'focal-loss-arm64-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Numbers = { type: string; data: string };
interface Case {
  id: string;
  fn: 'sigmoid' | 'softmax';
  dtype: DType;
  /** What the reference needs: the values as doubles, the shape, the options. */
  xs: number[];
  ts: number[];
  hard: boolean;
  C: number;
  logits: Numbers;
  targets: Numbers;
  options: Record<string, unknown>;
}

const ARRAYS = { Float32Array, Float64Array, Uint8Array, Int8Array, Int16Array, Int32Array } as const;
type ArrayName = keyof typeof ARRAYS;
const encode = (type: ArrayName, values: readonly number[]): Numbers => {
  const a = ARRAYS[type].from(values);
  return { type, data: Buffer.from(a.buffer).toString('base64') };
};
const floatType = (dtype: DType): ArrayName => (dtype === 'float32' ? 'Float32Array' : 'Float64Array');

/** Logits spread over the interesting ranges: both tails of the sigmoid, the middle, exact zero. */
function logitValues(dtype: DType, n: number, seed: number, spread: number): number[] {
  const random = mulberry32(seed);
  const fixed = [0, -0, 1e-8, -30, 30, -100, 100, 0.5, -17.25];
  return Array.from({ length: n }, (_, i) =>
    roundTo(dtype, i < fixed.length && spread > 20 ? fixed[i]! : (random() - 0.5) * spread),
  );
}

function sigmoidCases(): Case[] {
  const cases: Case[] = [];
  const n = 37; // NEON holds 2 doubles or 4 floats: 37 leaves a tail in every unroll
  for (const dtype of ['float32', 'float64'] as const) {
    for (const targets of ['Uint8Array', 'Int8Array', 'soft'] as const) {
      for (const gamma of [0, 1, 2, 1.5, 0.25]) {
        for (const alpha of [0.25, null]) {
          const seed = cases.length + 1;
          const xs = logitValues(dtype, n, seed, 60);
          const random = mulberry32(seed + 1000);
          const hard = targets !== 'soft';
          const ts = xs.map(() => (hard ? (random() < 0.4 ? 1 : 0) : roundTo(dtype, random())));
          cases.push({
            id: `sigmoid ${dtype} ${targets} gamma=${gamma} alpha=${alpha}`,
            fn: 'sigmoid',
            dtype,
            xs,
            ts,
            hard,
            C: 1,
            logits: encode(floatType(dtype), xs),
            targets: encode(hard ? targets : floatType(dtype), ts),
            options: { gamma, alpha, reduction: 'none', gradient: true },
          });
        }
      }
    }
  }
  return cases;
}

const TILED = [2, 3, 4, 10, 16, 17, 32];
const GENERIC = [33, 40];

function softmaxCases(): Case[] {
  const cases: Case[] = [];
  for (const dtype of ['float32', 'float64'] as const) {
    for (const C of [...TILED, ...GENERIC]) {
      // Tiled: one tile of 16 rows and a tail of 3. Generic: row by row, so a few rows do (and the
      // decimal reference of 40 classes is the slow part of the whole suite).
      const rows = C <= 32 ? 19 : 5;
      for (const labels of ['Int32Array', 'Uint8Array', 'Int16Array', 'soft', 'smoothed'] as const) {
        for (const gamma of labels === 'soft' || labels === 'smoothed' ? [2, 1.5] : [0, 2, 1.5]) {
          const seed = 5000 + cases.length;
          const random = mulberry32(seed);
          const xs = Array.from({ length: rows * C }, () => roundTo(dtype, (random() - 0.5) * 24));
          const hard = labels !== 'soft';
          let ts: number[];
          if (hard) {
            ts = Array.from({ length: rows }, () => Math.floor(random() * C));
            if (labels === 'Int32Array') ts[3] = -100; // ignored: no loss, zero gradient
          } else {
            ts = [];
            for (let r = 0; r < rows; r++) {
              const w = Array.from({ length: C }, () => random());
              const sum = w.reduce((a, b) => a + b, 0);
              ts.push(...w.map((v) => roundTo(dtype, v / sum)));
            }
          }
          const alpha = cases.length % 2 ? Array.from({ length: C }, (_, k) => 0.25 + (k % 4) * 0.25) : 0.5;
          const smoothing = labels === 'smoothed' ? 0.1 : 0;
          cases.push({
            id: `softmax ${dtype} C=${C} ${labels} gamma=${gamma} alpha=${Array.isArray(alpha) ? 'per-class' : alpha}`,
            fn: 'softmax',
            dtype,
            xs,
            ts,
            hard,
            C,
            logits: encode(floatType(dtype), xs),
            targets: encode(labels === 'soft' ? floatType(dtype) : labels === 'smoothed' ? 'Int32Array' : labels, ts),
            options: {
              numClasses: C,
              gamma,
              alpha,
              reduction: 'none',
              gradient: true,
              ...(smoothing ? { labelSmoothing: smoothing } : {}),
            },
          });
        }
      }
    }
  }
  return cases;
}

/** Larger inputs for the thread and async cases: several blocks, so the threads split the work. */
function bigCases(): Case[] {
  const random = mulberry32(77);
  const n = 40_003;
  const xs = Array.from({ length: n }, () => Math.fround((random() - 0.5) * 16));
  const ts = xs.map(() => (random() < 0.1 ? 1 : 0));
  const rows = 6_001;
  const C = 10;
  const zs = Array.from({ length: rows * C }, () => (random() - 0.5) * 10);
  const labels = Array.from({ length: rows }, () => (random() < 0.05 ? -100 : Math.floor(random() * C)));
  const C2 = 40;
  const rows2 = 1_501;
  const zs2 = Array.from({ length: rows2 * C2 }, () => Math.fround((random() - 0.5) * 10));
  const labels2 = Array.from({ length: rows2 }, () => Math.floor(random() * C2));
  const base = { reduction: 'sum', gradient: true } as const;
  return [
    {
      id: 'sigmoid float32, 40003 elements',
      fn: 'sigmoid',
      dtype: 'float32',
      xs: [],
      ts: [],
      hard: true,
      C: 1,
      logits: encode('Float32Array', xs),
      targets: encode('Uint8Array', ts),
      options: { ...base, gamma: 1.5 },
    },
    {
      id: 'softmax float64 C=10 (tiled), 6001 rows',
      fn: 'softmax',
      dtype: 'float64',
      xs: [],
      ts: [],
      hard: true,
      C,
      logits: encode('Float64Array', zs),
      targets: encode('Int32Array', labels),
      options: { ...base, numClasses: C },
    },
    {
      id: 'softmax float32 C=40 (generic), 1501 rows',
      fn: 'softmax',
      dtype: 'float32',
      xs: [],
      ts: [],
      hard: true,
      C: C2,
      logits: encode('Float32Array', zs2),
      targets: encode('Int32Array', labels2),
      options: { ...base, numClasses: C2, gamma: 2.5 },
    },
  ];
}

const cases = [...sigmoidCases(), ...softmaxCases()];
const threadCases = bigCases();
const asyncCases = [threadCases[0]!, threadCases[1]!];

interface Packed {
  loss: { number: string } | Numbers;
  grad: Numbers | null;
  count: number;
}
interface Results {
  backend: { name: string; simd: string; simdLevels: string[]; path: string };
  arch: string;
  ms: number;
  results: Record<string, Record<string, Packed>>;
  threads: Record<string, Record<string, Packed[]>>;
  asyncResults: Record<string, { async: Packed; sync: Packed }>;
}

const values = (v: Packed['loss'] | Numbers): number[] => {
  if ('number' in v) return [Number(v.number)];
  const bytes = Buffer.from(v.data, 'base64');
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return Array.from(new ARRAYS[v.type as ArrayName](copy.buffer));
};
/** Bit-exact comparison key of a result. */
const bits = (p: Packed) => `${JSON.stringify(p.loss)}|${p.grad ? p.grad.data : ''}|${p.count}`;

const why = missing() ?? (readFileSafe(prebuild) ? null : `missing: ${prebuild} (npm run prebuildify)`);
function readFileSafe(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
  }
}

let out: Results;
let seconds = 0;

describe('the linux-arm64 prebuild under qemu-aarch64', () => {
  // In CI a missing emulator or prebuild is a failure: a skipped suite would hide a broken NEON build.
  if (why && !process.env.CI) {
    it.skip(`skipped here (${why}); CI installs them`, () => {});
    return;
  }

  beforeAll(() => {
    if (why) throw new Error(`cannot run the arm64 suite: ${why}`);
    const casesFile = join(work, 'cases.json');
    const resultsFile = join(work, 'results.json');
    writeFileSync(casesFile, JSON.stringify({ cases, threadCases, asyncCases }));
    const [cmd, ...args] = arm64Node(
      join(root, 'test', 'arm64', 'runner.mjs'),
      pathToFileURL(join(root, 'dist', 'index.js')).href,
      casesFile,
      resultsFile,
    );
    const started = Date.now();
    const r = spawnSync(cmd!, args, {
      encoding: 'utf8',
      env: { ...process.env, FOCAL_LOSS_NATIVE_PATH: prebuild, FOCAL_LOSS_BACKEND: 'native', FOCAL_LOSS_SIMD: '' },
      timeout: 4 * 60_000,
    });
    seconds = (Date.now() - started) / 1000;
    if (r.status !== 0) throw new Error(`the emulated runner failed (${r.status ?? r.signal}):\n${r.stderr}`);
    out = JSON.parse(readFileSync(resultsFile, 'utf8')) as Results;
    const levels = out.backend.simdLevels.length;
    const total = cases.length * levels + threadCases.length * levels * 3 + asyncCases.length * 2;
    console.log(
      `arm64 suite: ${cases.length} accuracy cases x ${levels} SIMD levels (${out.backend.simdLevels.join(', ')}), ` +
        `${threadCases.length} thread cases x ${levels} levels x 3 thread counts, ${asyncCases.length} async cases: ` +
        `${total} emulated calls in ${seconds.toFixed(1)} s (${(out.ms / 1000).toFixed(1)} s computing)`,
    );
  });

  it('the arm64 Node loaded the prebuild: native, NEON, levels scalar and neon', () => {
    expect(out.arch).toBe('arm64');
    expect(out.backend).toMatchObject({ name: 'native', simd: 'neon', simdLevels: ['scalar', 'neon'], path: prebuild });
  });

  it.each(['scalar', 'neon'])('%s: every accuracy case against the exact reference', (simd) => {
    const checkers = { float32: new Checker(TOL.float32), float64: new Checker(TOL.float64) };
    for (const c of cases) {
      const got = out.results[c.id]![simd]!;
      const loss = values(got.loss);
      const grad = values(got.grad!);
      const check = checkers[c.dtype];
      const gamma = c.options.gamma as number;
      if (c.fn === 'sigmoid') {
        const alpha = c.options.alpha as number | null;
        c.xs.forEach((x, i) => {
          const t = c.ts[i]!;
          const ref = refSigmoid(x, t, { gamma, alpha });
          const what = () => `${simd} ${c.id} x=${fmt(x)} t=${fmt(t)}`;
          check.close(() => `${what()} loss`, loss[i]!, ref.loss);
          check.close(() => `${what()} grad`, grad[i]!, ref.grad, c.hard ? 0 : ref.gradScale);
        });
      } else {
        const C = c.C;
        const alpha = c.options.alpha as number | number[];
        const labelSmoothing = (c.options.labelSmoothing as number | undefined) ?? 0;
        const rows = c.xs.length / C;
        for (let r = 0; r < rows; r++) {
          const z = c.xs.slice(r * C, (r + 1) * C);
          const target = c.hard ? c.ts[r]! : c.ts.slice(r * C, (r + 1) * C);
          const what = () => `${simd} ${c.id} row ${r}`;
          if (target === -100) {
            check.ok(() => `${what()}: ignored`, loss[r] === 0 && z.every((_, k) => grad[r * C + k] === 0));
            continue;
          }
          const ref = refSoftmax(z, target, { gamma, alpha, labelSmoothing });
          check.close(() => `${what()} loss`, loss[r]!, ref.loss);
          const plain = c.hard && !labelSmoothing;
          for (let k = 0; k < C; k++) {
            check.close(() => `${what()} grad[${k}]`, grad[r * C + k]!, ref.grad[k]!, plain ? 0 : ref.gradScale[k]!);
          }
        }
      }
    }
    checkers.float32.assert();
    checkers.float64.assert();
    console.log(`arm64 ${simd}: ${checkers.float32.checked + checkers.float64.checked} values checked`);
  });

  it('neon differs from scalar only within the tolerance (both checked above), and is not scalar in disguise', () => {
    // At least one case must differ in its bits, or the neon level ran the scalar kernels.
    const differs = cases.some((c) => bits(out.results[c.id]!.neon!) !== bits(out.results[c.id]!.scalar!));
    expect(differs).toBe(true);
  });

  it.each(threadCases.map((c) => c.id))('%s: the same bits for 1, 2 and 3 threads at each level', (id) => {
    for (const simd of out.backend.simdLevels) {
      const [one, ...more] = out.threads[id]![simd]!;
      for (const r of more) expect(bits(r), `${simd}`).toBe(bits(one!));
      expect(Number.isFinite(values(one!.loss)[0]), `${simd} loss`).toBe(true);
    }
  });

  it.each(asyncCases.map((c) => c.id))('%s: the async call gives the bits of the synchronous one', (id) => {
    const { async, sync } = out.asyncResults[id]!;
    expect(bits(async)).toBe(bits(sync));
  });
});
