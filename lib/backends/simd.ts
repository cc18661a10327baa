/**
 * The instruction set of the native kernels: by default the best the CPU has; FOCAL_LOSS_SIMD
 * (lib/environment.ts) caps it for the process (FOCAL_LOSS_SIMD=scalar forces the portable path), and the `simd` option picks
 * one level for a call (for tests and diagnosis). Results agree across levels within docs/NUMERICS.md's
 * contract; they are not bit-identical (sums are vectorized differently).
 */
import { rangeError, typeError } from '../facade/validate.js';

export const SIMD_NAMES = ['scalar', 'neon', 'avx2', 'avx512'] as const;
export type SimdName = (typeof SIMD_NAMES)[number];

/** What the addon reports: the levels this CPU runs, by name, with the addon's level numbers. */
export type SimdLevels = Partial<Record<SimdName, number>>;

/** The level to use when a call does not say: the best available one not above `cap` (FOCAL_LOSS_SIMD). */
export function defaultSimd(available: SimdLevels, cap: SimdName | undefined): SimdName {
  const limit = cap ? SIMD_NAMES.indexOf(cap) : SIMD_NAMES.length - 1;
  let best: SimdName = 'scalar';
  for (const name of SIMD_NAMES) {
    if (available[name] !== undefined && SIMD_NAMES.indexOf(name) <= limit) best = name;
  }
  return best;
}

const SIMD_LIST = SIMD_NAMES.map((n) => `'${n}'`).join(', ');

/** The `simd` option as the addon's level number; the JS backend has no levels and ignores it. */
export function readSimd(value: unknown, available: SimdLevels | null, fallback: SimdName): number {
  if (value !== undefined && typeof value !== 'string') throw typeError(`one of ${SIMD_LIST}`, 'options.simd', value);
  if (value !== undefined && !(SIMD_NAMES as readonly string[]).includes(value)) {
    throw rangeError(`one of ${SIMD_LIST}`, 'options.simd', value);
  }
  if (!available) return -1;
  const name = (value ?? fallback) as SimdName;
  const level = available[name];
  if (level === undefined) {
    const have = Object.keys(available)
      .map((n) => `'${n}'`)
      .join(', ');
    throw rangeError(`a level this CPU runs (${have})`, 'options.simd', value);
  }
  return level;
}
