/**
 * The contract between the facade and a backend. The facade validates the caller's arguments and
 * resolves the options into a plan; a backend (native addon or JS) only computes. Both backends
 * implement exactly this interface, so validation and error messages are shared.
 */
import type { SimdLevels, SimdName } from './simd.js';
import type { FloatArray, IntegerArray } from '../types.js';

export interface SigmoidPlan {
  logits: FloatArray;
  /** Hard 0/1 labels (integer array) or targets in [0, 1] of the logits' dtype. */
  targets: FloatArray | IntegerArray;
  /** Per-element weights of the logits' dtype, or null. */
  weights: FloatArray | null;
  gamma: number;
  /** Weight of the positive class, or null for none. */
  alpha: number | null;
  labelSmoothing: number;
  /** The inputs are probabilities, clamped to [probabilityEpsilon, 1 - probabilityEpsilon]. */
  probabilities: boolean;
  probabilityEpsilon: number;
  /** Every gradient element is multiplied by this (1, 1/N or 1/normalizer). */
  gradScale: number;
  /** Per-element loss output (reduction 'none') or null. */
  lossOut: FloatArray | null;
  /** Gradient output or null. */
  gradOut: FloatArray | null;
  /** The most threads the native kernel may use; results do not depend on it. */
  threads: number;
  /** The native instruction set (its level number), or -1 for the JS backend. */
  simd: number;
}

export interface SoftmaxPlan {
  logits: FloatArray;
  /** Integer class per sample (length outer * inner), or null when `targets` is given. */
  labels: IntegerArray | null;
  /** Soft targets shaped like the logits (logits' dtype), or null when `labels` is given. */
  targets: FloatArray | null;
  /** Per-sample weights (logits' dtype), or null. */
  weights: FloatArray | null;
  /** Logits are laid out [outer, classes, inner]; a sample is one (outer, inner) pair. */
  outer: number;
  classes: number;
  inner: number;
  gamma: number;
  /** Per-class alpha of length `classes`, or null to use `alphaScale` for every class. */
  alpha: Float64Array | null;
  alphaScale: number;
  labelSmoothing: number;
  ignoreIndex: number;
  /** Every gradient element is multiplied by this... */
  gradScale: number;
  /** ...and additionally divided by the number of counted samples ('mean'). */
  gradScaleByCount: boolean;
  /** Per-sample loss output (reduction 'none') or null. */
  lossOut: FloatArray | null;
  gradOut: FloatArray | null;
  threads: number;
  simd: number;
}

/** A bad element found while computing (reported, never thrown, by the kernels). */
export interface KernelInputError {
  kind: 'target' | 'weight' | 'label' | 'probability';
  index: number;
  value: number;
}

export interface KernelResult {
  /** Sum of the (weighted) losses, accumulated in float64. */
  sum: number;
  /** Elements (sigmoid) or non-ignored samples (softmax) counted. */
  count: number;
  error?: KernelInputError;
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
  /** The same work off the caller's path; the plan's arrays must not change until it settles. */
  sigmoidAsync(plan: SigmoidPlan): Promise<KernelResult>;
  softmaxAsync(plan: SoftmaxPlan): Promise<KernelResult>;
  /**
   * Present when the async kernels accept only arrays on buffers from it (the native addon: memory
   * it owns and reference-counts, so that a transfer cannot free what a job reads). A buffer of
   * `byteLength` bytes with unspecified contents. Absent (JS backend): any memory will do.
   */
  allocate?(byteLength: number): ArrayBuffer;
}
