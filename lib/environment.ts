/**
 * The library's environment variables, and the only module of lib/ that reads `process.env` (eslint
 * forbids it elsewhere). Each variable is read when it is first needed, never at import, so a bad
 * value cannot make `import 'focal-loss'` throw; what it gave (its value, or its error, thrown again
 * by every later use) is kept for the life of the process, as a value read at import was before.
 *
 * - FOCAL_LOSS_BACKEND: which implementation computes. Unset, '' or 'auto': the native addon when it
 *   loads, JavaScript otherwise; 'native': the addon or an error (CI runs the tests this way, so a
 *   broken build cannot hide); 'js': JavaScript. Read when the implementation is chosen, at the first
 *   call of a loss function or of backend().
 * - FOCAL_LOSS_NATIVE_PATH: the addon file to load instead of the package's own builds (a build kept
 *   elsewhere, such as the sanitizer build, or a test's broken file). Any path; unset or '': none.
 *   Read with FOCAL_LOSS_BACKEND, unless that is 'js'.
 * - FOCAL_LOSS_SIMD: the highest instruction set the native kernels use by default, one of
 *   SIMD_NAMES ('scalar' forces the portable path); unset or '': the best this CPU has. Read when
 *   the addon has loaded (the JS backend has no levels and never reads it).
 * - FOCAL_LOSS_NUM_THREADS: the default `threads` of every call, an integer in [1, MAX_THREADS];
 *   unset or '': the number of cores. Read at the first loss call without a `threads` option or at
 *   the first backend(), whichever comes first.
 *
 * Read elsewhere, not by the library's TypeScript: FOCAL_LOSS_TEST_NO_EXTERNAL_BUFFERS by the addon
 * (native/binding/addon.cpp, test-only), FOCAL_LOSS_DEBUG by the CLI (cli/main.ts), and the install,
 * pack and fuzz scripts' own variables by those scripts.
 */
import { availableParallelism } from 'node:os';
import { MAX_THREADS } from './backends/protocol.js';
import { SIMD_NAMES, type SimdName } from './backends/simd.js';

export type BackendChoice = 'auto' | 'native' | 'js';

export function parseBackend(value: string | undefined): BackendChoice {
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if (value === 'native' || value === 'js') return value;
  throw new Error(`focal-loss: FOCAL_LOSS_BACKEND must be 'native', 'js' or 'auto', but is '${value}'`);
}

export function parseNativePath(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

/** undefined: no cap. */
export function parseSimd(value: string | undefined): SimdName | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(SIMD_NAMES as readonly string[]).includes(value)) {
    throw new Error(`focal-loss: FOCAL_LOSS_SIMD must be one of ${SIMD_NAMES.join(', ')}, but is '${value}'`);
  }
  return value as SimdName;
}

export function parseNumThreads(value: string | undefined): number {
  if (value === undefined || value === '') return availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new Error(`focal-loss: FOCAL_LOSS_NUM_THREADS must be an integer in [1, ${MAX_THREADS}], but is '${value}'`);
  }
  return n;
}

/**
 * `compute` run on the first call, its outcome (a value, or an error thrown again) on every later
 * one; the settings below and lib/index.ts's choice of backend are made once per process this way.
 */
export function once<T>(compute: () => T): () => T {
  let outcome: { value: T } | { error: unknown } | undefined;
  return () => {
    if (outcome === undefined) {
      try {
        outcome = { value: compute() };
      } catch (error) {
        outcome = { error };
      }
    }
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  };
}

export const backendSetting = once(() => parseBackend(process.env.FOCAL_LOSS_BACKEND));
export const nativePathSetting = once(() => parseNativePath(process.env.FOCAL_LOSS_NATIVE_PATH));
export const simdSetting = once(() => parseSimd(process.env.FOCAL_LOSS_SIMD));
export const numThreadsSetting = once(() => parseNumThreads(process.env.FOCAL_LOSS_NUM_THREADS));
