/** The public functions, bound to one backend. Validation is the same whatever the backend. */
import type { Prepared } from './common.js';
import type { KernelResult, Kernels, SigmoidPlan, SoftmaxPlan } from './kernels.js';
import { assertLive, snapshot } from './plan-arrays.js';
import { prepareSigmoid } from './sigmoid.js';
import { prepareSoftmax } from './softmax.js';
import type {
  DefaultOptions,
  FocalLossResult,
  Logits,
  NoUnknownOptions,
  NumericInput,
  ResultFor,
  SigmoidFocalLossOptions,
  SoftmaxFocalLossOptions,
} from './types.js';

export type { Logits, ResultFor } from './types.js';

/**
 * The public functions' signatures. The options type parameter keeps the literal types of the
 * options (`const`), so the result is narrowed by them (ResultFor); NoUnknownOptions keeps the
 * excess-property check that a generic parameter would otherwise lose.
 */
export interface FocalLossApi {
  sigmoidFocalLoss<
    L extends Logits,
    const O extends SigmoidFocalLossOptions & NoUnknownOptions<O, SigmoidFocalLossOptions> = DefaultOptions,
  >(
    logits: L,
    targets: NumericInput,
    options?: O,
  ): ResultFor<L, O>;
  softmaxFocalLoss<
    L extends Logits,
    const O extends SoftmaxFocalLossOptions & NoUnknownOptions<O, SoftmaxFocalLossOptions>,
  >(
    logits: L,
    labels: NumericInput,
    options: O,
  ): ResultFor<L, O>;
  sigmoidFocalLossAsync<
    L extends Logits,
    const O extends SigmoidFocalLossOptions & NoUnknownOptions<O, SigmoidFocalLossOptions> = DefaultOptions,
  >(
    logits: L,
    targets: NumericInput,
    options?: O,
  ): Promise<ResultFor<L, O>>;
  softmaxFocalLossAsync<
    L extends Logits,
    const O extends SoftmaxFocalLossOptions & NoUnknownOptions<O, SoftmaxFocalLossOptions>,
  >(
    logits: L,
    labels: NumericInput,
    options: O,
  ): Promise<ResultFor<L, O>>;
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
