/**
 * From tensors to the typed arrays the library takes: which shapes and dtypes the adapter accepts,
 * and what each becomes. Errors follow the library's style ("Expected X for Y but received Z").
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { tf } from './core.js';
import type { IntegerArray } from '../types.js';
import { rangeError, typeError, withFields } from '../facade/validate.js';

const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** describe() in validate.ts does not know tensors: say their dtype and shape instead. */
const received = (tensor: Tensor): string => `a ${tensor.dtype} tensor of shape ${shapeText(tensor.shape)}`;

const message = (expected: string, name: string, tensor: Tensor): string =>
  `Expected ${expected} for ${name} but received ${received(tensor)}`;

function tensorTypeError(expected: string, name: string, tensor: Tensor): TypeError {
  return withFields(new TypeError(message(expected, name, tensor)), 'ERR_INVALID_ARG_TYPE', name);
}

function tensorRangeError(expected: string, name: string, tensor: Tensor): RangeError {
  return withFields(new RangeError(message(expected, name, tensor)), 'ERR_OUT_OF_RANGE', name);
}

/** Tensor's instanceof is structural in tfjs-core, so tensors of another copy of tfjs-core pass too. */
export function checkTensor(value: unknown, name: string): Tensor {
  if (!(value instanceof tf.Tensor)) throw typeError('a tf.Tensor', name, value);
  return value;
}

/** yPred must be float32: the dtype of every tfjs model output, and of the gradient the adapter returns. */
export function checkLogits(yPred: Tensor): void {
  if (yPred.dtype !== 'float32') throw tensorTypeError('a float32 tensor (logits)', 'yPred', yPred);
}

/**
 * A tensor's values as a Float32Array. The dtype does not tell the array type: tfjs' cpu backend
 * casts int32 and bool to float32 without converting the data (tf.oneHot(...).toFloat() is one), and
 * dataSync() then returns the Int32Array or Uint8Array it holds. Those are converted (a copy).
 */
export function float32Data(tensor: Tensor): Float32Array {
  const data = tensor.dataSync() as Float32Array | Int32Array | Uint8Array;
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

/**
 * Sigmoid targets: yTrue of yPred's shape. float32 (hard or soft targets), int32 or bool (0/1 labels)
 * are handed to the library as dataSync() returns them: a Float32Array is read as targets in [0, 1],
 * an Int32Array or Uint8Array (also behind a float32 tensor cast from int32/bool) as 0/1 labels.
 */
export function readSigmoidTargets(yTrue: Tensor, yPred: Tensor): Float32Array | Int32Array | Uint8Array {
  if (!sameShape(yTrue.shape, yPred.shape)) {
    throw tensorRangeError(`yPred's shape ${shapeText(yPred.shape)}`, 'yTrue', yTrue);
  }
  if (yTrue.dtype !== 'float32' && yTrue.dtype !== 'int32' && yTrue.dtype !== 'bool') {
    throw tensorTypeError('a float32, int32 or bool tensor', 'yTrue', yTrue);
  }
  return yTrue.dataSync() as Float32Array | Int32Array | Uint8Array;
}

/** The number of classes: yPred is [..., C], classes on the last axis as tfjs lays them out. */
export function softmaxClasses(yPred: Tensor): number {
  if (yPred.rank < 2) throw tensorRangeError('logits [N, C] (classes on the last axis)', 'yPred', yPred);
  return yPred.shape[yPred.rank - 1]!;
}

/** Float labels (model.fit hands tfjs-layers' targets over as float32) as integers, checked exactly. */
function integerLabels(values: Float32Array): Int32Array {
  const labels = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || Math.abs(v) > 2 ** 31 - 1) {
      throw rangeError('an integer class', `yTrue[${i}]`, v);
    }
    labels[i] = v;
  }
  return labels;
}

/**
 * The class of every row when every row is exactly one-hot (a single 1, zeros elsewhere), else null.
 * model.fit only passes one-hot targets to a custom loss, and the library's integer-label kernel is
 * several times faster than its soft-target one (measured 2.4 against 22 ns per element at C = 10)
 * for the same loss; the scan costs about 1 ns per element and stops at the first soft row.
 */
export function oneHotLabels(targets: Float32Array, classes: number): Int32Array | null {
  const rows = classes > 0 ? targets.length / classes : 0;
  const labels = new Int32Array(rows);
  for (let r = 0, base = 0; r < rows; r++, base += classes) {
    let hot = -1;
    for (let c = 0; c < classes; c++) {
      const t = targets[base + c];
      if (t === 0) continue;
      if (t !== 1 || hot !== -1) return null;
      hot = c;
    }
    if (hot === -1) return null;
    labels[r] = hot;
  }
  return labels;
}

/**
 * Softmax targets, by shape: yPred's shape [..., C] means one-hot or soft targets (as float32, which
 * the library reads as soft targets); [...] or [..., 1] means one integer class per sample. When C is
 * 1 the two coincide and the shape is read as targets (the loss is 0 either way: p = 1).
 */
export function readSoftmaxTargets(yTrue: Tensor, yPred: Tensor): Float32Array | IntegerArray {
  const samples = yPred.shape.slice(0, -1);
  if (yTrue.dtype !== 'float32' && yTrue.dtype !== 'int32' && yTrue.dtype !== 'bool') {
    throw tensorTypeError('a float32, int32 or bool tensor', 'yTrue', yTrue);
  }
  // An integer array of the logits' length would be read as labels: soft targets must be float.
  if (sameShape(yTrue.shape, yPred.shape)) {
    const targets = float32Data(yTrue);
    return oneHotLabels(targets, yPred.shape[yPred.shape.length - 1]!) ?? targets;
  }
  if (sameShape(yTrue.shape, samples) || sameShape(yTrue.shape, [...samples, 1])) {
    const labels = yTrue.dataSync() as Float32Array | Int32Array | Uint8Array;
    return labels instanceof Float32Array ? integerLabels(labels) : labels;
  }
  const expected =
    `yPred's shape ${shapeText(yPred.shape)} (one-hot or soft targets), or ${shapeText(samples)} ` +
    `or ${shapeText([...samples, 1])} (class labels)`;
  throw tensorRangeError(expected, 'yTrue', yTrue);
}
