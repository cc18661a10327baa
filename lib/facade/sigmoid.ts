/** sigmoidFocalLoss: binary and multi-label focal loss, every element its own binary problem. */
import { CallArrays, lengthOfView, typeName } from './arrays.js';
import { readSignal } from '../async/abort.js';
import {
  ASYNC_OPTIONS,
  COMMON_OPTIONS,
  FLOAT_INPUT,
  finish,
  gradientScale,
  inDtypeOf,
  isTypedInput,
  planRunFields,
  numericSteps,
  readAllOptions,
  readOutputs,
  readReduction,
  readWeights,
  viewFor,
  type Numeric,
  type Prepared,
} from './call.js';
import type { Kernels, SigmoidPlan, SimdSupport } from '../backends/contract.js';
import { kernelInputError } from './kernel-errors.js';
import type { FloatArray, IntegerArray } from '../types.js';
import { isIntegerArray, rangeError, readChoice, readNumberInRange } from './validate.js';

const SIGMOID_OPTIONS = [...COMMON_OPTIONS, 'alpha', 'input'] as const;
const SIGMOID_OPTIONS_ASYNC = [...SIGMOID_OPTIONS, ...ASYNC_OPTIONS] as const;

/** Probabilities are clamped to [eps, 1 - eps]; eps depends on the precision of the input. */
export const PROBABILITY_EPSILON = { float32: 1e-7, float64: 1e-15 } as const;

function readTargets(
  value: Numeric,
  original: unknown,
  logits: FloatArray,
  arrays: CallArrays,
): FloatArray | IntegerArray {
  const view = viewFor(value, 'targets', arrays);
  if (lengthOfView(view) !== lengthOfView(logits)) {
    throw rangeError(`${lengthOfView(logits)} targets (the length of logits)`, 'targets', original);
  }
  return isIntegerArray(view) ? view : inDtypeOf(logits, view, arrays);
}

function readAlpha(value: unknown): number | null {
  if (value === null) return null;
  return readNumberInRange(value, 'options.alpha', 0.25, 0, 1);
}

/**
 * The steps of a sigmoidFocalLoss call (see call.ts for their order); the last one returns the
 * validated call. Run with runSync or runSliced.
 */
export function* prepareSigmoid(
  logitsArg: unknown,
  targetsArg: unknown,
  optionsArg: unknown,
  simd: SimdSupport | null,
  allocateResult?: Kernels['allocateResult'],
  asyncCall = false,
): Generator<void, Prepared<SigmoidPlan>> {
  const arrays = new CallArrays();
  const options = readAllOptions(optionsArg, 'sigmoidFocalLoss', asyncCall ? SIGMOID_OPTIONS_ASYNC : SIGMOID_OPTIONS);
  const signal = readSignal(options.signal);
  const logitsIn = isTypedInput(logitsArg, true)
    ? logitsArg
    : yield* numericSteps(logitsArg, 'logits', arrays, FLOAT_INPUT, true);
  const targetsIn = isTypedInput(targetsArg, false)
    ? targetsArg
    : yield* numericSteps(targetsArg, 'targets', arrays, 'a typed array or an array of numbers', false);
  const weightsIn =
    options.weights === undefined || options.weights === null
      ? null
      : yield* numericSteps(options.weights, 'options.weights', arrays, FLOAT_INPUT, true);

  // Step 3: no caller code runs from here on.
  const logits = viewFor(logitsIn as FloatArray, 'logits', arrays);
  const n = lengthOfView(logits);
  const targets = readTargets(targetsIn, targetsArg, logits, arrays);
  const gamma = readNumberInRange(options.gamma, 'options.gamma', 2, 0, Infinity);
  const alpha = readAlpha(options.alpha);
  const labelSmoothing = readNumberInRange(options.labelSmoothing, 'options.labelSmoothing', 0, 0, 1);
  const input = readChoice(options.input, 'options.input', ['logits', 'probabilities'] as const, 'logits');
  const reduction = readReduction(options);
  const weights = readWeights(weightsIn, options.weights, logits, n, 'element', arrays);
  const outputs = readOutputs(
    options,
    reduction.reduction,
    logits,
    n,
    [logits, targets, weights],
    arrays,
    allocateResult,
  );
  const float32 = typeName(logits) === 'Float32Array';

  const plan: SigmoidPlan = {
    logits,
    targets,
    weights,
    gamma,
    alpha,
    labelSmoothing,
    probabilities: input === 'probabilities',
    probabilityEpsilon: float32 ? PROBABILITY_EPSILON.float32 : PROBABILITY_EPSILON.float64,
    gradScale: gradientScale(reduction, n),
    ...planRunFields(options, outputs, simd),
  };
  return {
    plan,
    arrays,
    signal,
    empty: n === 0,
    complete(result) {
      if (result.error) throw kernelInputError(result.error, { targetsAreIntegers: isIntegerArray(targets) });
      return finish(reduction, outputs, result);
    },
  };
}
