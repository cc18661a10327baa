/**
 * focal-loss: sigmoid and softmax focal loss (Lin et al., ICCV 2017) and their gradients, computed
 * by a native addon when it is built, by an equivalent JS implementation otherwise.
 */
import { createFocalLoss } from './api.js';
import { jsKernels } from './js/kernels.js';
import { loadNative } from './loader.js';
import { SIMD_NAMES } from './simd.js';
import { defaultThreads } from './threads.js';
import type { BackendInfo } from './types.js';

const native = loadNative();
const api = createFocalLoss(native.kernels ?? jsKernels);

/**
 * Binary / multi-label focal loss: every element of `logits` is its own binary problem with
 * target `targets[i]` (0/1 labels, or soft targets in [0, 1]).
 */
export const sigmoidFocalLoss = api.sigmoidFocalLoss;

/**
 * Multi-class focal loss over logits `[N, C]` (`numClasses: C`) or `[N, C, ...spatial]`
 * (`shape`, `classAxis`), with one integer class per sample or soft targets shaped like the logits.
 */
export const softmaxFocalLoss = api.softmaxFocalLoss;

/**
 * sigmoidFocalLoss off the main thread: the native backend runs it on the libuv thread pool. The
 * arrays are kept alive (not copied) until the promise settles: do not modify them meanwhile.
 * The JS backend computes on the main thread in blocks, giving the event loop a turn between them.
 */
export const sigmoidFocalLossAsync = api.sigmoidFocalLossAsync;

/** softmaxFocalLoss off the main thread; see sigmoidFocalLossAsync. */
export const softmaxFocalLossAsync = api.softmaxFocalLossAsync;

/** Which implementation computes, and why the native addon is not used when it is not. */
export function backend(): BackendInfo {
  if (native.info && native.kernels?.simd) {
    const { levels, default: simd } = native.kernels.simd;
    return {
      name: 'native',
      openmp: native.info.openmp,
      threads: native.info.openmp ? defaultThreads : 1,
      simd,
      simdLevels: SIMD_NAMES.filter((name) => levels[name] !== undefined),
      path: native.path!,
    };
  }
  return {
    name: 'js',
    openmp: false,
    threads: 1,
    simd: 'scalar',
    simdLevels: ['scalar'],
    loadError: native.loadError!,
  };
}

export type { Logits, ResultFor } from './api.js';
export type {
  BackendInfo,
  FloatArray,
  FocalLossResult,
  IntegerArray,
  NumericInput,
  OutputBuffers,
  Reduction,
  SigmoidFocalLossOptions,
  SoftmaxFocalLossOptions,
} from './types.js';
