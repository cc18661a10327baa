// backend() and FOCAL_LOSS_BACKEND: which implementation runs, and why.
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { addonCandidates, backendChoice } from '../lib/backends/native/loader.js';

async function freshIndex() {
  vi.resetModules();
  return import('../lib/index.js');
}

describe('backend selection', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('FOCAL_LOSS_BACKEND=js forces the JS implementation and says so', async () => {
    vi.stubEnv('FOCAL_LOSS_BACKEND', 'js');
    const { backend, sigmoidFocalLoss } = await freshIndex();
    expect(backend()).toEqual({
      name: 'js',
      openmp: false,
      threads: 1,
      simd: 'scalar',
      simdLevels: ['scalar'],
      loadError: 'disabled by FOCAL_LOSS_BACKEND=js',
    });
    expect(sigmoidFocalLoss(new Float64Array([0]), new Uint8Array([1]), { alpha: null, gamma: 0 }).loss).toBeCloseTo(
      Math.LN2,
      15,
    );
  });

  it('uses the native addon when it is built, unless told otherwise', async () => {
    vi.stubEnv('FOCAL_LOSS_BACKEND', '');
    const { backend } = await freshIndex();
    const built = addonCandidates().some((path) => existsSync(path));
    expect(backend().name).toBe(built ? 'native' : 'js');
    if (!built) expect(backend().loadError).toMatch(/not found/);
  });

  // CI runs the whole suite once with FOCAL_LOSS_BACKEND=native; there the addon must be in use.
  it.runIf(process.env.FOCAL_LOSS_BACKEND === 'native')('reports native under FOCAL_LOSS_BACKEND=native', async () => {
    const { backend } = await freshIndex();
    expect(backend().name).toBe('native');
    expect(backend().loadError).toBeUndefined();
  });

  it('rejects an unknown FOCAL_LOSS_BACKEND value instead of guessing', () => {
    expect(() => backendChoice('jss')).toThrow(/FOCAL_LOSS_BACKEND must be 'native', 'js' or 'auto', but is 'jss'/);
    expect(backendChoice('')).toBe('auto');
    expect(backendChoice('auto')).toBe('auto');
    expect(backendChoice('native')).toBe('native');
  });
});

describe('environment variables', () => {
  it('FOCAL_LOSS_NUM_THREADS must be an integer in [1, 1024]; unset means the number of cores', async () => {
    const { threadsFromEnvironment } = await import('../lib/facade/threads.js');
    expect(threadsFromEnvironment('3')).toBe(3);
    expect(threadsFromEnvironment('')).toBeGreaterThanOrEqual(1);
    for (const bad of ['0', '-2', '1.5', 'two', '5000']) {
      expect(() => threadsFromEnvironment(bad)).toThrow(
        `FOCAL_LOSS_NUM_THREADS must be an integer in [1, 1024], but is '${bad}'`,
      );
    }
  });

  it('FOCAL_LOSS_SIMD caps the instruction set and rejects unknown names', async () => {
    const { defaultSimd } = await import('../lib/backends/simd.js');
    const levels = { scalar: 0, avx2: 2, avx512: 3 };
    expect(defaultSimd(levels, undefined)).toBe('avx512');
    expect(defaultSimd(levels, 'avx2')).toBe('avx2');
    expect(defaultSimd(levels, 'scalar')).toBe('scalar');
    expect(defaultSimd({ scalar: 0, avx2: 2 }, 'avx512')).toBe('avx2');
    expect(() => defaultSimd(levels, 'sse9')).toThrow(
      "FOCAL_LOSS_SIMD must be one of scalar, neon, avx2, avx512, but is 'sse9'",
    );
  });
});
