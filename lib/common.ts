/**
 * What sigmoidFocalLoss and softmaxFocalLoss share: reading the logits, the reduction, the
 * weights and the output buffers, and turning a kernel's sum into the caller's result.
 */
import { baseConstructor, own } from './arrays.js';
import type { KernelResult } from './kernels.js';
import type { FloatArray, FocalLossResult, Reduction } from './types.js';
import {
  conflictError,
  inDtypeOf,
  isFloatArray,
  live,
  overlaps,
  rangeError,
  readBoolean,
  readChoice,
  readNumberInRange,
  toFloat64,
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

/** A validated call: the plan for a backend, and how to turn the kernel's result into the caller's. */
export interface Prepared<P> {
  plan: P;
  complete(result: KernelResult): FocalLossResult;
}

/** Logits as a float typed array: float32/float64 as given, number[] as float64. */
export function readLogits(value: unknown): FloatArray {
  if (isFloatArray(value)) return live(value, 'logits');
  if (Array.isArray(value)) return toFloat64(value, 'logits');
  throw typeError('a Float32Array, a Float64Array or an array of numbers', 'logits', value);
}

/** How the per-element losses become the result, and the matching gradient scale. */
export interface ReductionPlan {
  reduction: Reduction;
  /** Set when the caller gave a normalizer: the loss is sum / normalizer. */
  normalizer: number | null;
}

export function readReduction(options: Record<string, unknown>): ReductionPlan {
  const explicit = options.reduction !== undefined;
  const reduction = readChoice(options.reduction, 'options.reduction', ['none', 'sum', 'mean'] as const, 'mean');
  if (options.normalizer === undefined) return { reduction, normalizer: null };
  const normalizer = readNumberInRange(options.normalizer, 'options.normalizer', NaN, 0, Infinity);
  if (normalizer === 0) throw rangeError('a finite number > 0', 'options.normalizer', normalizer);
  if (explicit && reduction !== 'sum') {
    throw conflictError(
      `options.normalizer divides the sum; it cannot be combined with reduction '${reduction}' (omit reduction or use 'sum')`,
    );
  }
  return { reduction: 'sum', normalizer };
}

/** Per-element or per-sample weights in the logits' dtype, of exactly `length` entries. */
export function readWeights(value: unknown, logits: FloatArray, length: number, what: string): FloatArray | null {
  if (value === undefined || value === null) return null;
  let weights: FloatArray;
  if (isFloatArray(value)) weights = live(value, 'options.weights');
  else if (Array.isArray(value)) weights = toFloat64(value, 'options.weights');
  else throw typeError('a Float32Array, a Float64Array or an array of numbers', 'options.weights', value);
  if (weights.length !== length) throw rangeError(`${length} weights (one per ${what})`, 'options.weights', weights);
  return inDtypeOf(logits, weights);
}

export interface Outputs {
  gradient: boolean;
  lossOut: FloatArray | null;
  gradOut: FloatArray | null;
}

function readOutputArray(value: unknown, name: string, logits: FloatArray, length: number): FloatArray | null {
  if (value === undefined || value === null) return null;
  const type = baseConstructor(logits).name;
  if (!isFloatArray(value) || baseConstructor(value) !== baseConstructor(logits)) {
    throw typeError(`a ${type} (the logits' type)`, name, value);
  }
  live(value, name);
  if (value.length !== length) throw rangeError(`a ${type} of length ${length}`, name, value);
  return value;
}

/**
 * The loss and gradient buffers: the caller's (checked for type, length and overlap with the
 * inputs, which are never written) or new ones.
 */
export function readOutputs(
  options: Record<string, unknown>,
  reduction: Reduction,
  logits: FloatArray,
  lossLength: number,
  inputs: readonly (ArrayBufferView | null)[],
): Outputs {
  const out = options.out;
  if (out !== undefined && (out === null || typeof out !== 'object' || Array.isArray(out))) {
    throw typeError('an object { loss?, grad? }', 'options.out', out);
  }
  const given = (out ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (key !== 'loss' && key !== 'grad') throw typeError("only the keys 'loss' and 'grad'", 'options.out', key);
  }
  let lossOut = readOutputArray(given.loss, 'options.out.loss', logits, lossLength);
  let gradOut = readOutputArray(given.grad, 'options.out.grad', logits, logits.length);
  const gradient = readBoolean(options.gradient, 'options.gradient', gradOut !== null);
  if (gradOut && !gradient) throw conflictError('options.out.grad was given with gradient: false');
  if (lossOut && reduction !== 'none') {
    throw conflictError(`options.out.loss is only written with reduction 'none' (reduction is '${reduction}')`);
  }
  for (const [name, buffer] of [
    ['options.out.loss', lossOut],
    ['options.out.grad', gradOut],
  ] as const) {
    if (!buffer) continue;
    for (const input of inputs) {
      if (input && overlaps(buffer, input)) throw conflictError(`${name} must not share memory with an input`);
    }
  }
  if (lossOut && gradOut && overlaps(lossOut, gradOut)) {
    throw conflictError('options.out.loss and options.out.grad must not share memory');
  }
  const Ctor = baseConstructor(logits);
  if (reduction === 'none' && !lossOut) lossOut = own(new Ctor(lossLength));
  if (gradient && !gradOut) gradOut = own(new Ctor(logits.length));
  return { gradient, lossOut, gradOut };
}

/** The factor applied to every gradient element: the derivative of the reduction. */
export function gradientScale(plan: ReductionPlan, count: number): number {
  if (plan.normalizer !== null) return 1 / plan.normalizer;
  if (plan.reduction === 'mean') return count > 0 ? 1 / count : 0;
  return 1;
}

/** The caller's result from a kernel's sum and count. */
export function finish(plan: ReductionPlan, outputs: Outputs, kernel: KernelResult): FocalLossResult {
  let loss: number | FloatArray;
  if (plan.normalizer !== null) loss = kernel.sum / plan.normalizer;
  else if (plan.reduction === 'none') loss = outputs.lossOut!;
  else if (plan.reduction === 'sum') loss = kernel.sum;
  else loss = kernel.count > 0 ? kernel.sum / kernel.count : 0;
  const result: FocalLossResult = { loss, count: kernel.count };
  if (outputs.gradOut) result.grad = outputs.gradOut;
  return result;
}
