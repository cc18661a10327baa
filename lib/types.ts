/** Public types of focal-loss. The semantics of every option are in README.md. */

import type { FloatArray, IntegerArray } from './backends/protocol.js';

// The array types are the addon's too: listed once, in native/protocol.json.
export type { FloatArray, IntegerArray };

/** Any numeric input: typed arrays, or plain `number[]` (read as float64). */
export type NumericInput = FloatArray | IntegerArray | readonly number[];

/** How the per-element (sigmoid) or per-sample (softmax) losses are combined. */
export type Reduction = 'none' | 'sum' | 'mean';

/**
 * Caller-provided output buffers, to avoid allocation on repeated calls. Each must be of the logits'
 * type and must not share memory with an input or with the other buffer; the result's `loss` /
 * `grad` is then the buffer itself. A failed async call never writes them; when a sync call throws
 * on a bad element, their contents are unspecified.
 */
export interface OutputBuffers<A extends FloatArray = FloatArray> {
  /** Per-element (sigmoid) or per-sample (softmax) loss, of their number; only with `reduction: 'none'`. */
  loss?: A;
  /**
   * The gradient with respect to the logits, of the logits' length. Giving it turns `gradient` on
   * (`gradient: false` with `out.grad` is a TypeError).
   */
  grad?: A;
}

interface CommonOptions {
  /** Focusing parameter, >= 0. Default 2. `gamma: 0` is the plain cross-entropy. */
  gamma?: number;
  /** `'mean'` (default), `'sum'` or `'none'`. */
  reduction?: Reduction;
  /** When given, the loss is the sum divided by this positive number (e.g. the number of positive anchors). */
  normalizer?: number;
  /** Non-negative finite weights: per element (sigmoid) or per sample (softmax). */
  weights?: FloatArray | readonly number[];
  /** Label smoothing in [0, 1]. Default 0. */
  labelSmoothing?: number;
  /**
   * Also compute the gradient of the reduced loss with respect to the logits. Default false, or
   * true when `out.grad` is given.
   */
  gradient?: boolean;
  /** Output buffers to write into instead of allocating (see {@link OutputBuffers}). */
  out?: OutputBuffers;
  /**
   * The most threads the native kernel may use (default: FOCAL_LOSS_NUM_THREADS, else the number of
   * cores). Small inputs use one. Results are the same bits for any value. The JS backend ignores it.
   */
  threads?: number;
  /**
   * The instruction set of the native kernels for this call (default: the best this CPU has, capped
   * by FOCAL_LOSS_SIMD). Must be one of backend().simdLevels. For tests and diagnosis; the JS
   * backend ignores it.
   */
  simd?: 'avx512' | 'avx2' | 'neon' | 'scalar';
}

export interface SigmoidFocalLossOptions extends CommonOptions {
  /** Weight of the positive class in [0, 1] (negatives get 1 - alpha), or null for none. Default 0.25. */
  alpha?: number | null;
  /** `'logits'` (default) or `'probabilities'` (clamped to [eps, 1 - eps]; gradient is then with respect to p). */
  input?: 'logits' | 'probabilities';
}

export interface SoftmaxFocalLossOptions extends CommonOptions {
  /** Number of classes C, for logits laid out `[N, C]` (class last). */
  numClasses?: number;
  /** Full shape of the logits, e.g. `[N, C, H, W]`; the class axis is `classAxis`. */
  shape?: readonly number[];
  /** Axis of `shape` holding the classes. Default 1 (PyTorch layout); negative counts from the end. */
  classAxis?: number;
  /** A scalar (scales the loss), a per-class array of length C, or null (default: no weighting). */
  alpha?: number | readonly number[] | FloatArray | null;
  /** Label value that contributes no loss, no gradient and no count. Default -100. */
  ignoreIndex?: number;
}

/**
 * The option only the async functions take ({@link sigmoidFocalLossAsync}, {@link softmaxFocalLossAsync}).
 */
export interface AsyncOptions {
  /**
   * Aborts the call. Aborted before the call, it rejects without copying or computing anything;
   * aborted while the call runs, the work stops between blocks and the promise rejects with an
   * `AbortError`, as Node's own promise APIs do (fs.promises, timers/promises): an Error with
   * `name` 'AbortError', `code` 'ABORT_ERR' and the signal's `reason` as its `cause`. An aborted
   * call leaves the `out` buffers untouched. Aborted after the computation finished (while the
   * results are copied into `out`, or after the promise settled), it has no effect.
   */
  signal?: AbortSignal;
}

/** The options of {@link sigmoidFocalLossAsync}. */
export type SigmoidFocalLossAsyncOptions = SigmoidFocalLossOptions & AsyncOptions;
/** The options of {@link softmaxFocalLossAsync}. */
export type SoftmaxFocalLossAsyncOptions = SoftmaxFocalLossOptions & AsyncOptions;

/**
 * The result of a call, for options not known at compile time. `loss` is a number for
 * `'sum'`/`'mean'`/normalizer, an array for `'none'`; `grad` is there with `gradient: true` or
 * `out.grad`. The functions return the narrower {@link ResultFor} of their options.
 */
export interface FocalLossResult<A extends FloatArray = FloatArray> {
  loss: number | A;
  /** With `gradient: true` or `out.grad`: the gradient of the reduced loss, shaped like the logits. */
  grad?: A;
  /** Number of elements (sigmoid) or non-ignored samples (softmax) that counted in the loss. */
  count: number;
}

/** Logits: a float typed array, or plain numbers (read as float64). */
export type Logits = FloatArray | readonly number[];

/** The element type of the outputs for logits of type `L`: float32 for float32, float64 for float64 and `number[]`. */
export type OutputArray<L> = L extends Float32Array ? Float32Array : Float64Array;

/** The type of option `K` in the options type `O` (`undefined` when `O` has no such key). */
type OptionType<O, K extends PropertyKey> = K extends keyof O ? O[K] : undefined;

/**
 * The type of `loss` for options `O`: the array `A` for `reduction: 'none'`, a number for `'mean'`,
 * `'sum'`, a normalizer or no reduction, and `number | A` when the reduction is not known.
 */
export type LossFor<O, A extends FloatArray> = [OptionType<O, 'reduction'>] extends [undefined]
  ? number
  : [OptionType<O, 'reduction'>] extends ['none']
    ? A
    : 'none' extends OptionType<O, 'reduction'>
      ? number | A
      : number;

/** The type of `out.grad` in options `O` (`undefined` when there is none). */
type OutGrad<O> =
  OptionType<O, 'out'> extends infer Out ? (Out extends object ? OptionType<Out, 'grad'> : undefined) : never;

/**
 * The `grad` part of the result for options `O`: a defined `grad: A` with `gradient: true` or an
 * `out.grad` buffer, no `grad` without either, and an optional one when that is not known.
 */
export type GradFor<O, A extends FloatArray> = [OptionType<O, 'gradient'>] extends [true]
  ? { grad: A }
  : [Exclude<OutGrad<O>, undefined | null>] extends [never]
    ? [OptionType<O, 'gradient'>] extends [false | undefined]
      ? { grad?: undefined }
      : { grad?: A }
    : [OutGrad<O>] extends [FloatArray]
      ? { grad: A }
      : { grad?: A };

/**
 * The result of a call with logits of type `L` and options of type `O`, as narrow as the options
 * allow: `loss` is an array only for `reduction: 'none'`, `grad` is defined with `gradient: true` or
 * `out.grad` and absent without them; the arrays are of the logits' element type.
 *
 * @example
 * ```ts
 * const r = sigmoidFocalLoss(new Float32Array(4), new Uint8Array(4), { reduction: 'none', gradient: true });
 * r.loss; // Float32Array
 * r.grad; // Float32Array (not undefined)
 * ```
 */
export type ResultFor<L, O = SigmoidFocalLossOptions | SoftmaxFocalLossOptions> = {
  /** A number for `'mean'`, `'sum'` and normalizer; one loss per element or sample for `'none'`. */
  loss: LossFor<O, OutputArray<L>>;
  /** Number of elements (sigmoid) or non-ignored samples (softmax) that counted in the loss. */
  count: number;
} & GradFor<O, OutputArray<L>>;

/** The options type of a call without options: every option at its default. */
export type DefaultOptions = Record<never, never>;

/**
 * Keys of `O` that `Known` does not have, mapped to `never`. In the constraint of an options type
 * parameter (`O extends Known & NoUnknownOptions<O, Known>`) it keeps the excess-property check
 * that a generic parameter would lose: a typo such as `gama` is a compile error. Options typed with
 * an index signature (`Record<string, unknown>`) are left to the run-time check.
 */
export type NoUnknownOptions<O, Known> = string extends keyof O
  ? unknown
  : { [K in Exclude<keyof O, keyof Known>]: never };

/** What `backend()` reports. */
export interface BackendInfo {
  name: 'native' | 'js';
  openmp: boolean;
  /** The default number of threads per call (1 without OpenMP). */
  threads: number;
  /** The instruction set the kernels use by default ('scalar' for the JS backend). */
  simd: 'avx512' | 'avx2' | 'neon' | 'scalar';
  /** Every level this CPU and build run, for the `simd` option. */
  simdLevels: Array<'avx512' | 'avx2' | 'neon' | 'scalar'>;
  /** The native addon in use: a local build (build/Release) or the prebuilt binary (prebuilds/). */
  path?: string;
  /** Why the native addon is not in use, when it is not. */
  loadError?: string;
}

/** Options of {@link sigmoidFocalLossMeter}: what every chunk is evaluated with, and the meter's shard name. */
export interface SigmoidFocalLossMeterOptions {
  /** As for {@link SigmoidFocalLossOptions}. Default 2. */
  gamma?: number;
  /** As for {@link SigmoidFocalLossOptions}. Default 0.25. */
  alpha?: number | null;
  /** As for {@link SigmoidFocalLossOptions}. Default 0. */
  labelSmoothing?: number;
  /** As for {@link SigmoidFocalLossOptions}. Default `'logits'`. */
  input?: 'logits' | 'probabilities';
  /**
   * Also keep count, loss and cross-entropy per class, the class of an element being its column:
   * in a chunk laid out `[N, C, ...inner]` (`[N, C]` unless `add` is given a `shape`), element i is
   * in class `(i / inner) % C`. Needs `numClasses`. Default false.
   */
  perClass?: boolean;
  /** The number of classes C (with `perClass`, and only with it): every chunk is `[N, C, ...]`. */
  numClasses?: number;
  /**
   * Elements whose target equals this integer count nowhere (not in the sums, the count or their
   * class), as if they had been cut out of the chunk; the loss function has no such option, so a
   * meter with it equals one call over the other elements. Default none.
   */
  ignoreIndex?: number;
  /**
   * The name of the data this meter adds (a file, a shard of a distributed run). A meter's state
   * lists the shards in it, and merging a state whose shards are already in the meter is an error,
   * so a retried shard can never be counted twice. Default: a random UUID.
   */
  shard?: string;
  /** As for {@link SigmoidFocalLossOptions}: the bits of the result do not depend on it. */
  threads?: number;
  /** As for {@link SigmoidFocalLossOptions}. */
  simd?: 'avx512' | 'avx2' | 'neon' | 'scalar';
}

/** Options of {@link softmaxFocalLossMeter}. */
export interface SoftmaxFocalLossMeterOptions {
  /** The number of classes C (required): every chunk is `[N, C]`, or `[N, C, ...]` with the `shape` of {@link FocalLossMeterAddOptions}. */
  numClasses: number;
  /** As for {@link SoftmaxFocalLossOptions}. Default 2. */
  gamma?: number;
  /** As for {@link SoftmaxFocalLossOptions}. Default none. */
  alpha?: number | readonly number[] | FloatArray | null;
  /** As for {@link SoftmaxFocalLossOptions}. Default -100. */
  ignoreIndex?: number;
  /** As for {@link SoftmaxFocalLossOptions}. Default 0. */
  labelSmoothing?: number;
  /** Also keep count, loss and cross-entropy per class (needs integer labels). Default false. */
  perClass?: boolean;
  /** As for {@link SigmoidFocalLossMeterOptions}. */
  shard?: string;
  threads?: number;
  simd?: 'avx512' | 'avx2' | 'neon' | 'scalar';
}

/** Per-chunk options of a meter's `add` and `addAsync`. */
export interface FocalLossMeterAddOptions {
  /** Weights of this chunk's elements (sigmoid) or samples (softmax), as for the loss functions. */
  weights?: FloatArray | readonly number[];
  /**
   * This chunk's shape `[N, C, ...]` (C must be the meter's numClasses), as for softmaxFocalLoss;
   * for a sigmoid meter, only with `perClass`, where it says which class (column) each element is in.
   */
  shape?: readonly number[];
  /** The class axis of `shape` (default 1). */
  classAxis?: number;
}

/** One class in a meter's result (with `perClass: true`). */
export interface FocalLossMeterClass {
  class: number;
  /** Samples of this class (softmax) or elements of this column (sigmoid) that were not ignored. */
  count: number;
  /** The mean focal loss of those samples (0 when there are none). */
  loss: number;
  /** Their mean cross-entropy: the same loss with gamma = 0 (alpha, weights and smoothing kept). */
  crossEntropy: number;
  /** This class's part of the total focal loss sum, in [0, 1] (0 when the total is 0). */
  share: number;
}

/** What a meter reports: the same numbers as one call over all the data it was given. */
export interface FocalLossMeterResult {
  /** The mean focal loss: `sum / count` (0 for no data), as reduction `'mean'` gives it. */
  loss: number;
  /** The focal loss summed over every element or sample, as reduction `'sum'` gives it. */
  sum: number;
  /** Elements (sigmoid) or non-ignored samples (softmax) added. */
  count: number;
  /** The mean cross-entropy: the same loss with gamma = 0 (alpha, weights and smoothing kept). */
  crossEntropy: number;
  /** With `perClass: true`: one entry per class, in class order. */
  perClass?: FocalLossMeterClass[];
}
