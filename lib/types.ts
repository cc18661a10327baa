/** Public types of focal-loss. The semantics of every option are in README.md. */

/** Floating-point arrays accepted for logits, soft targets and weights. */
export type FloatArray = Float32Array | Float64Array;

/** Integer arrays accepted for hard labels. */
export type IntegerArray =
  Uint8Array | Uint8ClampedArray | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

/** Any numeric input: typed arrays, or plain `number[]` (read as float64). */
export type NumericInput = FloatArray | IntegerArray | readonly number[];

export type Reduction = 'none' | 'sum' | 'mean';

/** Caller-provided output buffers, to avoid allocation on repeated calls. */
export interface OutputBuffers<A extends FloatArray = FloatArray> {
  /** Per-element (sigmoid) or per-sample (softmax) loss; only with `reduction: 'none'`. */
  loss?: A;
  /** Gradient with respect to the logits; same type and length as the logits. Needs `gradient: true`. */
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
  /** Also compute the gradient of the reduced loss with respect to the logits. Default false. */
  gradient?: boolean;
  /** Output buffers to write into instead of allocating. */
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

/** The result of a call. `loss` is a number for `'sum'`/`'mean'`/normalizer, an array for `'none'`. */
export interface FocalLossResult<A extends FloatArray = FloatArray> {
  loss: number | A;
  /** Present when `gradient: true`: the gradient of the reduced loss, shaped like the logits. */
  grad?: A;
  /** Number of elements (sigmoid) or non-ignored samples (softmax) that counted in the loss. */
  count: number;
}

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
