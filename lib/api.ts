/** The public functions, bound to one backend. Validation is the same whatever the backend. */
import type { Prepared } from './common.js';
import type { KernelResult, Kernels, SigmoidPlan, SoftmaxPlan } from './kernels.js';
import { assertLive, snapshot } from './plan-arrays.js';
import { prepareSigmoid } from './sigmoid.js';
import { prepareSoftmax } from './softmax.js';
import type {
  FloatArray,
  FocalLossResult,
  NumericInput,
  SigmoidFocalLossOptions,
  SoftmaxFocalLossOptions,
} from './types.js';

/** Logits: a float typed array, or plain numbers (read as float64). */
export type Logits = FloatArray | readonly number[];
/** float32 in, float32 out; float64 or number[] in, float64 out. */
export type ResultFor<L> = L extends Float32Array ? FocalLossResult<Float32Array> : FocalLossResult<Float64Array>;

export interface FocalLossApi {
  sigmoidFocalLoss<L extends Logits>(logits: L, targets: NumericInput, options?: SigmoidFocalLossOptions): ResultFor<L>;
  softmaxFocalLoss<L extends Logits>(logits: L, labels: NumericInput, options: SoftmaxFocalLossOptions): ResultFor<L>;
  sigmoidFocalLossAsync<L extends Logits>(
    logits: L,
    targets: NumericInput,
    options?: SigmoidFocalLossOptions,
  ): Promise<ResultFor<L>>;
  softmaxFocalLossAsync<L extends Logits>(
    logits: L,
    labels: NumericInput,
    options: SoftmaxFocalLossOptions,
  ): Promise<ResultFor<L>>;
}

/**
 * An async call: the kernel works on a snapshot (see plan-arrays.ts), so the caller may change,
 * transfer or resize the arrays meanwhile.
 */
async function computeAsync<P extends SigmoidPlan | SoftmaxPlan>(
  call: Prepared<P>,
  kernel: (plan: P) => Promise<KernelResult>,
): Promise<FocalLossResult> {
  const own = await snapshot(call.plan);
  try {
    const result = await kernel(own.plan);
    if (!result.error) await own.deliver(); // else complete() throws, and out is left alone
    return call.complete(result);
  } finally {
    own.release();
  }
}

export function createFocalLoss(kernels: Kernels): FocalLossApi {
  const api = {
    sigmoidFocalLoss(logits: Logits, targets: NumericInput, options?: SigmoidFocalLossOptions): FocalLossResult {
      const call = prepareSigmoid(logits, targets, options, kernels.simd);
      assertLive(call.plan);
      return call.complete(kernels.sigmoid(call.plan));
    },
    softmaxFocalLoss(logits: Logits, labels: NumericInput, options: SoftmaxFocalLossOptions): FocalLossResult {
      const call = prepareSoftmax(logits, labels, options, kernels.simd);
      assertLive(call.plan);
      return call.complete(kernels.softmax(call.plan));
    },
    // Validation errors reject the promise (they are not thrown synchronously).
    async sigmoidFocalLossAsync(logits: Logits, targets: NumericInput, options?: SigmoidFocalLossOptions) {
      return computeAsync(prepareSigmoid(logits, targets, options, kernels.simd), kernels.sigmoidAsync);
    },
    async softmaxFocalLossAsync(logits: Logits, labels: NumericInput, options: SoftmaxFocalLossOptions) {
      return computeAsync(prepareSoftmax(logits, labels, options, kernels.simd), kernels.softmaxAsync);
    },
  };
  return api as FocalLossApi;
}
