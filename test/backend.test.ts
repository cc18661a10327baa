// backend() and FOCAL_LOSS_BACKEND: which implementation runs, and why.
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { addonCandidates } from '../lib/backends/native/loader.js';

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
});

// What each variable accepts: test/environment.test.ts.
