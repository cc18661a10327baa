/** softmaxFocalLoss: multi-class focal loss over [N, C] or [N, C, ...spatial] logits. */
import { own } from './arrays.js';
import {
  COMMON_OPTIONS,
  finish,
  gradientScale,
  readLogits,
  readOutputs,
  readReduction,
  readWeights,
  type Prepared,
} from './common.js';
import { kernelInputError } from './kernel-errors.js';
import type { SimdSupport, SoftmaxPlan } from './kernels.js';
import { readSimd } from './simd.js';
import { readThreads } from './threads.js';
import type { FloatArray, IntegerArray, NumericInput, SoftmaxFocalLossOptions } from './types.js';
import {
  conflictError,
  inDtypeOf,
  isFloatArray,
  isIntegerArray,
  live,
  rangeError,
  readInteger,
  readNumberInRange,
  readOptions,
  toFloat64,
  typeError,
} from './validate.js';

const SOFTMAX_OPTIONS = [...COMMON_OPTIONS, 'numClasses', 'shape', 'classAxis', 'alpha', 'ignoreIndex'] as const;

/** The logits seen as [outer, classes, inner]. */
interface Layout {
  outer: number;
  classes: number;
  inner: number;
}

function isPositiveInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

function readLayout(options: Record<string, unknown>, length: number): Layout {
  const { numClasses, shape, classAxis } = options;
  if (numClasses !== undefined && !isPositiveInteger(numClasses)) {
    throw typeof numClasses === 'number'
      ? rangeError('a positive integer', 'options.numClasses', numClasses)
      : typeError('a positive integer', 'options.numClasses', numClasses);
  }
  if (shape === undefined) {
    if (numClasses === undefined)
      throw typeError('a number of classes', 'options.numClasses (or options.shape)', undefined);
    if (classAxis !== undefined) throw conflictError('options.classAxis needs options.shape');
    if (length % numClasses !== 0) {
      throw rangeError(`a multiple of numClasses (${numClasses})`, 'the length of logits', length);
    }
    return { outer: length / numClasses, classes: numClasses, inner: 1 };
  }
  if (!Array.isArray(shape)) throw typeError('an array of dimensions', 'options.shape', shape);
  if (shape.length < 2) throw rangeError('at least 2 dimensions [N, C, ...]', 'options.shape', shape);
  shape.forEach((d: unknown, i: number) => {
    if (typeof d !== 'number') throw typeError('a non-negative integer', `options.shape[${i}]`, d);
    if (!Number.isSafeInteger(d) || d < 0) throw rangeError('a non-negative integer', `options.shape[${i}]`, d);
  });
  const dims = shape as number[];
  const rank = dims.length;
  const axisArg = readInteger(classAxis, 'options.classAxis', 1);
  if (axisArg < -rank || axisArg >= rank)
    throw rangeError(`an axis in [${-rank}, ${rank})`, 'options.classAxis', axisArg);
  const axis = axisArg < 0 ? axisArg + rank : axisArg;
  const classes = dims[axis]!;
  if (classes < 1) throw rangeError('at least one class', `options.shape[${axis}]`, classes);
  if (numClasses !== undefined && numClasses !== classes) {
    throw conflictError(`options.numClasses (${numClasses}) differs from options.shape[${axis}] (${classes})`);
  }
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  if (outer * classes * inner !== length) {
    throw rangeError(`logits of length ${outer * classes * inner} (the product of options.shape)`, 'logits', length);
  }
  return { outer, classes, inner };
}

/** Integer labels (one per sample) or soft targets (shaped like the logits). */
function readLabels(
  value: unknown,
  logits: FloatArray,
  samples: number,
): { labels: IntegerArray | null; targets: FloatArray | null } {
  if (ArrayBuffer.isView(value)) live(value, 'labels');
  if (isIntegerArray(value)) {
    if (value.length !== samples) throw rangeError(`${samples} labels (one per sample)`, 'labels', value);
    return { labels: value, targets: null };
  }
  if (isFloatArray(value)) {
    if (value.length !== logits.length) {
      throw rangeError(
        `soft targets of the logits' length (${logits.length}); integer labels need an integer typed array`,
        'labels',
        value,
      );
    }
    return { labels: null, targets: inDtypeOf(logits, value) };
  }
  if (Array.isArray(value)) {
    if (value.length === samples) {
      const labels = own(new Int32Array(samples));
      value.forEach((y: unknown, i: number) => {
        if (typeof y !== 'number') throw typeError('an integer class', `labels[${i}]`, y);
        if (!Number.isInteger(y) || Math.abs(y) > 2 ** 31 - 1) throw rangeError('an integer class', `labels[${i}]`, y);
        labels[i] = y;
      });
      return { labels, targets: null };
    }
    if (value.length === logits.length) return { labels: null, targets: inDtypeOf(logits, toFloat64(value, 'labels')) };
    throw rangeError(`${samples} labels or ${logits.length} soft targets`, 'labels', value);
  }
  throw typeError(
    'an integer typed array, a float typed array of soft targets, or an array of numbers',
    'labels',
    value,
  );
}

/** alpha: null (no weighting), a scalar (scales every class) or one weight per class. */
function readAlpha(value: unknown, classes: number): { alpha: Float64Array | null; alphaScale: number } {
  if (value === undefined || value === null) return { alpha: null, alphaScale: 1 };
  if (typeof value === 'number') return { alpha: null, alphaScale: readNumberInRange(value, 'options.alpha', 1, 0, 1) };
  let alpha: Float64Array;
  if (isFloatArray(value)) alpha = own(new Float64Array(live(value, 'options.alpha')));
  else if (Array.isArray(value)) alpha = toFloat64(value, 'options.alpha');
  else throw typeError('a number, an array of one weight per class, or null', 'options.alpha', value);
  if (alpha.length !== classes) throw rangeError(`${classes} class weights (numClasses)`, 'options.alpha', value);
  alpha.forEach((a, i) => readNumberInRange(a, `options.alpha[${i}]`, 1, 0, 1));
  return { alpha, alphaScale: 1 };
}

/** Validates a softmaxFocalLoss call and resolves it into a plan. */
export function prepareSoftmax(
  logitsArg: FloatArray | readonly number[],
  labelsArg: NumericInput,
  optionsArg: SoftmaxFocalLossOptions | undefined,
  simd: SimdSupport | null,
): Prepared<SoftmaxPlan> {
  const options = readOptions(optionsArg, 'softmaxFocalLoss', SOFTMAX_OPTIONS);
  const logits = readLogits(logitsArg);
  const layout = readLayout(options, logits.length);
  const samples = layout.outer * layout.inner;
  const { labels, targets } = readLabels(labelsArg, logits, samples);
  const gamma = readNumberInRange(options.gamma, 'options.gamma', 2, 0, Infinity);
  const { alpha, alphaScale } = readAlpha(options.alpha, layout.classes);
  const ignoreIndex = readInteger(options.ignoreIndex, 'options.ignoreIndex', -100);
  const labelSmoothing = readNumberInRange(options.labelSmoothing, 'options.labelSmoothing', 0, 0, 1);
  const reduction = readReduction(options);
  const weights = readWeights(options.weights, logits, samples, 'sample');
  const outputs = readOutputs(options, reduction.reduction, logits, samples, [logits, labels, targets, weights]);
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
    lossOut: outputs.lossOut,
    gradOut: outputs.gradOut,
    threads: readThreads(options.threads),
    simd: readSimd(options.simd, simd?.levels ?? null, simd?.default ?? 'scalar'),
  };
  return {
    plan,
    complete(result) {
      if (result.error)
        throw kernelInputError(result.error, { classes: layout.classes, ignoreIndex, targetsName: 'labels' });
      return finish(reduction, outputs, result);
    },
  };
}
