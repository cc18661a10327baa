// The run-time dispatch proven, not assumed: the addon built on this (AVX-512) machine is loaded by
// node running under qemu-user with older CPU models, and must pick the level that CPU has and compute
// what the portable path computes here. And the static side: in the built addon, code beyond baseline
// x86-64 lives only in the per-ISA kernels (scripts/check-isa.mjs; docs/PORTABILITY.md).
//
// x86-64 with the native backend only; the emulated part needs qemu-x86_64 (Debian: qemu-user) and
// is skipped, saying so, without it.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { nativeBackend } from './backends.js';
import { entry, root } from './loader-child.js';
import { beyondBaseline, checkDisassembly } from '../scripts/check-isa.mjs';

const x64 = process.arch === 'x64';
// Under the sanitizer runs (scripts/test-asan.sh --full preloads the ASan runtime into every child)
// qemu would be preloaded too: the emulated part is for plain builds.
const preloaded = Boolean(process.env.LD_PRELOAD);
const qemu = x64 && !preloaded && spawnSync('qemu-x86_64', ['--version'], { encoding: 'utf8' }).status === 0;
if (x64 && nativeBackend && !qemu && !preloaded) {
  console.warn('isa.test: qemu-x86_64 not found, the emulated CPUs are skipped');
}
const { backend } = await import('../lib/index.js');
// The addon this process loaded (FOCAL_LOSS_NATIVE_PATH, build/ or prebuilds/). A prebuild is
// stripped (prebuildify --strip): no symbol names to tell the per-ISA code by, so no static check.
const addon = nativeBackend ? backend().path : undefined;
const stripped = addon !== undefined && /[\\/]prebuilds[\\/]/.test(addon);

// One sigmoid and one softmax call per gamma kind (integer: repeated squaring; general: exp/log), with
// lengths that leave vector tails and cross the sigmoid's 256-element chunk; float64, gradients on.
const PROBE = `
  const { backend, sigmoidFocalLoss, softmaxFocalLoss } = await import(${JSON.stringify(entry)});
  let s = 12345;
  const random = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const n = 300, N = 13, C = 11;
  const x = Float64Array.from({ length: n }, (_, i) => (i % 37 === 0 ? 40 : 1) * (random() - 0.5) * 30);
  const t = Uint8Array.from({ length: n }, () => (random() < 0.3 ? 1 : 0));
  const z = Float64Array.from({ length: N * C }, () => (random() - 0.5) * 20);
  const y = Int32Array.from({ length: N }, () => Math.floor(random() * C));
  const out = { backend: backend(), results: [] };
  for (const gamma of [2, 1.5]) {
    const a = sigmoidFocalLoss(x, t, { gamma, alpha: 0.25, reduction: 'none', gradient: true });
    const b = softmaxFocalLoss(z, y, { gamma, numClasses: C, reduction: 'none', gradient: true });
    for (const r of [a, b]) out.results.push([...r.loss], [...r.grad]);
  }
  console.log(JSON.stringify(out));`;

interface Probe {
  backend: { name: string; simd: string; simdLevels: string[] };
  results: number[][];
}

/** Runs the probe in node, under qemu-x86_64 -cpu `cpu` when given. */
function probe(cpu: string | null, env: Record<string, string> = {}): Probe {
  const node = [process.execPath, '--input-type=module', '-e', PROBE];
  const [cmd, ...args] = cpu ? ['qemu-x86_64', '-cpu', cpu, ...node] : node;
  const { FOCAL_LOSS_SIMD, ...rest } = process.env;
  void FOCAL_LOSS_SIMD;
  const result = spawnSync(cmd!, args, {
    cwd: root,
    env: { ...rest, FOCAL_LOSS_BACKEND: 'native', ...env },
    encoding: 'utf8',
    timeout: 90_000,
  });
  if (result.status !== 0) {
    throw new Error(
      `probe on ${cpu ?? 'this CPU'}: status ${result.status}, signal ${result.signal}\n${result.stderr}`,
    );
  }
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as Probe;
}

function expectClose(actual: number[][], expected: number[][]) {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  actual.forEach((row, i) => {
    expect(row.length).toBe(expected[i]!.length);
    row.forEach((v, j) => {
      const e = expected[i]![j]!;
      worst = Math.max(worst, Math.abs(v - e) / Math.max(Math.abs(e), Number.MIN_VALUE));
    });
  });
  expect(worst).toBeLessThanOrEqual(1e-12); // docs/NUMERICS.md's float64 contract
}

describe.skipIf(!x64 || !nativeBackend)('ISA separation (x86-64)', () => {
  it('flags AVX encodings, wide registers and post-SSE2 instructions, and passes SSE2', () => {
    expect(beyondBaseline('vfmadd231pd %xmm1,%xmm2,%xmm3')).toBe('VEX/EVEX encoding');
    expect(beyondBaseline('kmovw %k1,%eax')).toBe('ymm/zmm/mask register');
    expect(beyondBaseline('popcnt %rdi,%rax')).toBe('beyond SSE2');
    expect(beyondBaseline('roundsd $0x9,%xmm0,%xmm1')).toBe('beyond SSE2');
    expect(beyondBaseline('lock cmpxchg %rdx,(%rdi)')).toBeNull();
    expect(beyondBaseline('mulsd  %xmm1,%xmm0')).toBeNull();
    expect(beyondBaseline('verw   %ax')).toBeNull();
    // A baseline function with one AVX-512 instruction fails; the same code in focal::avx512 passes.
    const text = (name: string) => `0000000000001000 <${name}>:\n    1000:\tvaddpd %zmm1,%zmm2,%zmm3\n    1006:\tret\n`;
    expect(checkDisassembly(text('_ZN5focal12sigmoid_hostEv')).offenders).toHaveLength(1);
    expect(checkDisassembly(text('_ZN5focal6avx51213sigmoid_blockIddEEvv')).offenders).toHaveLength(0);
  });

  it.skipIf(stripped)(
    'the built addon has AVX code only in focal::avx2 and focal::avx512 (scripts/check-isa.mjs)',
    () => {
      const run = spawnSync(process.execPath, ['scripts/check-isa.mjs', addon!], { cwd: root, encoding: 'utf8' });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
    },
  );

  describe.skipIf(!qemu)('under qemu-user, on CPUs without AVX-512 or AVX2', () => {
    const scalarHere = probe(null, { FOCAL_LOSS_SIMD: 'scalar' });

    // qemu64 (x86-64 with SSE3, no SSSE3) is the oldest model node runs on.
    it('without AVX (qemu64): loads, chooses scalar, and computes what scalar computes here', () => {
      const old = probe('qemu64');
      expect(old.backend.name).toBe('native');
      expect(old.backend.simd).toBe('scalar');
      expect(old.backend.simdLevels).toEqual(['scalar']);
      expectClose(old.results, scalarHere.results);
    }, 120_000);

    // qemu's TCG has AVX2 but no AVX-512: Haswell is that machine.
    it('with AVX2 and no AVX-512 (Haswell): chooses avx2, within the contract of scalar', () => {
      const haswell = probe('Haswell');
      expect(haswell.backend.simd).toBe('avx2');
      expect(haswell.backend.simdLevels).toEqual(['scalar', 'avx2']);
      expectClose(haswell.results, scalarHere.results);
    }, 120_000);
  });
});
