/**
 * The contract between the facade and a backend. The facade validates the caller's arguments and
 * resolves the options into a plan; a backend (native addon or JS) only computes. Both backends
 * implement exactly this interface, so validation and error messages are shared.
 */
import type { SimdLevels, SimdName } from './simd.js';
import type { SigmoidPlan, SoftmaxPlan } from './protocol.js';
import type { ReproducibleSumState } from '../reduce/reproducible-sum.js';

/**
 * The plans: generated from native/protocol.json (the one description of the plan protocol both
 * languages share), with their keys in the order the native addon takes their values as arguments
 * (the native loader passes them so, with callSigmoidPlan / callSoftmaxPlan; the JS kernels take the
 * objects as they are).
 */
export type { SigmoidPlan, SoftmaxPlan } from './protocol.js';

/** A bad element found while computing (reported, never thrown, by the kernels). */
export interface KernelInputError {
  kind: 'target' | 'weight' | 'label' | 'probability';
  index: number;
  value: number;
}

export interface KernelResult {
  /**
   * Sum of the (weighted) losses: the value of `sumState`, a reproducible sum (lib/reduce/reproducible-sum.ts)
   * whose bits depend only on the multiset of losses, not on blocks, threads or order.
   */
  sum: number;
  /** The canonical state behind `sum` (absent only where nothing was computed); a meter merges these. */
  sumState?: ReproducibleSumState;
  /** Elements (sigmoid) or non-ignored samples (softmax) counted. */
  count: number;
  error?: KernelInputError;
  /** Set when an async kernel stopped part way on request (StopRequest): sum and count mean nothing. */
  stopped?: true;
}

/**
 * How the facade asks an async kernel to stop (an aborted call): `requested` is true from the
 * moment the call's signal is aborted, and `onRequest`'s listeners run once, then. The kernel
 * stops before its next block (or step) and resolves with `stopped` set.
 */
export interface StopRequest {
  readonly requested: boolean;
  onRequest(listener: () => void): void;
}

/** The instruction sets of a native backend, and the one a call uses when it does not say. */
export interface SimdSupport {
  levels: SimdLevels;
  default: SimdName;
}

export interface Kernels {
  /** null for the JS backend. */
  simd: SimdSupport | null;
  sigmoid(plan: SigmoidPlan): KernelResult;
  softmax(plan: SoftmaxPlan): KernelResult;
  /**
   * The same work off the caller's path; the plan's arrays must not change until it settles. With
   * `stop`, it stops between blocks once asked to (the result then has `stopped` set).
   */
  sigmoidAsync(plan: SigmoidPlan, stop?: StopRequest): Promise<KernelResult>;
  softmaxAsync(plan: SoftmaxPlan, stop?: StopRequest): Promise<KernelResult>;
  /**
   * Present when the async kernels accept only arrays on buffers from it (the native addon: memory
   * it owns and reference-counts, so that a transfer cannot free what a job reads). A buffer of
   * `byteLength` bytes with unspecified contents. Absent (JS backend): any memory will do.
   */
  allocate?(byteLength: number): ArrayBuffer;
  /**
   * Present when the backend has memory of its own for the arrays a call returns (a new gradient, a
   * 'none' loss): a new array of `length` elements with unspecified contents, every one of which
   * the kernel writes. The native addon's (lib/backends/native/result-memory.ts) puts large ones
   * on recycled huge pages. Absent (JS backend): `new Ctor(length)`.
   */
  allocateResult?(Ctor: ResultConstructor, length: number): Float32Array | Float64Array;
}

/** The constructor of a result array: the logits' element type. */
export type ResultConstructor = Float32ArrayConstructor | Float64ArrayConstructor;
