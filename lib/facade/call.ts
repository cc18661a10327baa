/**
 * What sigmoidFocalLoss and softmaxFocalLoss share: reading the arguments, the reduction, the
 * weights and the output buffers, and turning a kernel's sum into the caller's result.
 *
 * A call is read in three steps, in this order (see prepare() in sigmoid.ts and softmax.ts):
 * 1. the options, each once (every getter runs once, here), with `out` and `shape` read the same way;
 * 2. plain arrays (number[]) converted to Float64Array, each element read once (an element getter
 *    may run the caller's code: it runs here, before any typed array is looked at); an async call
 *    converts large ones in slices (convertSteps yields between chunks);
 * 3. typed arrays: each replaced by a new built-in view of the same memory (arrays.ts, viewOf),
 *    read once through the intrinsics; then everything is validated on those views and the plan
 *    is built. No caller code runs in this step, nor between it and a synchronous kernel.
 */
import { baseConstructor, CallArrays, lengthOfView, overlaps, viewOf } from './arrays.js';
import type { KernelResult, Kernels, ResultConstructor, SimdSupport } from '../backends/contract.js';
import { readSimd } from '../backends/simd.js';
import { inSlice } from '../async/slices.js';
import { readThreads } from './threads.js';
import type { FloatArray, FocalLossResult, IntegerArray, Reduction } from '../types.js';
import {
  conflictError,
  isFloatArray,
  isIntegerArray,
  live,
  rangeError,
  readBoolean,
  readChoice,
  readNumberInRange,
  readOptions,
  typeError,
} from './validate.js';

export const COMMON_OPTIONS = [
  'gamma',
  'reduction',
  'normalizer',
  'weights',
  'labelSmoothing',
  'gradient',
  'out',
  'threads',
  'simd',
] as const;

/** The options only the async calls take (the sync ones refuse them as unknown). */
export const ASYNC_OPTIONS = ['signal'] as const;

/** A validated call: the plan for a backend, and how to turn the kernel's result into the caller's. */
export interface Prepared<P> {
  plan: P;
  /** The arrays this call allocated (a snapshot need not copy them). */
  arrays: CallArrays;
  /** The `signal` option of an async call (null when absent, always for a sync call). */
  signal: AbortSignal | null;
  /** Nothing to compute (no element, no sample): the kernel is not called. */
  empty: boolean;
  complete(result: KernelResult): FocalLossResult;
}

// ---------------------------------------------------------------------------------------------
// Step 1: options

/** The options record (see readOptions), with `out` read into a record of its own. */
export function readAllOptions(value: unknown, fn: string, known: readonly string[]): Record<string, unknown> {
  const options = readOptions(value, fn, known);
  const out = options.out;
  if (out !== undefined) {
    if (out === null || typeof out !== 'object' || Array.isArray(out)) {
      throw typeError('an object { loss?, grad? }', 'options.out', out);
    }
    options.out = readOptions(out, 'options.out', ['loss', 'grad']);
  }
  return options;
}

/** The most entries a list option (shape) may have: its entries are read one by one. */
export const MAX_LIST = 64;

/** A short plain array (options.shape) read once: its length, then each entry, into a new array. */
export function readShortList(value: readonly unknown[], name: string): unknown[] {
  const length = value.length;
  if (!(Number.isSafeInteger(length) && length >= 0 && length <= MAX_LIST)) {
    throw rangeError(`at most ${MAX_LIST} entries`, name, value);
  }
  const copy: unknown[] = [];
  for (let i = 0; i < length; i++) copy.push(value[i]);
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Step 2: plain arrays

/** Elements converted per step: an async call gives the event loop a turn between steps. */
export const CONVERT_CHUNK = 1 << 16;
/** The longest plain array there is (2^32 - 1). */
const MAX_ARRAY_LENGTH = 2 ** 32 - 1;

/**
 * A plain array of numbers as a new Float64Array: its length read once, each element once and
 * checked (a number, any value) before it is stored; yields between chunks. The array is allocated
 * once the first chunk has passed, so that a sparse array claiming 2^32 - 1 entries fails at its
 * first hole without allocating for all of them (and chunks are written in place: joining them at
 * the end would touch all that fresh memory in one go).
 */
export function* convertSteps(
  value: readonly unknown[],
  name: string,
  arrays: CallArrays,
): Generator<void, Float64Array> {
  const length = value.length;
  if (!(Number.isSafeInteger(length) && length >= 0 && length <= MAX_ARRAY_LENGTH)) {
    throw typeError('an array of numbers', name, value);
  }
  let all: Float64Array | null = null;
  const first = new Float64Array(Math.min(CONVERT_CHUNK, length));
  for (let begin = 0; begin < length; begin += CONVERT_CHUNK) {
    if (begin > 0) {
      yield;
      all ??= allocateFloat64(length, name, value, first);
    }
    const target = all ?? first;
    const end = Math.min(length, begin + CONVERT_CHUNK);
    for (let i = begin; i < end; i++) {
      const v = value[i];
      if (typeof v !== 'number') throw typeError('a number', name, v, i);
      target[i] = v;
    }
  }
  return arrays.own(all ?? first);
}

function allocateFloat64(length: number, name: string, value: unknown, first: Float64Array): Float64Array {
  let all: Float64Array;
  try {
    all = new Float64Array(length);
  } catch {
    throw rangeError('an array of numbers that fits in memory as float64', name, value);
  }
  all.set(first);
  return all;
}

/** Runs the steps of a call to the end, synchronously. */
export function runSync<T>(steps: Generator<void, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * Runs the steps of an async call: the first at once (so a call on small inputs is read and
 * validated before the async function returns), the others in the shared time slices. Returns
 * the value itself, not a promise, when there was only one step.
 */
export function runSliced<T>(steps: Generator<void, T>): T | Promise<T> {
  const step = steps.next();
  if (step.done) return step.value;
  return (async () => {
    let next: IteratorResult<void, T> = step;
    while (!next.done) next = await inSlice(() => steps.next());
    return next.value;
  })();
}

/** A float or integer typed array, a plain array (converted), or a TypeError. */
export type Numeric = FloatArray | IntegerArray;

/**
 * A typed array that numericSteps returns as it is: callers check this first, so that the common
 * call (typed arrays only) runs no generator of its own for them.
 */
export function isTypedInput(value: unknown, floatOnly: boolean): value is Numeric {
  return isFloatArray(value) || (!floatOnly && isIntegerArray(value));
}

/**
 * A numeric argument as read in steps 1-2: typed arrays as given (their view is taken in step 3),
 * plain arrays converted to Float64Array (owned by the call); anything else is a TypeError.
 */
export function* numericSteps(
  value: unknown,
  name: string,
  arrays: CallArrays,
  expected: string,
  floatOnly: boolean,
): Generator<void, Numeric> {
  if (isTypedInput(value, floatOnly)) return value;
  if (Array.isArray(value)) return yield* convertSteps(value, name, arrays);
  throw typeError(expected, name, value);
}

export const FLOAT_INPUT = 'a Float32Array, a Float64Array or an array of numbers';

// ---------------------------------------------------------------------------------------------
// Step 3: views, validation

/**
 * The call's own view of a numeric argument: a converted array as it is, a caller's typed array as
 * a new built-in view of the same memory (it must be live).
 */
export function viewFor<A extends ArrayBufferView>(value: A, name: string, arrays: CallArrays): A {
  if (arrays.isOwn(value)) return value;
  return viewOf(live(value, name));
}

/** How the per-element losses become the result, and the matching gradient scale. */
export interface ReductionPlan {
  reduction: Reduction;
  /** Set when the caller gave a normalizer: the loss is sum / normalizer. */
  normalizer: number | null;
}

/**
 * The smallest normalizer: the smallest normal double, 2^-1022. Its gradient scale 1 / normalizer
 * is then finite (2^1022 at most), so the gradient is g / normalizer as closely as float64 allows;
 * a subnormal normalizer would make the scale Infinity (and 0 * Infinity a NaN gradient).
 */
export const MIN_NORMALIZER = 2 ** -1022;

export function readReduction(options: Record<string, unknown>): ReductionPlan {
  const explicit = options.reduction !== undefined;
  const reduction = readChoice(options.reduction, 'options.reduction', ['none', 'sum', 'mean'] as const, 'mean');
  if (options.normalizer === undefined) return { reduction, normalizer: null };
  const normalizer = readNumberInRange(options.normalizer, 'options.normalizer', NaN, 0, Infinity);
  if (!(normalizer >= MIN_NORMALIZER)) {
    throw rangeError('a finite number >= 2^-1022 (the smallest normal double)', 'options.normalizer', normalizer);
  }
  if (explicit && reduction !== 'sum') {
    throw conflictError(
      'options.normalizer',
      `options.normalizer divides the sum; it cannot be combined with reduction '${reduction}' (omit reduction or use 'sum')`,
    );
  }
  return { reduction: 'sum', normalizer };
}

/** Float data in the logits' dtype: the view itself when it already is, else a converted copy (owned). */
export function inDtypeOf<A extends FloatArray>(logits: A, data: FloatArray, arrays: CallArrays): A {
  const Ctor = baseConstructor(logits) as unknown as new (length: number) => A;
  if (baseConstructor(data) === (Ctor as unknown)) return data as A;
  const copy = new Ctor(lengthOfView(data));
  for (let i = 0; i < copy.length; i++) copy[i] = data[i]!; // one read each: the memory may be shared
  return arrays.own(copy);
}

/** Per-element or per-sample weights (read in steps 1-2) in the logits' dtype, of exactly `length` entries. */
export function readWeights(
  value: Numeric | undefined | null,
  original: unknown,
  logits: FloatArray,
  length: number,
  what: string,
  arrays: CallArrays,
): FloatArray | null {
  if (value === undefined || value === null) return null;
  const weights = viewFor(value as FloatArray, 'options.weights', arrays);
  if (lengthOfView(weights) !== length) {
    throw rangeError(`${length} weights (one per ${what})`, 'options.weights', original);
  }
  return inDtypeOf(logits, weights, arrays);
}

export interface Outputs {
  gradient: boolean;
  /** The views the kernel writes: the call's own views of the caller's buffers, or new arrays. */
  lossOut: FloatArray | null;
  gradOut: FloatArray | null;
  /** What the result returns: the caller's own objects when given, else the new arrays. */
  loss: FloatArray | null;
  grad: FloatArray | null;
}

function readOutputArray(
  value: unknown,
  name: string,
  logits: FloatArray,
  length: number,
  arrays: CallArrays,
): FloatArray | null {
  if (value === undefined || value === null) return null;
  const type = baseConstructor(logits).name;
  if (!isFloatArray(value) || baseConstructor(value) !== baseConstructor(logits)) {
    throw typeError(`a ${type} (the logits' type)`, name, value);
  }
  const view = viewFor(value, name, arrays);
  if (lengthOfView(view) !== length) throw rangeError(`a ${type} of length ${length}`, name, view);
  return view;
}

/**
 * The fields every plan ends with: where the results go, and how the call may run (the `threads`
 * and `simd` options, checked last, after everything the result depends on).
 */
export function planRunFields(
  options: Record<string, unknown>,
  outputs: Outputs,
  simd: SimdSupport | null,
): { lossOut: FloatArray | null; gradOut: FloatArray | null; threads: number; simd: number } {
  return {
    lossOut: outputs.lossOut,
    gradOut: outputs.gradOut,
    threads: readThreads(options.threads),
    simd: readSimd(options.simd, simd?.levels ?? null, simd?.default ?? 'scalar'),
  };
}

/** An output buffer must not share memory with any input (which are never written). */
function checkApart(buffer: FloatArray, name: string, inputs: readonly (ArrayBufferView | null)[]): void {
  for (const input of inputs) {
    if (input && overlaps(buffer, input)) throw conflictError(name, `${name} must not share memory with an input`);
  }
}

/**
 * The loss and gradient buffers: the caller's (checked for type, length and overlap with the
 * inputs, which are never written) or new ones (owned by the call).
 */
export function readOutputs(
  options: Record<string, unknown>,
  reduction: Reduction,
  logits: FloatArray,
  lossLength: number,
  inputs: readonly (ArrayBufferView | null)[],
  arrays: CallArrays,
  allocateResult?: Kernels['allocateResult'],
): Outputs {
  const given = (options.out ?? {}) as Record<string, unknown>;
  let lossOut = readOutputArray(given.loss, 'options.out.loss', logits, lossLength, arrays);
  let gradOut = readOutputArray(given.grad, 'options.out.grad', logits, lengthOfView(logits), arrays);
  const gradient = readBoolean(options.gradient, 'options.gradient', gradOut !== null);
  if (gradOut && !gradient) throw conflictError('options.out.grad', 'options.out.grad was given with gradient: false');
  if (lossOut && reduction !== 'none') {
    throw conflictError(
      'options.out.loss',
      `options.out.loss is only written with reduction 'none' (reduction is '${reduction}')`,
    );
  }
  if (lossOut) checkApart(lossOut, 'options.out.loss', inputs);
  if (gradOut) checkApart(gradOut, 'options.out.grad', inputs);
  if (lossOut && gradOut && overlaps(lossOut, gradOut)) {
    throw conflictError('options.out.loss', 'options.out.loss and options.out.grad must not share memory');
  }
  const Ctor = baseConstructor(logits);
  const result = (n: number) => (allocateResult ? allocateResult(Ctor as ResultConstructor, n) : new Ctor(n));
  if (reduction === 'none' && !lossOut) lossOut = arrays.own(result(lossLength));
  if (gradient && !gradOut) gradOut = arrays.own(result(lengthOfView(logits)));
  const loss = lossOut && !arrays.isOwn(lossOut) ? (given.loss as FloatArray) : lossOut;
  const grad = gradOut && !arrays.isOwn(gradOut) ? (given.grad as FloatArray) : gradOut;
  return { gradient, lossOut, gradOut, loss, grad };
}

/**
 * 'mean' of a total over `count` items: 0 when there are none (every sample ignored). The one
 * definition in JS for the loss, its gradient's scale and the JS kernels' gradScaleByCount (the
 * native kernels' is gradient_scale in native/kernels/softmax_focal.cpp).
 */
export function meanOf(total: number, count: number): number {
  return count > 0 ? total / count : 0;
}

/** The factor applied to every gradient element: the derivative of the reduction. */
export function gradientScale(plan: ReductionPlan, count: number): number {
  if (plan.normalizer !== null) return 1 / plan.normalizer;
  if (plan.reduction === 'mean') return meanOf(1, count);
  return 1;
}

/** The caller's result from a kernel's sum and count. */
export function finish(plan: ReductionPlan, outputs: Outputs, kernel: KernelResult): FocalLossResult {
  let loss: number | FloatArray;
  if (plan.normalizer !== null) loss = kernel.sum / plan.normalizer;
  else if (plan.reduction === 'none') loss = outputs.loss!;
  else if (plan.reduction === 'sum') loss = kernel.sum;
  else loss = meanOf(kernel.sum, kernel.count);
  const result: FocalLossResult = { loss, count: kernel.count };
  if (outputs.grad) result.grad = outputs.grad;
  return result;
}
