/** The public functions, bound to one backend. Validation is the same whatever the backend. */
import type { Kernels } from './kernels.js';
import { sigmoidFocalLossWith } from './sigmoid.js';
import { softmaxFocalLossWith } from './softmax.js';
import type { FloatArray, FocalLossResult, NumericInput, SigmoidFocalLossOptions, SoftmaxFocalLossOptions } from './types.js';

export interface FocalLossApi {
  sigmoidFocalLoss<A extends FloatArray>(logits: A, targets: NumericInput, options?: SigmoidFocalLossOptions): FocalLossResult<A>;
  sigmoidFocalLoss(logits: readonly number[], targets: NumericInput, options?: SigmoidFocalLossOptions): FocalLossResult<Float64Array>;
  softmaxFocalLoss<A extends FloatArray>(logits: A, labels: NumericInput, options: SoftmaxFocalLossOptions): FocalLossResult<A>;
  softmaxFocalLoss(logits: readonly number[], labels: NumericInput, options: SoftmaxFocalLossOptions): FocalLossResult<Float64Array>;
}

export function createFocalLoss(kernels: Kernels): FocalLossApi {
  return {
    sigmoidFocalLoss: (logits: FloatArray | readonly number[], targets: NumericInput, options?: SigmoidFocalLossOptions) =>
      sigmoidFocalLossWith(kernels, logits, targets, options),
    softmaxFocalLoss: (logits: FloatArray | readonly number[], labels: NumericInput, options: SoftmaxFocalLossOptions) =>
      softmaxFocalLossWith(kernels, logits, labels, options),
  } as FocalLossApi;
}
