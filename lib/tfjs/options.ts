/**
 * The options of the TensorFlow.js adapter: the library's options, minus the few that the adapter
 * decides itself. Values are checked by the library itself (one trial call on a one-element input
 * when the loss is made), so a bad gamma is the same TypeError/RangeError as with the array API, and
 * model.compile() fails instead of the first batch of model.fit().
 */
import { sigmoidFocalLoss, softmaxFocalLoss } from '../index.js';
import type { SigmoidFocalLossOptions, SoftmaxFocalLossOptions } from '../types.js';
import { isFloatArray, rangeError, readOptions } from '../facade/validate.js';

/** A tfjs loss is one scalar: per-element losses cannot be returned through model.compile(). */
/** The reductions a training loss can use: a scalar. */
export type ScalarReduction = 'mean' | 'sum';

/**
 * Options of sigmoidFocalLossTf: those of sigmoidFocalLoss except `gradient` and `out` (the adapter
 * always computes the gradient, into a new array that becomes the gradient tensor), `weights` (a
 * fixed array cannot follow the shuffled batches of model.fit) and `reduction: 'none'`.
 */
export type SigmoidFocalLossTfOptions = Omit<SigmoidFocalLossOptions, 'gradient' | 'out' | 'weights' | 'reduction'> & {
  reduction?: ScalarReduction;
};

/**
 * Options of softmaxFocalLossTf: those of softmaxFocalLoss except the ones of
 * SigmoidFocalLossTfOptions and the layout (`numClasses`, `shape`, `classAxis`), which is read from
 * yPred: classes on its last axis, as tfjs lays them out.
 */
export type SoftmaxFocalLossTfOptions = Omit<
  SoftmaxFocalLossOptions,
  'gradient' | 'out' | 'weights' | 'reduction' | 'numClasses' | 'shape' | 'classAxis'
> & {
  reduction?: ScalarReduction;
};

/**
 * The options each adapter accepts, in the order its unknown-option error lists them. The adapter
 * checks the names itself: the library would name its own function and list the options refused here.
 */
const SIGMOID_TF_OPTIONS = [
  'gamma',
  'alpha',
  'reduction',
  'normalizer',
  'labelSmoothing',
  'input',
  'threads',
  'simd',
] as const satisfies readonly (keyof SigmoidFocalLossTfOptions)[];
const SOFTMAX_TF_OPTIONS = [
  'gamma',
  'alpha',
  'reduction',
  'normalizer',
  'labelSmoothing',
  'ignoreIndex',
  'threads',
  'simd',
] as const satisfies readonly (keyof SoftmaxFocalLossTfOptions)[];
// Compile-time: each list names every option of its type (an option added to the library's types
// without a decision here fails to compile).
type Unlisted<T, L extends readonly string[]> = Exclude<keyof T, L[number]>;
const everySigmoidOption: [Unlisted<SigmoidFocalLossTfOptions, typeof SIGMOID_TF_OPTIONS>] extends [never]
  ? true
  : never = true;
const everySoftmaxOption: [Unlisted<SoftmaxFocalLossTfOptions, typeof SOFTMAX_TF_OPTIONS>] extends [never]
  ? true
  : never = true;
void everySigmoidOption;
void everySoftmaxOption;

/** Why an option of the library has no meaning in the adapter (shown in the error). */
const NOT_IN_ADAPTER: Record<string, string> = {
  gradient: 'the adapter always computes the gradient (tf.customGrad)',
  out: 'the adapter allocates the gradient array that becomes the gradient tensor',
  weights: 'a fixed array of weights cannot follow the shuffled batches of model.fit; use alpha',
};
const LAYOUT = 'the adapter reads the classes from the last axis of yPred';
const NOT_IN_SOFTMAX_ADAPTER: Record<string, string> = {
  ...NOT_IN_ADAPTER,
  numClasses: LAYOUT,
  shape: LAYOUT,
  classAxis: LAYOUT,
};

function rejectionError(fn: string, key: string, why: string): TypeError {
  const error = new TypeError(`Option '${key}' is not accepted by ${fn}: ${why}`);
  Object.defineProperty(error, 'code', { value: 'ERR_INVALID_ARG_VALUE', enumerable: true });
  return error;
}

/**
 * A private copy of the options (later changes by the caller do not reach the loss), checked against
 * the adapter's own list: an option of the library that the adapter refuses says why, any other
 * unknown name is the library's unknown-option error, naming the adapter and listing its options.
 */
function readAdapterOptions(
  value: unknown,
  fn: string,
  accepted: readonly string[],
  rejected: Record<string, string>,
): Record<string, unknown> {
  if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      if (Object.hasOwn(rejected, key)) throw rejectionError(fn, key, rejected[key]!);
    }
  }
  const options: Record<string, unknown> = { ...readOptions(value, fn, accepted) };
  if (options.reduction === 'none') {
    throw rangeError("'mean' or 'sum' (a tfjs loss is one scalar)", 'options.reduction', options.reduction);
  }
  // A per-class alpha array is copied: the loss must not change if the caller's array does.
  if (isFloatArray(options.alpha)) options.alpha = Float64Array.from(options.alpha);
  else if (Array.isArray(options.alpha)) options.alpha = options.alpha.slice();
  return options;
}

export function readSigmoidOptions(value: unknown): SigmoidFocalLossOptions {
  const options: SigmoidFocalLossOptions = readAdapterOptions(
    value,
    'sigmoidFocalLossTf',
    SIGMOID_TF_OPTIONS,
    NOT_IN_ADAPTER,
  );
  sigmoidFocalLoss(new Float32Array(1), new Float32Array(1), { ...options, gradient: true });
  return options;
}

export function readSoftmaxOptions(value: unknown): SoftmaxFocalLossOptions {
  const fn = 'softmaxFocalLossTf';
  const options: SoftmaxFocalLossOptions = readAdapterOptions(value, fn, SOFTMAX_TF_OPTIONS, NOT_IN_SOFTMAX_ADAPTER);
  // A per-class alpha fixes the number of classes; every yPred must then have as many (checked per call).
  const alpha = options.alpha;
  const classes = (Array.isArray(alpha) || isFloatArray(alpha)) && alpha.length > 0 ? alpha.length : 1;
  const trial = { ...options, numClasses: classes, gradient: true };
  softmaxFocalLoss(new Float32Array(classes), new Int32Array(1), trial);
  return options;
}
