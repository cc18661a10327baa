/**
 * Argument checking. Every error says what was expected, for which argument, and what was
 * received: "Expected X for Y but received Z". A wrong type is a TypeError (code
 * ERR_INVALID_ARG_TYPE), a value out of range a RangeError (code ERR_OUT_OF_RANGE).
 */
import { types } from 'node:util';
import { baseConstructor, isLive, own } from './arrays.js';
import type { FloatArray, IntegerArray } from './types.js';

/** A short, safe description of any value, for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value)) {
    const length = (value as { length?: number }).length;
    return `${value.constructor?.name ?? 'a typed array'}(${length ?? value.byteLength})`;
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  switch (typeof value) {
    case 'string':
      return `'${value.length > 40 ? value.slice(0, 40) + '…' : value}' of type string`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${String(value)} of type ${typeof value}`;
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    default:
      return `an object (${Object.prototype.toString.call(value)})`;
  }
}

function withCode<E extends Error>(error: E, code: string): E {
  Object.defineProperty(error, 'code', { value: code, enumerable: true });
  return error;
}

export function typeError(expected: string, name: string, actual: unknown): TypeError {
  return withCode(
    new TypeError(`Expected ${expected} for ${name} but received ${describe(actual)}`),
    'ERR_INVALID_ARG_TYPE',
  );
}

export function rangeError(expected: string, name: string, actual: unknown): RangeError {
  return withCode(
    new RangeError(`Expected ${expected} for ${name} but received ${describe(actual)}`),
    'ERR_OUT_OF_RANGE',
  );
}

/** A RangeError with a free-form message, for conflicts between arguments. */
export function conflictError(message: string): RangeError {
  return withCode(new RangeError(message), 'ERR_OUT_OF_RANGE');
}

export function isFloatArray(value: unknown): value is FloatArray {
  return types.isFloat32Array(value) || types.isFloat64Array(value);
}

export function isIntegerArray(value: unknown): value is IntegerArray {
  return (
    types.isUint8Array(value) ||
    types.isUint8ClampedArray(value) ||
    types.isInt8Array(value) ||
    types.isUint16Array(value) ||
    types.isInt16Array(value) ||
    types.isUint32Array(value) ||
    types.isInt32Array(value)
  );
}

/** A plain array whose every entry is a number (any value, NaN included). */
export function toFloat64(value: readonly unknown[], name: string): Float64Array {
  // Every entry is checked before anything is allocated (a sparse array can claim 2^32 - 1 entries).
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== 'number') throw typeError('a number', `${name}[${i}]`, value[i]);
  }
  return own(Float64Array.from(value as readonly number[]));
}

/** Float data in the logits' dtype: the array itself when it already is, else a converted copy. */
export function inDtypeOf<A extends FloatArray>(logits: A, data: FloatArray): A {
  const Ctor = baseConstructor(logits) as unknown as new (source: ArrayLike<number>) => A;
  if (baseConstructor(data) === (Ctor as unknown)) return data as A;
  return own(new Ctor(data));
}

export function readNumber(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw typeError('a number', name, value);
  return value;
}

/** A finite number in [min, max] (max may be Infinity: then only finiteness is required). */
export function readNumberInRange(value: unknown, name: string, fallback: number, min: number, max: number): number {
  const v = readNumber(value, name, fallback);
  if (!(v >= min && v <= max) || !Number.isFinite(v)) {
    const range = max === Infinity ? `a finite number >= ${min}` : `a number in [${min}, ${max}]`;
    throw rangeError(range, name, v);
  }
  return v;
}

export function readBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw typeError('a boolean', name, value);
  return value;
}

export function readChoice<C extends string>(value: unknown, name: string, choices: readonly C[], fallback: C): C {
  if (value === undefined) return fallback;
  const list = choices.map((c) => `'${c}'`).join(', ');
  if (typeof value !== 'string') throw typeError(`one of ${list}`, name, value);
  if (!(choices as readonly string[]).includes(value)) throw rangeError(`one of ${list}`, name, value);
  return value as C;
}

export function readInteger(value: unknown, name: string, fallback: number): number {
  const v = readNumber(value, name, fallback);
  if (!Number.isSafeInteger(v)) throw rangeError('an integer', name, v);
  return v;
}

/** Levenshtein distance, to suggest the intended name of a misspelled option. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The options object itself: undefined means defaults; unknown keys are errors (typos are bugs). */
export function readOptions(value: unknown, fn: string, known: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw typeError('an options object', `the options of ${fn}`, value);
  }
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const closest = known.reduce((best, k) => (distance(key, k) < distance(key, best) ? k : best), known[0]!);
    const hint = distance(key, closest) <= 2 ? ` (did you mean '${closest}'?)` : '';
    throw withCode(
      new TypeError(`Unknown option '${key}' for ${fn}${hint}; known options: ${known.join(', ')}`),
      'ERR_INVALID_ARG_VALUE',
    );
  }
  return value as Record<string, unknown>;
}

/**
 * The view itself, unless its ArrayBuffer was detached (transferred to a worker, or by
 * structuredClone with `transfer`): a detached view reads as length 0, which would otherwise pass
 * for an empty batch.
 */
export function live<V extends ArrayBufferView>(view: V, name: string): V {
  if (!isLive(view)) {
    throw withCode(
      new TypeError(
        `Expected a typed array on a live ArrayBuffer for ${name} but received ${view.constructor?.name ?? 'a typed array'}, whose buffer was detached (transferred) or shrunk`,
      ),
      'ERR_INVALID_ARG_TYPE',
    );
  }
  return view;
}

/** True when two array views share any byte of memory. */
export function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}
