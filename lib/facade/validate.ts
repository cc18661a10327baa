/**
 * Argument checking. Every error says what was expected, for which argument, and what was
 * received: "Expected X for Y but received Z", and carries the same facts as properties, the way
 * Node's own argument errors do (plain own, enumerable data properties):
 *   code      'ERR_INVALID_ARG_TYPE' (a TypeError: wrong type, or a detached or shrunk buffer),
 *             'ERR_OUT_OF_RANGE' (a RangeError: a value, length or element out of range),
 *             'ERR_INVALID_ARG_VALUE' (an unknown option, a TypeError; options that conflict, a RangeError);
 *   argument  the argument's name without an index: 'logits', 'labels', 'options.gamma', 'options.out.grad';
 *   index     for a bad element only: its index (labels[7] is argument 'labels', index 7).
 */
import { types } from 'node:util';
import { isLive, lengthOfView, typeName } from './arrays.js';
import type { FloatArray, IntegerArray } from '../types.js';
import { LABEL_ARRAYS } from '../backends/protocol.js';

/** A short, safe description of any value, for error messages (it runs none of the caller's code). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value)) {
    const name = typeName(value);
    if (name === undefined) return 'a DataView';
    return `${name}(${isLive(value) ? lengthOfView(value) : 0})`;
  }
  if (types.isProxy(value)) return 'a Proxy';
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

export type ErrorCode = 'ERR_INVALID_ARG_TYPE' | 'ERR_OUT_OF_RANGE' | 'ERR_INVALID_ARG_VALUE';

/** The fields every error of the package carries. */
export interface ArgumentError extends Error {
  code: ErrorCode;
  argument: string;
  index?: number;
}

/** Gives an error the package's fields (also for the tfjs adapter's errors about tensors). */
export function withFields<E extends Error>(
  error: E,
  code: ErrorCode,
  argument: string,
  index?: number,
): E & ArgumentError {
  const e = error as E & ArgumentError;
  e.code = code;
  e.argument = argument;
  if (index !== undefined) e.index = index;
  return e;
}

/** `name` or `name[index]`, as the message says it. */
function where(name: string, index: number | undefined): string {
  return index === undefined ? name : `${name}[${index}]`;
}

export function typeError(expected: string, name: string, actual: unknown, index?: number): TypeError {
  return withFields(
    new TypeError(`Expected ${expected} for ${where(name, index)} but received ${describe(actual)}`),
    'ERR_INVALID_ARG_TYPE',
    name,
    index,
  );
}

export function rangeError(expected: string, name: string, actual: unknown, index?: number): RangeError {
  return withFields(
    new RangeError(`Expected ${expected} for ${where(name, index)} but received ${describe(actual)}`),
    'ERR_OUT_OF_RANGE',
    name,
    index,
  );
}

/** The error with `argument` set to `argument` (when the message names it another way). */
export function forArgument<E extends Error>(error: E, argument: string): E {
  (error as E & { argument: string }).argument = argument;
  return error;
}

/** A RangeError with a free-form message, for options that conflict; `argument` is the first one named. */
export function conflictError(argument: string, message: string): RangeError {
  return withFields(new RangeError(message), 'ERR_INVALID_ARG_VALUE', argument);
}

/** A Float32Array or Float64Array (by its built-in type: a subclass counts, a Proxy does not). */
export function isFloatArray(value: unknown): value is FloatArray {
  const name = typeName(value);
  return name === 'Float32Array' || name === 'Float64Array';
}

const LABEL_ARRAY_NAMES: ReadonlySet<string> = new Set(Object.keys(LABEL_ARRAYS));

/** One of the label arrays of native/protocol.json (by its built-in type: a subclass counts, a Proxy does not). */
export function isIntegerArray(value: unknown): value is IntegerArray {
  const name = typeName(value);
  return name !== undefined && LABEL_ARRAY_NAMES.has(name);
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

/** The record of a call without options (frozen: shared by every such call, so never written). */
const NO_OPTIONS: Record<string, unknown> = Object.freeze(Object.create(null) as Record<string, unknown>);

/** More prototypes than any options object has: a Proxy could claim an endless chain. */
const MAX_CHAIN = 64;

/**
 * An options object, read once into a plain record of the known keys it has.
 *
 * The options are the properties of the object and of its prototypes up to, not including,
 * Object.prototype (so an inherited option counts, a class instance works, and a property added to
 * Object.prototype by someone else does not). Every string-keyed property on that part of the chain,
 * enumerable or not, must be a known option ('constructor' of a prototype aside): a typo is a bug,
 * inherited or not. Each known option present is read once (its getter, if any, runs once), here,
 * before any array is looked at, so no caller code runs between validation and the kernel.
 */
export function readOptions(value: unknown, fn: string, known: readonly string[]): Record<string, unknown> {
  if (value === undefined) return NO_OPTIONS;
  const record: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw typeError('an options object', `the options of ${fn}`, value);
  }
  const present = new Set<string>();
  let depth = 0;
  for (
    let o: object | null = value;
    o !== null && o !== Object.prototype;
    o = Object.getPrototypeOf(o) as object | null
  ) {
    if (++depth > MAX_CHAIN)
      throw typeError(`an options object with fewer than ${MAX_CHAIN} prototypes`, `the options of ${fn}`, value);
    for (const key of Object.getOwnPropertyNames(o)) {
      if (known.includes(key)) present.add(key);
      else if (!(key === 'constructor' && o !== value)) throw unknownOption(key, fn, known);
    }
  }
  for (const key of known) if (present.has(key)) record[key] = (value as Record<string, unknown>)[key];
  return record;
}

function unknownOption(key: string, fn: string, known: readonly string[]): TypeError {
  const closest = known.reduce((best, k) => (distance(key, k) < distance(key, best) ? k : best), known[0]!);
  const hint = distance(key, closest) <= 2 ? ` (did you mean '${closest}'?)` : '';
  // fn is a function's name, or 'options.out' for the keys of `out`.
  const argument = fn.startsWith('options.') ? `${fn}.${key}` : `options.${key}`;
  return withFields(
    new TypeError(`Unknown option '${key}' for ${fn}${hint}; known options: ${known.join(', ')}`),
    'ERR_INVALID_ARG_VALUE',
    argument,
  );
}

/**
 * The view itself, unless its ArrayBuffer was detached (transferred to a worker, or by
 * structuredClone with `transfer`) or a resizable buffer shrank under it: a detached view reads as
 * length 0, which would otherwise pass for an empty batch.
 */
export function live<V extends ArrayBufferView>(view: V, name: string): V {
  if (!isLive(view)) {
    throw withFields(
      new TypeError(
        `Expected a typed array on a live ArrayBuffer for ${name} but received ${typeName(view) ?? 'a typed array'}, whose buffer was detached (transferred) or shrunk`,
      ),
      'ERR_INVALID_ARG_TYPE',
      name.split(' ')[0]!,
    );
  }
  return view;
}
