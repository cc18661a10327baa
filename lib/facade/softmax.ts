/** softmaxFocalLoss: multi-class focal loss over [N, C] or [N, C, ...spatial] logits. */
import { CallArrays, lengthOfView } from './arrays.js';
import { readSignal } from '../async/abort.js';
import {
  ASYNC_OPTIONS,
  COMMON_OPTIONS,
  FLOAT_INPUT,
  convertSteps,
  finish,
  gradientScale,
  inDtypeOf,
  isTypedInput,
  planRunFields,
  numericSteps,
  readAllOptions,
  readOutputs,
  readReduction,
  readShortList,
  readWeights,
  viewFor,
  type Numeric,
  type Prepared,
} from './call.js';
import { kernelInputError } from './kernel-errors.js';
import type { Kernels, SimdSupport, SoftmaxPlan } from '../backends/contract.js';
import type { FloatArray, IntegerArray } from '../types.js';
import {
  conflictError,
  forArgument,
  isFloatArray,
  isIntegerArray,
  rangeError,
  readInteger,
  readNumberInRange,
  typeError,
} from './validate.js';

const SOFTMAX_OPTIONS = [...COMMON_OPTIONS, 'numClasses', 'shape', 'classAxis', 'alpha', 'ignoreIndex'] as const;
const SOFTMAX_OPTIONS_ASYNC = [...SOFTMAX_OPTIONS, ...ASYNC_OPTIONS] as const;

/** The logits seen as [outer, classes, inner]. */
interface Layout {
  outer: number;
  classes: number;
  inner: number;
}

function isPositiveInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

/**
 * The layout from numClasses or the shape (already read into a plain list). Every product is exact:
 * the product of the non-zero dimensions must be a safe integer (at most 2^53 - 1), also when some
 * dimension is 0 (an empty batch of an absurd shape is still an absurd shape).
 */
function readLayout(options: Record<string, unknown>, length: number): Layout {
  const { numClasses, shape, classAxis } = options;
  if (numClasses !== undefined && !isPositiveInteger(numClasses)) {
    throw typeof numClasses === 'number'
      ? rangeError('a positive integer', 'options.numClasses', numClasses)
      : typeError('a positive integer', 'options.numClasses', numClasses);
  }
  if (shape === undefined) {
    if (numClasses === undefined) {
      throw forArgument(
        typeError('a number of classes', 'options.numClasses (or options.shape)', undefined),
        'options.numClasses',
      );
    }
    if (classAxis !== undefined) throw conflictError('options.classAxis', 'options.classAxis needs options.shape');
    if (length % numClasses !== 0) {
      throw forArgument(
        rangeError(`a multiple of numClasses (${numClasses})`, 'the length of logits', length),
        'logits',
      );
    }
    return { outer: length / numClasses, classes: numClasses, inner: 1 };
  }
  const dims = shape as unknown[];
  if (dims.length < 2) throw rangeError('at least 2 dimensions [N, C, ...]', 'options.shape', dims);
  let product = 1;
  dims.forEach((d: unknown, i: number) => {
    if (typeof d !== 'number') throw typeError('a non-negative integer', 'options.shape', d, i);
    if (!Number.isSafeInteger(d) || d < 0) throw rangeError('a non-negative integer', 'options.shape', d, i);
    if (d > 0) product *= d;
  });
  if (!Number.isSafeInteger(product)) {
    throw rangeError('dimensions whose product is at most 2^53 - 1', 'options.shape', `[${dims.join(', ')}]`);
  }
  const rank = dims.length;
  const axisArg = readInteger(classAxis, 'options.classAxis', 1);
  if (axisArg < -rank || axisArg >= rank)
    throw rangeError(`an axis in [${-rank}, ${rank})`, 'options.classAxis', axisArg);
  const axis = axisArg < 0 ? axisArg + rank : axisArg;
  const sizes = dims as number[];
  const classes = sizes[axis]!;
  if (classes < 1) throw rangeError('at least one class', 'options.shape', classes, axis);
  if (numClasses !== undefined && numClasses !== classes) {
    throw conflictError(
      'options.numClasses',
      `options.numClasses (${numClasses}) differs from options.shape[${axis}] (${classes})`,
    );
  }
  const outer = sizes.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = sizes.slice(axis + 1).reduce((a, b) => a * b, 1);
  if (outer * classes * inner !== length) {
    throw rangeError(`logits of length ${outer * classes * inner} (the product of options.shape)`, 'logits', length);
  }
  return { outer, classes, inner };
}

/**
 * Integer labels (one per sample) or soft targets (shaped like the logits). A plain array arrives
 * converted to Float64Array (`fromList`): one entry per sample is labels, which must be integers.
 */
function readLabels(
  value: Numeric,
  original: unknown,
  fromList: boolean,
  logits: FloatArray,
  samples: number,
  arrays: CallArrays,
): { labels: IntegerArray | null; targets: FloatArray | null } {
  const view = viewFor(value, 'labels', arrays);
  const length = lengthOfView(view);
  const n = lengthOfView(logits);
  if (fromList) {
    const list = view as Float64Array;
    if (length === samples) {
      const labels = arrays.own(new Int32Array(samples));
      for (let i = 0; i < samples; i++) {
        const y = list[i]!;
        if (!Number.isInteger(y) || Math.abs(y) > 2 ** 31 - 1) throw rangeError('an integer class', 'labels', y, i);
        labels[i] = y;
      }
      return { labels, targets: null };
    }
    if (length === n) return { labels: null, targets: inDtypeOf(logits, list, arrays) };
    throw rangeError(`${samples} labels or ${n} soft targets`, 'labels', original);
  }
  if (isIntegerArray(view)) {
    if (length !== samples) throw rangeError(`${samples} labels (one per sample)`, 'labels', view);
    return { labels: view, targets: null };
  }
  if (length !== n) {
    throw rangeError(
      `soft targets of the logits' length (${n}); integer labels need an integer typed array`,
      'labels',
      view,
    );
  }
  return { labels: null, targets: inDtypeOf(logits, view as FloatArray, arrays) };
}

/** alpha (read in steps 1-2): null (no weighting), a scalar (scales every class) or one weight per class. */
function readAlpha(
  value: unknown,
  original: unknown,
  classes: number,
  arrays: CallArrays,
): { alpha: Float64Array | null; alphaScale: number } {
  if (value === undefined || value === null) return { alpha: null, alphaScale: 1 };
  if (typeof value === 'number') return { alpha: null, alphaScale: readNumberInRange(value, 'options.alpha', 1, 0, 1) };
  const view = viewFor(value as FloatArray, 'options.alpha', arrays);
  if (lengthOfView(view) !== classes) {
    throw rangeError(`${classes} class weights (numClasses)`, 'options.alpha', original);
  }
  // A copy of its own (read once), checked entry by entry.
  const alpha = arrays.own(new Float64Array(classes));
  for (let i = 0; i < classes; i++) {
    const a = view[i]!;
    if (!(a >= 0 && a <= 1)) throw rangeError('a number in [0, 1]', 'options.alpha', a, i);
    alpha[i] = a;
  }
  return { alpha, alphaScale: 1 };
}

/** The steps of a softmaxFocalLoss call (see call.ts for their order); the last one returns the validated call. */
export function* prepareSoftmax(
  logitsArg: unknown,
  labelsArg: unknown,
  optionsArg: unknown,
  simd: SimdSupport | null,
  allocateResult?: Kernels['allocateResult'],
  asyncCall = false,
): Generator<void, Prepared<SoftmaxPlan>> {
  const arrays = new CallArrays();
  const options = readAllOptions(optionsArg, 'softmaxFocalLoss', asyncCall ? SOFTMAX_OPTIONS_ASYNC : SOFTMAX_OPTIONS);
  const signal = readSignal(options.signal);
  if (Array.isArray(options.shape)) options.shape = readShortList(options.shape, 'options.shape');
  else if (options.shape !== undefined) throw typeError('an array of dimensions', 'options.shape', options.shape);
  const logitsIn = isTypedInput(logitsArg, true)
    ? logitsArg
    : yield* numericSteps(logitsArg, 'logits', arrays, FLOAT_INPUT, true);
  const labelsFromList = Array.isArray(labelsArg);
  const labelsIn = isTypedInput(labelsArg, false)
    ? labelsArg
    : yield* numericSteps(
        labelsArg,
        'labels',
        arrays,
        'an integer typed array, a float typed array of soft targets, or an array of numbers',
        false,
      );
  const weightsIn =
    options.weights === undefined || options.weights === null
      ? null
      : yield* numericSteps(options.weights, 'options.weights', arrays, FLOAT_INPUT, true);
  const alphaArg = options.alpha;
  let alphaIn: unknown = alphaArg;
  if (Array.isArray(alphaArg)) alphaIn = yield* convertSteps(alphaArg, 'options.alpha', arrays);
  else if (alphaArg !== undefined && alphaArg !== null && typeof alphaArg !== 'number' && !isFloatArray(alphaArg)) {
    throw typeError('a number, an array of one weight per class, or null', 'options.alpha', alphaArg);
  }

  // Step 3: no caller code runs from here on.
  const logits = viewFor(logitsIn as FloatArray, 'logits', arrays);
  const layout = readLayout(options, lengthOfView(logits));
  const samples = layout.outer * layout.inner;
  const { labels, targets } = readLabels(labelsIn, labelsArg, labelsFromList, logits, samples, arrays);
  const gamma = readNumberInRange(options.gamma, 'options.gamma', 2, 0, Infinity);
  const { alpha, alphaScale } = readAlpha(alphaIn, alphaArg, layout.classes, arrays);
  const ignoreIndex = readInteger(options.ignoreIndex, 'options.ignoreIndex', -100);
  const labelSmoothing = readNumberInRange(options.labelSmoothing, 'options.labelSmoothing', 0, 0, 1);
  const reduction = readReduction(options);
  const weights = readWeights(weightsIn, options.weights, logits, samples, 'sample', arrays);
  const inputs = [logits, labels, targets, weights];
  const outputs = readOutputs(options, reduction.reduction, logits, samples, inputs, arrays, allocateResult);
  const byCount = reduction.normalizer === null && reduction.reduction === 'mean';

  const plan: SoftmaxPlan = {
    logits,
    labels,
    targets,
    weights,
    ...layout,
    gamma,
    alpha,
    alphaScale,
    labelSmoothing,
    ignoreIndex,
    // 'mean' divides by the samples that are not ignored, which the kernel counts.
    gradScale: byCount ? 1 : gradientScale(reduction, samples),
    gradScaleByCount: byCount,
    ...planRunFields(options, outputs, simd),
  };
  return {
    plan,
    arrays,
    signal,
    empty: samples === 0,
    complete(result) {
      if (result.error)
        throw kernelInputError(result.error, { classes: layout.classes, ignoreIndex, targetsName: 'labels' });
      return finish(reduction, outputs, result);
    },
  };
}
