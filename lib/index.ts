/**
 * focal-loss: sigmoid and softmax focal loss (Lin et al., ICCV 2017) and their gradients, computed
 * by a native addon when it is built, by an equivalent JS implementation otherwise. For Node.js
 * (20 or later), not for browsers.
 *
 * Every option is described on {@link SigmoidFocalLossOptions} and {@link SoftmaxFocalLossOptions};
 * the formulas and the numerical contract are in docs/NUMERICS.md.
 *
 * @packageDocumentation
 */
import { createFocalLoss, type FocalLossApi } from './facade/api.js';
import { jsKernels } from './backends/js/kernels.js';
import { loadNative } from './backends/native/loader.js';
import { SIMD_NAMES } from './backends/simd.js';
import { numThreadsSetting, once } from './environment.js';
import type {
  BackendInfo,
  DefaultOptions,
  Logits,
  NoUnknownOptions,
  NumericInput,
  ResultFor,
  SigmoidFocalLossAsyncOptions,
  SigmoidFocalLossMeterOptions,
  SigmoidFocalLossOptions,
  SoftmaxFocalLossAsyncOptions,
  SoftmaxFocalLossMeterOptions,
  SoftmaxFocalLossOptions,
} from './types.js';
import type { FocalLossMeter } from './meter/meter.js';
import type { FocalLossMeterState } from './meter/state.js';

/**
 * The backend, chosen and loaded on the first call of any function below rather than at import, so
 * that importing never throws because of the environment (lib/environment.ts): a bad variable, or
 * FOCAL_LOSS_BACKEND=native without a loadable addon, is an error of that first call, and of every
 * later one (the same error: the choice is made once per process, as at import before).
 */
const use = once(() => {
  const native = loadNative();
  return { native, api: createFocalLoss(native.kernels ?? jsKernels) };
});

/** The async functions never throw synchronously: a failure to wire the backend rejects instead. */
function useAsync<T>(call: (api: FocalLossApi) => Promise<T>): Promise<T> {
  let api: FocalLossApi;
  try {
    api = use().api;
  } catch (error) {
    return Promise.reject(error);
  }
  return call(api);
}

// The four functions below are declared here (not re-exported from `api`) so that the generated
// reference documents them as functions, with their parameters; each only delegates.

/**
 * Binary / multi-label focal loss: every element of `logits` is its own binary problem with
 * target `targets[i]` (0/1 labels, or soft targets in [0, 1]). Per element, with `p = sigmoid(x)`:
 * `L = -alpha_t * (1 - p_t)^gamma * log(p_t)`.
 *
 * @param logits - The logits (or probabilities, with `input: 'probabilities'`), any number of
 *   elements: a `Float32Array`, a `Float64Array` or a `number[]` (read as float64). The outputs have
 *   the same element type (float32 for float32, float64 otherwise).
 * @param targets - One target per logit: an integer typed array of 0/1, or a float typed array or
 *   `number[]` of values in [0, 1] (read in the logits' precision).
 * @param options - gamma (default 2), alpha (default 0.25), reduction (default `'mean'`),
 *   normalizer, weights, labelSmoothing, input, gradient, out, threads, simd: see
 *   {@link SigmoidFocalLossOptions}.
 * @returns `{ loss, grad?, count }`: `loss` is a number, or one loss per element with
 *   `reduction: 'none'`; `grad` (with `gradient: true` or `out.grad`) is the gradient of that loss
 *   with respect to the logits; `count` is the number of elements. The type is narrowed by the
 *   options ({@link ResultFor}).
 * @throws TypeError (`code: 'ERR_INVALID_ARG_TYPE'`) for an argument or option of the wrong type,
 *   and (`code: 'ERR_INVALID_ARG_VALUE'`) for an unknown option; RangeError
 *   (`code: 'ERR_OUT_OF_RANGE'`) for a value out of range, a wrong length, conflicting options or a
 *   bad element (a target outside [0, 1], a negative weight). The error's `argument` names the
 *   argument (`'targets'`, `'options.gamma'`) and, for a bad element, `index` is its position.
 * @example
 * ```ts
 * import { sigmoidFocalLoss } from 'focal-loss';
 *
 * const r = sigmoidFocalLoss(new Float32Array([2.1, -0.3]), new Uint8Array([1, 0]), { gradient: true });
 * r.loss; // number: the mean focal loss over the 2 elements
 * r.grad; // Float32Array(2): its gradient with respect to the logits
 * ```
 */
export function sigmoidFocalLoss<
  L extends Logits,
  const O extends SigmoidFocalLossOptions & NoUnknownOptions<O, SigmoidFocalLossOptions> = DefaultOptions,
>(logits: L, targets: NumericInput, options?: O): ResultFor<L, O> {
  return use().api.sigmoidFocalLoss(logits, targets, options);
}

/**
 * Multi-class focal loss over logits `[N, C]` (`numClasses: C`) or `[N, C, ...spatial]`
 * (`shape`, `classAxis`), with one integer class per sample or soft targets shaped like the
 * logits. Per sample, with `p = softmax(z)` over the classes and true class `y`:
 * `L = -alpha[y] * (1 - p_y)^gamma * log(p_y)`.
 *
 * @param logits - The logits: a `Float32Array`, a `Float64Array` or a `number[]` (read as float64),
 *   laid out `[N, C]` (class last) or as `shape` says. The outputs have the same element type.
 * @param labels - One class in [0, C) (or `ignoreIndex`) per sample, as an integer typed array or an
 *   integer `number[]`; or soft targets in [0, 1] shaped like the logits, as a float array.
 * @param options - numClasses or shape (one of them is required), classAxis (default 1), gamma
 *   (default 2), alpha (default none), ignoreIndex (default -100), reduction (default `'mean'`),
 *   normalizer, weights, labelSmoothing, gradient, out, threads, simd: see
 *   {@link SoftmaxFocalLossOptions}.
 * @returns `{ loss, grad?, count }`: `loss` is a number, or one loss per sample with
 *   `reduction: 'none'`; `grad` (with `gradient: true` or `out.grad`) is shaped like the logits;
 *   `count` is the number of samples that are not ignored. The type is narrowed by the options
 *   ({@link ResultFor}).
 * @throws TypeError (`code: 'ERR_INVALID_ARG_TYPE'`) for an argument or option of the wrong type,
 *   and (`code: 'ERR_INVALID_ARG_VALUE'`) for an unknown option; RangeError
 *   (`code: 'ERR_OUT_OF_RANGE'`) for a value out of range, a wrong length or shape, conflicting
 *   options or a bad element (a label outside [0, C) that is not the ignoreIndex). The error's
 *   `argument` names the argument (`'labels'`, `'options.numClasses'`) and, for a bad element,
 *   `index` is its position.
 * @example
 * ```ts
 * import { softmaxFocalLoss } from 'focal-loss';
 *
 * // N = 2 samples, C = 3 classes, class last.
 * const z = new Float64Array([0.0, 0.1, 0.2, 0.3, 1.5, -1.0]);
 * const s = softmaxFocalLoss(z, new Int32Array([2, 1]), { numClasses: 3, reduction: 'none' });
 * s.loss; // Float64Array(2): one loss per sample
 * ```
 */
export function softmaxFocalLoss<
  L extends Logits,
  const O extends SoftmaxFocalLossOptions & NoUnknownOptions<O, SoftmaxFocalLossOptions>,
>(logits: L, labels: NumericInput, options: O): ResultFor<L, O> {
  return use().api.softmaxFocalLoss(logits, labels, options);
}

/**
 * {@link sigmoidFocalLoss} off the main thread, as a Promise: the native backend computes on the
 * libuv thread pool; the JS backend computes on the main thread in blocks, with a turn of the event
 * loop between them.
 *
 * Do not modify, transfer or resize the arrays passed to an async call (inputs and `out` buffers)
 * until its promise settles. If you do, the results are unspecified, but never a crash or an
 * out-of-bounds access, and a failed call never writes your `out` buffers. (Internally the inputs
 * are copied progressively, for memory safety; that is not a license to modify them.)
 *
 * With `options.signal` (an AbortSignal, see {@link AsyncOptions}) the call can be aborted: the
 * work stops between blocks and the promise rejects with an `AbortError` (`code: 'ABORT_ERR'`, the
 * signal's reason as `cause`), as Node's own promise APIs do; `out` buffers are left untouched.
 *
 * @param logits - As for {@link sigmoidFocalLoss}.
 * @param targets - As for {@link sigmoidFocalLoss}.
 * @param options - As for {@link sigmoidFocalLoss}, and `signal` ({@link AsyncOptions}).
 * @returns A Promise of the same result as {@link sigmoidFocalLoss}.
 * @throws Never synchronously: the errors of {@link sigmoidFocalLoss} reject the promise instead,
 *   and so does an abort (an `AbortError`); a `signal` that is not an AbortSignal is a TypeError
 *   naming `options.signal`.
 * @example
 * ```ts
 * import { sigmoidFocalLossAsync } from 'focal-loss';
 *
 * const r = await sigmoidFocalLossAsync(new Float32Array([2.1, -0.3]), new Uint8Array([1, 0]));
 * r.loss; // number, the same as the sync call's
 *
 * // With a deadline: if the call takes longer than 1 s, it rejects with an AbortError.
 * await sigmoidFocalLossAsync(new Float32Array([2.1]), new Uint8Array([1]), { signal: AbortSignal.timeout(1000) });
 * ```
 */
export function sigmoidFocalLossAsync<
  L extends Logits,
  const O extends SigmoidFocalLossAsyncOptions & NoUnknownOptions<O, SigmoidFocalLossAsyncOptions> = DefaultOptions,
>(logits: L, targets: NumericInput, options?: O): Promise<ResultFor<L, O>> {
  return useAsync((api) => api.sigmoidFocalLossAsync(logits, targets, options));
}

/**
 * {@link softmaxFocalLoss} off the main thread, as a Promise; the same rule as
 * {@link sigmoidFocalLossAsync}: do not modify, transfer or resize the arrays passed to an async
 * call (inputs and `out` buffers) until its promise settles. If you do, the results are
 * unspecified, but never a crash or an out-of-bounds access, and a failed call never writes your
 * `out` buffers.
 *
 * `options.signal` aborts it as it does {@link sigmoidFocalLossAsync} (see {@link AsyncOptions}).
 *
 * @param logits - As for {@link softmaxFocalLoss}.
 * @param labels - As for {@link softmaxFocalLoss}.
 * @param options - As for {@link softmaxFocalLoss}, and `signal` ({@link AsyncOptions}).
 * @returns A Promise of the same result as {@link softmaxFocalLoss}.
 * @throws Never synchronously: the errors of {@link softmaxFocalLoss} reject the promise instead,
 *   and so does an abort (an `AbortError`).
 * @example
 * ```ts
 * import { softmaxFocalLossAsync } from 'focal-loss';
 *
 * const s = await softmaxFocalLossAsync([0, 0, 5, 0], [1, 0], { numClasses: 2, gradient: true });
 * s.grad; // Float64Array(4)
 * ```
 */
export function softmaxFocalLossAsync<
  L extends Logits,
  const O extends SoftmaxFocalLossAsyncOptions & NoUnknownOptions<O, SoftmaxFocalLossAsyncOptions>,
>(logits: L, labels: NumericInput, options: O): Promise<ResultFor<L, O>> {
  return useAsync((api) => api.softmaxFocalLossAsync(logits, labels, options));
}

/**
 * A streaming, mergeable evaluator of the sigmoid focal loss: add chunks of any size, in any order,
 * on any thread count, merge meters or their states from other processes, and read the same loss,
 * to the last bit, as one {@link sigmoidFocalLoss} call over all the data (`reduction: 'sum'` and
 * `'mean'`). The sums are reproducible sums of the per-element losses (docs/NUMERICS.md), so they do
 * not depend on how the data was split.
 *
 * @param options - gamma, alpha, labelSmoothing, input (as for {@link sigmoidFocalLoss}), perClass
 *   and numClasses (per-column totals), ignoreIndex (targets that count nowhere), shard (the name
 *   of this meter's data; default a random UUID), threads, simd. See {@link SigmoidFocalLossMeterOptions}.
 * @returns A meter: `add(logits, targets, { weights, shape, classAxis }?)` (returns the chunk's own
 *   result), `addAsync(..., { signal }?)`, `merge(meterOrState)`, `state()`, `result()`, `shards`.
 *   See {@link FocalLossMeter}.
 * @throws The errors of {@link sigmoidFocalLoss} for bad options, now; those of its arguments from `add`.
 * @example
 * ```ts
 * import { sigmoidFocalLoss, sigmoidFocalLossMeter } from 'focal-loss';
 *
 * const x = new Float32Array([2.1, -0.3, 0.7, -1.2]);
 * const t = new Uint8Array([1, 0, 0, 1]);
 * const m = sigmoidFocalLossMeter({ gamma: 2 });
 * m.add(x.subarray(0, 1), t.subarray(0, 1)); // this chunk's { loss, sum, count, crossEntropy }
 * m.add(x.subarray(1), t.subarray(1));
 * m.result().sum === sigmoidFocalLoss(x, t, { reduction: 'sum' }).loss; // true
 * ```
 */
export function sigmoidFocalLossMeter(options?: SigmoidFocalLossMeterOptions): FocalLossMeter {
  return use().api.focalLossMeter('sigmoid', options);
}

/**
 * A sigmoid meter holding a state from {@link FocalLossMeter.state} (of this process or another):
 * checked, and refused with a TypeError or RangeError if it is not a sigmoid meter state.
 */
sigmoidFocalLossMeter.fromState = (state: FocalLossMeterState): FocalLossMeter =>
  use().api.focalLossMeterFromState('sigmoid', state);

/**
 * A streaming, mergeable evaluator of the softmax focal loss, as {@link sigmoidFocalLossMeter}:
 * the same bits as one {@link softmaxFocalLoss} call over all the data, whatever the chunking,
 * order, threads or merges; with `perClass: true` also the count, loss, cross-entropy and share of
 * the loss of every class.
 *
 * @param options - numClasses (required), gamma, alpha, ignoreIndex, labelSmoothing (as for
 *   {@link softmaxFocalLoss}), perClass, shard, threads, simd. See {@link SoftmaxFocalLossMeterOptions}.
 * @returns A meter: `add(logits, labels, { weights, shape, classAxis }?)`, `addAsync(...)`,
 *   `merge(meterOrState)`, `state()`, `result()`, `shards`. See {@link FocalLossMeter}.
 * @throws The errors of {@link softmaxFocalLoss} for bad options, now; those of its arguments from `add`.
 * @example
 * ```ts
 * import { softmaxFocalLossMeter } from 'focal-loss';
 *
 * const a = softmaxFocalLossMeter({ numClasses: 3, perClass: true, shard: 'part-a' });
 * a.add(new Float32Array([0.2, 1.5, -1, 3, 0, 0]), new Int32Array([1, 0]));
 * const b = softmaxFocalLossMeter({ numClasses: 3, perClass: true, shard: 'part-b' });
 * await b.addAsync(new Float32Array([0, 0, 4]), new Int32Array([2]));
 * const state = JSON.stringify(b.state()); // to another process, a file, a queue
 * a.merge(JSON.parse(state));
 * a.result().count; // 3
 * a.result().perClass?.[2]?.count; // 1
 * ```
 */
export function softmaxFocalLossMeter(options: SoftmaxFocalLossMeterOptions): FocalLossMeter {
  return use().api.focalLossMeter('softmax', options);
}

/**
 * A softmax meter holding a state from {@link FocalLossMeter.state} (of this process or another):
 * checked, and refused with a TypeError or RangeError if it is not a softmax meter state.
 */
softmaxFocalLossMeter.fromState = (state: FocalLossMeterState): FocalLossMeter =>
  use().api.focalLossMeterFromState('softmax', state);

/**
 * Which implementation computes, and why the native addon is not used when it is not.
 *
 * @returns `{ name, openmp, threads, simd, simdLevels }`, and `path` (the addon file) for the native
 *   backend or `loadError` (why the addon was not used) for the JS one. See {@link BackendInfo}.
 * @example
 * ```ts
 * import { backend } from 'focal-loss';
 *
 * const b = backend();
 * if (b.name === 'js') console.warn(`focal-loss: JavaScript implementation (${b.loadError})`);
 * ```
 */
export function backend(): BackendInfo {
  const { native } = use();
  // Read on both backends (the JS one reports 1), so that backend() surfaces a bad value either way.
  const threads = numThreadsSetting();
  if (native.info && native.kernels?.simd) {
    const { levels, default: simd } = native.kernels.simd;
    return {
      name: 'native',
      openmp: native.info.openmp,
      threads: native.info.openmp ? threads : 1,
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

export type { FocalLossMeter } from './meter/meter.js';
export type {
  ClassState,
  FocalLossMeterState,
  Identity,
  MeterKind,
  SigmoidIdentity,
  SoftmaxIdentity,
} from './meter/state.js';
export type { ReproducibleSumState } from './reduce/reproducible-sum.js';
export type {
  AsyncOptions,
  BackendInfo,
  FocalLossMeterAddOptions,
  FocalLossMeterClass,
  FocalLossMeterResult,
  SigmoidFocalLossMeterOptions,
  SoftmaxFocalLossMeterOptions,
  DefaultOptions,
  FloatArray,
  FocalLossResult,
  GradFor,
  IntegerArray,
  Logits,
  LossFor,
  NoUnknownOptions,
  NumericInput,
  OutputArray,
  OutputBuffers,
  Reduction,
  ResultFor,
  SigmoidFocalLossAsyncOptions,
  SigmoidFocalLossOptions,
  SoftmaxFocalLossAsyncOptions,
  SoftmaxFocalLossOptions,
} from './types.js';
