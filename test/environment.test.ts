// The environment variables (lib/environment.ts): what each accepts, and that a bad value is an
// error of the first call that needs it, never of `import` (each case in a child process, so the
// variable is read by a fresh package). The children import the compiled package (dist/), which
// `npm test` builds first.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseBackend, parseNativePath, parseNumThreads, parseSimd } from '../lib/environment.js';
import { defaultSimd } from '../lib/backends/simd.js';
import { root } from './loader-child.js';

const ENV_NAMES = ['FOCAL_LOSS_BACKEND', 'FOCAL_LOSS_NATIVE_PATH', 'FOCAL_LOSS_SIMD', 'FOCAL_LOSS_NUM_THREADS'];

/**
 * Runs `body` after importing the package (`esm`: dist/index.js by import(); else dist/cjs by
 * require()) with only `env` of the package's variables set; `body` prints JSON lines.
 */
function withEnvironment(env: Record<string, string>, body: string, esm = true) {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !ENV_NAMES.includes(name)));
  const load = esm
    ? `lib = await import(${JSON.stringify(pathToFileURL(join(root, 'dist', 'index.js')).href)});`
    : `lib = require(${JSON.stringify(join(root, 'dist', 'cjs', 'index.js'))});`;
  // Each step says whether it returned, threw (synchronously) or rejected, and with what.
  const code = `
    const report = (step, outcome) => console.log(JSON.stringify({ step, ...outcome }));
    const failure = (e) => ({ name: e.name, message: e.message, code: e.code });
    (async () => {
      let lib;
      try {
        ${load}
        report('import', { ok: true });
      } catch (e) {
        report('import', { thrown: failure(e) });
        return;
      }
      const step = async (name, fn) => {
        try {
          const value = fn();
          if (value && typeof value.then === 'function') {
            try { report(name, { ok: true, value: await value }); } catch (e) { report(name, { rejected: failure(e) }); }
          } else report(name, { ok: true, value });
        } catch (e) {
          report(name, { thrown: failure(e) });
        }
      };
      ${body}
    })();`;
  const r = spawnSync(process.execPath, esm ? ['--input-type=module', '-e', code] : ['-e', code], {
    env: { ...inherited, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .map(({ step, ...outcome }) => [step, outcome]),
  );
}

const sigmoidCall = `() => lib.sigmoidFocalLoss(new Float64Array([0]), new Uint8Array([1]), { gamma: 0, alpha: null }).loss`;
const threadsError = {
  name: 'Error',
  message: "focal-loss: FOCAL_LOSS_NUM_THREADS must be an integer in [1, 1024], but is 'abc'",
};

describe('a bad variable is an error of the first call that needs it, not of import', () => {
  for (const esm of [true, false]) {
    it(`FOCAL_LOSS_NUM_THREADS=abc (${esm ? 'ESM' : 'CJS'}): import works; a call without threads throws, one with threads computes`, () => {
      const steps = withEnvironment(
        { FOCAL_LOSS_NUM_THREADS: 'abc' },
        `await step('with threads', () => lib.sigmoidFocalLoss(new Float64Array([0]), new Uint8Array([1]), { gamma: 0, alpha: null, threads: 2 }).loss);
         await step('first call', ${sigmoidCall});
         await step('second call', ${sigmoidCall});
         await step('async', () => lib.softmaxFocalLossAsync([0, 0], [1], { numClasses: 2 }));
         await step('backend', () => lib.backend());`,
        esm,
      );
      expect(steps.import).toEqual({ ok: true });
      expect(steps['with threads'].value).toBeCloseTo(Math.LN2, 15);
      expect(steps['first call']).toEqual({ thrown: threadsError });
      expect(steps['second call']).toEqual({ thrown: threadsError });
      expect(steps.async).toEqual({ rejected: threadsError });
      expect(steps.backend).toEqual({ thrown: threadsError });
    });
  }

  it('FOCAL_LOSS_BACKEND=jss: import works; every call throws (async ones reject) the same error', () => {
    const error = {
      name: 'Error',
      message: "focal-loss: FOCAL_LOSS_BACKEND must be 'native', 'js' or 'auto', but is 'jss'",
    };
    const steps = withEnvironment(
      { FOCAL_LOSS_BACKEND: 'jss' },
      `await step('backend', () => lib.backend());
       await step('sync', ${sigmoidCall});
       await step('async', () => lib.sigmoidFocalLossAsync([0], [1]));`,
    );
    expect(steps).toEqual({
      import: { ok: true },
      backend: { thrown: error },
      sync: { thrown: error },
      async: { rejected: error },
    });
  });

  it('FOCAL_LOSS_BACKEND=native without an addon: import works; the first call throws the load error', () => {
    const steps = withEnvironment(
      { FOCAL_LOSS_BACKEND: 'native', FOCAL_LOSS_NATIVE_PATH: join(root, 'no-such-addon.node') },
      `await step('sync', ${sigmoidCall});
       await step('async', () => lib.softmaxFocalLossAsync([0, 0], [1], { numClasses: 2 }));
       await step('backend', () => lib.backend());`,
    );
    expect(steps.import).toEqual({ ok: true });
    expect(steps.sync.thrown.name).toBe('Error');
    expect(steps.sync.thrown.message).toContain('FOCAL_LOSS_BACKEND=native but the native addon not loaded');
    expect(steps.async).toEqual({ rejected: steps.sync.thrown });
    expect(steps.backend).toEqual({ thrown: steps.sync.thrown });
  });

  it('FOCAL_LOSS_SIMD=sse9: import works; with the addon, the first call throws; with FOCAL_LOSS_BACKEND=js it is never read', () => {
    const error = {
      name: 'Error',
      message: "focal-loss: FOCAL_LOSS_SIMD must be one of scalar, neon, avx2, avx512, but is 'sse9'",
    };
    const body = `await step('backend', () => lib.backend().name); await step('sync', ${sigmoidCall});`;
    const js = withEnvironment({ FOCAL_LOSS_SIMD: 'sse9', FOCAL_LOSS_BACKEND: 'js' }, body);
    expect(js).toEqual({ import: { ok: true }, backend: { ok: true, value: 'js' }, sync: js.sync });
    expect(js.sync.value).toBeCloseTo(Math.LN2, 15);
    const auto = withEnvironment({ FOCAL_LOSS_SIMD: 'sse9' }, body);
    expect(auto.import).toEqual({ ok: true });
    if (auto.backend.ok) {
      expect(auto.backend.value).toBe('js'); // no addon here: nothing reads FOCAL_LOSS_SIMD
    } else {
      expect(auto).toEqual({ import: { ok: true }, backend: { thrown: error }, sync: { thrown: error } });
    }
  });
});

describe('what each variable accepts', () => {
  it('FOCAL_LOSS_BACKEND: auto (also unset or empty), native or js', () => {
    expect(() => parseBackend('jss')).toThrow(/FOCAL_LOSS_BACKEND must be 'native', 'js' or 'auto', but is 'jss'/);
    expect(parseBackend(undefined)).toBe('auto');
    expect(parseBackend('')).toBe('auto');
    expect(parseBackend('auto')).toBe('auto');
    expect(parseBackend('native')).toBe('native');
    expect(parseBackend('js')).toBe('js');
  });

  it('FOCAL_LOSS_NATIVE_PATH: any path; empty means none', () => {
    expect(parseNativePath(undefined)).toBeUndefined();
    expect(parseNativePath('')).toBeUndefined();
    expect(parseNativePath('build/x.node')).toBe('build/x.node');
  });

  it('FOCAL_LOSS_NUM_THREADS must be an integer in [1, 1024]; unset means the number of cores', () => {
    expect(parseNumThreads('3')).toBe(3);
    expect(parseNumThreads('')).toBeGreaterThanOrEqual(1);
    expect(parseNumThreads(undefined)).toBe(parseNumThreads(''));
    for (const bad of ['0', '-2', '1.5', 'two', '5000']) {
      expect(() => parseNumThreads(bad)).toThrow(
        `FOCAL_LOSS_NUM_THREADS must be an integer in [1, 1024], but is '${bad}'`,
      );
    }
  });

  it('FOCAL_LOSS_SIMD caps the instruction set and rejects unknown names', () => {
    const levels = { scalar: 0, avx2: 2, avx512: 3 };
    expect(parseSimd(undefined)).toBeUndefined();
    expect(parseSimd('')).toBeUndefined();
    expect(defaultSimd(levels, parseSimd(undefined))).toBe('avx512');
    expect(defaultSimd(levels, parseSimd('avx2'))).toBe('avx2');
    expect(defaultSimd(levels, parseSimd('scalar'))).toBe('scalar');
    expect(defaultSimd({ scalar: 0, avx2: 2 }, parseSimd('avx512'))).toBe('avx2');
    expect(() => parseSimd('sse9')).toThrow("FOCAL_LOSS_SIMD must be one of scalar, neon, avx2, avx512, but is 'sse9'");
  });
});
