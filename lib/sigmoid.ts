/** sigmoidFocalLoss: binary and multi-label focal loss, every element its own binary problem. */
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
import type { SigmoidPlan, SimdSupport } from './kernels.js';
import { readSimd } from './simd.js';
import { readThreads } from './threads.js';
import { kernelInputError } from './kernel-errors.js';
import type { FloatArray, IntegerArray, NumericInput, SigmoidFocalLossOptions } from './types.js';
import {
  inDtypeOf,
  isFloatArray,
  isIntegerArray,
  live,
  rangeError,
  readChoice,
  readNumberInRange,
  readOptions,
  toFloat64,
  typeError,
} from './validate.js';

const SIGMOID_OPTIONS = [...COMMON_OPTIONS, 'alpha', 'input'] as const;

/** Probabilities are clamped to [eps, 1 - eps]; eps depends on the precision of the input. */
export const PROBABILITY_EPSILON = { float32: 1e-7, float64: 1e-15 } as const;

function readTargets(value: unknown, logits: FloatArray): FloatArray | IntegerArray {
  let targets: FloatArray | IntegerArray;
  if (isIntegerArray(value)) targets = live(value, 'targets');
  else if (isFloatArray(value)) targets = inDtypeOf(logits, live(value, 'targets'));
  else if (Array.isArray(value)) targets = inDtypeOf(logits, toFloat64(value, 'targets'));
  else throw typeError('a typed array or an array of numbers', 'targets', value);
  if (targets.length !== logits.length) {
    throw rangeError(`${logits.length} targets (the length of logits)`, 'targets', value);
  }
  return targets;
}

function readAlpha(value: unknown): number | null {
  if (value === null) return null;
  return readNumberInRange(value, 'options.alpha', 0.25, 0, 1);
}

/** Validates a sigmoidFocalLoss call and resolves it into a plan. */
export function prepareSigmoid(
  logitsArg: FloatArray | readonly number[],
  targetsArg: NumericInput,
  optionsArg: SigmoidFocalLossOptions | undefined,
  simd: SimdSupport | null,
): Prepared<SigmoidPlan> {
  const options = readOptions(optionsArg, 'sigmoidFocalLoss', SIGMOID_OPTIONS);
  const logits = readLogits(logitsArg);
  const targets = readTargets(targetsArg, logits);
  const gamma = readNumberInRange(options.gamma, 'options.gamma', 2, 0, Infinity);
  const alpha = readAlpha(options.alpha);
  const labelSmoothing = readNumberInRange(options.labelSmoothing, 'options.labelSmoothing', 0, 0, 1);
  const input = readChoice(options.input, 'options.input', ['logits', 'probabilities'] as const, 'logits');
  const reduction = readReduction(options);
  const weights = readWeights(options.weights, logits, logits.length, 'element');
  const outputs = readOutputs(options, reduction.reduction, logits, logits.length, [logits, targets, weights]);

  const plan: SigmoidPlan = {
    logits,
    targets,
    weights,
    gamma,
    alpha,
    labelSmoothing,
    probabilities: input === 'probabilities',
    probabilityEpsilon: logits instanceof Float32Array ? PROBABILITY_EPSILON.float32 : PROBABILITY_EPSILON.float64,
    gradScale: gradientScale(reduction, logits.length),
    lossOut: outputs.lossOut,
    gradOut: outputs.gradOut,
    threads: readThreads(options.threads),
    simd: readSimd(options.simd, simd?.levels ?? null, simd?.default ?? 'scalar'),
  };
  return {
    plan,
    complete(result) {
      if (result.error) throw kernelInputError(result.error, { targetsAreIntegers: isIntegerArray(targets) });
      return finish(reduction, outputs, result);
    },
  };
}
