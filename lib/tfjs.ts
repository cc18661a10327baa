/**
 * focal-loss/tfjs: the focal loss as a TensorFlow.js loss function, for model.compile() and custom
 * training loops. yPred holds LOGITS (the output of a layer without activation) unless the sigmoid
 * loss is given `input: 'probabilities'`.
 *
 *     model.compile({ optimizer: 'adam', loss: sigmoidFocalLossTf({ gamma: 2, alpha: 0.25 }) });
 *
 * Forward and backward are one call of this package's fused kernel (loss and gradient together)
 * wrapped in tf.customGrad, so tfjs records one node instead of a graph of a dozen elementwise ops.
 * The price is crossing between tensors and typed arrays each step: yTrue and yPred are read with
 * dataSync(), and the gradient array becomes a new tensor. See docs/TFJS.md.
 *
 * Loaded from '@tensorflow/tfjs-core' (lib/tfjs/core.ts), not '@tensorflow/tfjs': the adapter needs only the engine
 * (customGrad, tensors), which every distribution shares — @tensorflow/tfjs, tfjs-node and
 * tfjs-node-gpu all depend on tfjs-core and register their backends with its engine — while
 * '@tensorflow/tfjs' would also load layers, converter, data and the WebGL backend, and is not
 * what a custom bundle (tfjs-core + one backend) has installed. In Node, @tensorflow/tfjs requires
 * this same tfjs-core module, so the user's tensors, engine and tape are the ones used here.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import { sigmoidFocalLoss, softmaxFocalLoss } from './index.js';
import {
  checkLogits,
  checkTensor,
  float32Data,
  readSigmoidTargets,
  readSoftmaxTargets,
  softmaxClasses,
} from './tfjs/inputs.js';
import { tf } from './tfjs/core.js';
import {
  readSigmoidOptions,
  readSoftmaxOptions,
  type SigmoidFocalLossTfOptions,
  type SoftmaxFocalLossTfOptions,
} from './tfjs/options.js';

export type { ScalarReduction, SigmoidFocalLossTfOptions, SoftmaxFocalLossTfOptions } from './tfjs/options.js';

/** What model.compile({ loss }) takes: targets and predictions in, one scalar out. */
export type TfLossFunction = (yTrue: TfCore.Tensor, yPred: TfCore.Tensor) => TfCore.Scalar;

/** One fused call: the reduced loss and its gradient with respect to yPred's elements. */
type Kernel = (logits: Float32Array) => { loss: number; grad: Float32Array };
/** Checks yTrue against yPred and reads yTrue, before tfjs records anything; returns the kernel. */
type Prepare = (yTrue: TfCore.Tensor, yPred: TfCore.Tensor) => Kernel;

/**
 * The loss as a tfjs op whose gradient is the kernel's. yTrue is closed over rather than passed to
 * customGrad: the library has no gradient with respect to the targets, so tfjs treats them as
 * constants (as tf.stopGradient would). The gradient tensor is a constant to tfjs as well, so
 * second derivatives (tf.grad of tf.grad) are not available through the adapter.
 */
function tfLoss(name: string, prepare: Prepare): TfLossFunction {
  const loss = (yTrueArg: TfCore.Tensor, yPredArg: TfCore.Tensor): TfCore.Scalar => {
    const yTrue = checkTensor(yTrueArg, 'yTrue');
    const yPred = checkTensor(yPredArg, 'yPred');
    checkLogits(yPred);
    const kernel = prepare(yTrue, yPred);
    const op = tf.customGrad((x) => {
      const logits = x as TfCore.Tensor;
      // Copy 1, tensor -> typed array: on the cpu backend dataSync() returns the tensor's own
      // Float32Array (no copy; the library never writes to its inputs); on tfjs-node it copies out of
      // TensorFlow's memory; on WebGL/WebGPU it downloads from the GPU and blocks until it is there.
      const { loss: value, grad } = kernel(float32Data(logits));
      let adopted = false;
      return {
        value: tf.scalar(value, 'float32'),
        gradFunc: (dy: TfCore.Tensor) => {
          // dy, d(total loss)/d(this loss), is a scalar like the loss: 1 under model.fit, a weight when
          // losses are combined. It scales the kernel's array in JS rather than through tf.mul, whose
          // broadcast costs more than the kernel itself on the cpu backend (9 vs 2-4 ns per element).
          // On a GPU backend reading it is a one-number download, next to the forward's full one.
          const scale = dy.dataSync()[0]!;
          let out = grad;
          if (scale !== 1 || adopted) {
            out = new Float32Array(grad.length);
            for (let i = 0; i < grad.length; i++) out[i] = grad[i]! * scale;
          }
          // Copy 2, typed array -> tensor: the cpu backend adopts the array (so it is handed over only
          // once); tfjs-node copies it into TensorFlow's memory; WebGL/WebGPU upload it to the GPU.
          adopted = true;
          return tf.tensor(out, logits.shape, 'float32');
        },
      };
    });
    return op(yPred) as TfCore.Scalar;
  };
  Object.defineProperty(loss, 'name', { value: name });
  return loss;
}

/**
 * Binary / multi-label focal loss for TensorFlow.js. yPred: float32 LOGITS of any shape (every
 * element its own binary problem; with `input: 'probabilities'`, sigmoid outputs in [0, 1]). yTrue:
 * the same shape, float32 targets in [0, 1] (hard or soft), or int32/bool 0/1 labels. Returns the
 * mean over all elements (or the sum, or the sum / normalizer, as the options say) as a scalar.
 * Options as for sigmoidFocalLoss (default gamma 2, alpha 0.25), checked now, not at the first batch.
 */
export function sigmoidFocalLossTf(options?: SigmoidFocalLossTfOptions): TfLossFunction {
  const base = readSigmoidOptions(options);
  return tfLoss('sigmoidFocalLossTf', (yTrue, yPred) => {
    const targets = readSigmoidTargets(yTrue, yPred);
    return (logits) => {
      const r = sigmoidFocalLoss(logits, targets, { ...base, gradient: true });
      return { loss: r.loss as number, grad: r.grad! };
    };
  });
}

/**
 * Multi-class focal loss for TensorFlow.js. yPred: float32 LOGITS [N, C] (or [..., C]: classes on
 * the last axis; no softmax layer before it). yTrue: one-hot or soft targets of yPred's shape, or one
 * integer class per sample, shaped [N] or [N, 1] (int32, or float32 holding integers). model.fit
 * checks targets against the output's shape, so use one-hot targets there; integer labels suit
 * custom training loops. Returns the mean over samples (not ignored ones) as a scalar. Options as for
 * softmaxFocalLoss (default gamma 2, alpha none), checked now.
 */
export function softmaxFocalLossTf(options?: SoftmaxFocalLossTfOptions): TfLossFunction {
  const base = readSoftmaxOptions(options);
  return tfLoss('softmaxFocalLossTf', (yTrue, yPred) => {
    const numClasses = softmaxClasses(yPred);
    const labels = readSoftmaxTargets(yTrue, yPred);
    return (logits) => {
      const r = softmaxFocalLoss(logits, labels, { ...base, numClasses, gradient: true });
      return { loss: r.loss as number, grad: r.grad! };
    };
  });
}
