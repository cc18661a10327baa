/** Shared helpers of the numeric suites: seeded RNG, dtypes, tolerance checks with readable failures. */
import { expect } from 'vitest';
import type { FloatArray, FocalLossResult } from '../lib/types.js';

// The seeded PRNG of the tests is the demo's: the demo ships in the package and must not import
// from test/, so the one definition lives there.
export { mulberry32 } from '../demo/data.mjs';

export const uniform = (rng: () => number, lo: number, hi: number): number => lo + (hi - lo) * rng();

export type DType = 'float64' | 'float32';
export const DTYPES: DType[] = ['float64', 'float32'];

/** Round a double to the dtype (float32 values are then exactly representable inputs). */
export const roundTo = (dtype: DType, x: number): number => (dtype === 'float32' ? Math.fround(x) : x);

export function makeArray(dtype: DType, values: readonly number[]): Float32Array | Float64Array {
  return dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
}

export interface Tolerance {
  /** Relative tolerance. */
  rel: number;
  /** Absolute tolerance allowed when the reference is below the dtype's normal range. */
  absBelowNormal: number;
  normalMin: number;
  round: (x: number) => number;
}

export const TOL: Record<DType, Tolerance> = {
  float64: { rel: 1e-12, absBelowNormal: 1e-300, normalMin: 2.2250738585072014e-308, round: (x) => x },
  float32: { rel: 1e-6, absBelowNormal: 1e-36, normalMin: 1.1754943508222875e-38, round: Math.fround },
};

/**
 * Why `got` does not match `ref`, or null when it does.
 * Passes when |got - ref| <= rel * (|ref| + scale), or when the reference is below the dtype's normal
 * range and |got - ref| <= absBelowNormal. `scale` (default 0) is the magnitude of the terms that cancel
 * into `ref`, used only where cancellation is genuine (soft targets near a zero of the gradient).
 * NaN must match NaN; a reference that rounds to +-Infinity in the dtype must be that infinity.
 */
export function mismatch(got: number, ref: number, tol: Tolerance, scale = 0, relOverride?: number): string | null {
  if (Number.isNaN(ref)) return Number.isNaN(got) ? null : `expected NaN, got ${got}`;
  if (Number.isNaN(got)) return `got NaN, expected ${ref}`;
  const rounded = tol.round(ref);
  if (!Number.isFinite(rounded)) return got === rounded ? null : `expected ${rounded}, got ${got}`;
  if (!Number.isFinite(got)) return `got ${got}, expected ${ref}`;
  const err = Math.abs(got - ref);
  const rel = relOverride ?? tol.rel;
  if (err <= rel * (Math.abs(ref) + scale)) return null;
  if (Math.abs(ref) < tol.normalMin && err <= tol.absBelowNormal) return null;
  const relErr = ref === 0 ? Infinity : err / Math.abs(ref);
  return `got ${got}, expected ${ref} (rel err ${relErr.toExponential(2)}${scale ? `, scale ${scale.toExponential(2)}` : ''})`;
}

/** Collects mismatches over many elements and fails once, listing the first few. */
export class Checker {
  readonly failures: string[] = [];
  checked = 0;
  constructor(private readonly tol: Tolerance) {}

  /** Compare one value; `what` describes the case (inputs) for the failure message (lazily, if a function). */
  close(what: string | (() => string), got: number, ref: number, scale = 0, relOverride?: number): void {
    this.checked++;
    const m = mismatch(got, ref, this.tol, scale, relOverride);
    if (m) this.failures.push(`${typeof what === 'function' ? what() : what}: ${m}`);
  }

  /** A condition that must hold. */
  ok(what: string | (() => string), cond: boolean, detail = ''): void {
    this.checked++;
    if (!cond) this.failures.push(`${typeof what === 'function' ? what() : what}${detail ? `: ${detail}` : ''}`);
  }

  assert(): void {
    expect(this.checked, 'nothing was checked').toBeGreaterThan(0);
    const shown = this.failures.slice(0, 25).join('\n');
    expect(
      shown,
      `${this.failures.length} of ${this.checked} checks failed${this.failures.length > 25 ? ' (first 25 shown)' : ''}`,
    ).toBe('');
  }
}

/** Relative closeness for consistency checks between two outputs of the library. */
export function relClose(a: number, b: number, rel: number, abs = 0): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b)) + abs;
}

/** The loss of a reduction 'none' call as an array. */
export function lossArray(loss: unknown): Float32Array | Float64Array {
  if (!(loss instanceof Float32Array || loss instanceof Float64Array)) {
    throw new Error(`expected a typed-array loss for reduction 'none', got ${typeof loss}`);
  }
  return loss;
}

/** The loss of a reduced call as a number. */
export function lossNumber(loss: unknown): number {
  if (typeof loss !== 'number') throw new Error(`expected a number loss, got ${Object.prototype.toString.call(loss)}`);
  return loss;
}

export function gradArray(grad: unknown): Float32Array | Float64Array {
  if (!(grad instanceof Float32Array || grad instanceof Float64Array)) {
    throw new Error(`expected a typed-array gradient, got ${Object.prototype.toString.call(grad)}`);
  }
  return grad;
}

/**
 * The gradient of a float64 loss against central finite differences, step h = 1e-6 max(1, |x|):
 * truncation error ~h^2 |L'''|, rounding ~eps |L| / h, so the tolerance is 1e-6 relative plus
 * 1e-8 (1 + |L|). Returns the failing coordinates as readable strings (empty when all pass).
 */
export function gradcheck(f: (x: Float64Array) => { loss: unknown; grad?: unknown }, x0: Float64Array): string[] {
  const base = f(x0);
  const grad = gradArray(base.grad);
  if (grad.length !== x0.length) return [`a gradient of length ${grad.length} for ${x0.length} logits`];
  const L = Math.abs(lossNumber(base.loss));
  const fails: string[] = [];
  for (let i = 0; i < x0.length; i++) {
    const h = 1e-6 * Math.max(1, Math.abs(x0[i]!));
    const xp = Float64Array.from(x0);
    const xm = Float64Array.from(x0);
    xp[i] = x0[i]! + h;
    xm[i] = x0[i]! - h;
    const fd = (lossNumber(f(xp).loss) - lossNumber(f(xm).loss)) / (xp[i]! - xm[i]!);
    const err = Math.abs(fd - grad[i]!);
    if (!(err <= 1e-6 * Math.abs(grad[i]!) + 1e-8 * (1 + L))) {
      fails.push(`i=${i} x=${x0[i]}: analytic ${grad[i]}, finite difference ${fd} (err ${err.toExponential(2)})`);
    }
  }
  return fails;
}

/** Compact, exact printing of inputs in failure messages. */
export const fmt = (x: number): string => (Object.is(x, -0) ? '-0' : String(x));

export const GAMMAS = [0, 0.25, 0.5, 1, 1.5, 2, 3, 5, 16];

/** The integer typed arrays the package accepts for labels, with their value ranges. */
export const INT_ARRAYS = {
  Uint8Array: { Ctor: Uint8Array, min: 0, max: 255 },
  Uint8ClampedArray: { Ctor: Uint8ClampedArray, min: 0, max: 255 },
  Int8Array: { Ctor: Int8Array, min: -128, max: 127 },
  Uint16Array: { Ctor: Uint16Array, min: 0, max: 65535 },
  Int16Array: { Ctor: Int16Array, min: -32768, max: 32767 },
  Uint32Array: { Ctor: Uint32Array, min: 0, max: 4294967295 },
  Int32Array: { Ctor: Int32Array, min: -2147483648, max: 2147483647 },
} as const;
export type IntKind = keyof typeof INT_ARRAYS;
export const INT_KINDS = Object.keys(INT_ARRAYS) as IntKind[];

/** Same loss, count and gradient, bit for bit (typed arrays compared as bytes: toEqual is slow on 1e5+). */
export function expectSame(a: FocalLossResult, b: FocalLossResult): void {
  const bytes = (v: ArrayBufferView) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  expect(a.count).toBe(b.count);
  if (typeof a.loss === 'number') expect(Object.is(a.loss, b.loss)).toBe(true);
  else expect(bytes(a.loss).equals(bytes(b.loss as FloatArray))).toBe(true);
  expect(a.grad === undefined).toBe(b.grad === undefined);
  if (a.grad) expect(bytes(a.grad).equals(bytes(b.grad!))).toBe(true);
}
