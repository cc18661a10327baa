// @tensorflow/tfjs on its default pure-JS CPU backend, computing the same losses with its own ops
// and the gradient with tf.valueAndGrad. Tensors of the inputs are made once per data set (not
// timed); everything a call creates is disposed by tf.tidy. Both the loss and the gradient are
// read back with dataSync(), so the work is complete when the timer stops; a call returns the loss.
import { SIGMOID_ALPHA } from './focal-calls.mjs';

/** The sigmoid focal loss (mean), as torchvision writes it, with the stable cross-entropy. */
function sigmoidLoss(tf, t, gamma) {
  return (x) => {
    const p = tf.sigmoid(x);
    const ce = tf.add(tf.sub(tf.relu(x), tf.mul(x, t)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
    const oneMinusT = tf.sub(1, t);
    const m = tf.add(tf.mul(t, tf.sub(1, p)), tf.mul(oneMinusT, p)); // 1 - p_t
    const alphaT = tf.add(tf.mul(t, SIGMOID_ALPHA), tf.mul(oneMinusT, 1 - SIGMOID_ALPHA));
    return tf.mean(tf.mul(tf.mul(alphaT, tf.pow(m, gamma)), ce));
  };
}

/** The softmax focal loss (mean, no alpha): log-softmax, the true class by one-hot, (1 - p_t)^gamma. */
function softmaxLoss(tf, labels, classes, gamma) {
  return (z) => {
    const logp = tf.logSoftmax(z);
    const logpt = tf.sum(tf.mul(logp, tf.oneHot(labels, classes)), 1);
    const pt = tf.exp(logpt);
    return tf.neg(tf.mean(tf.mul(tf.pow(tf.sub(1, pt), gamma), logpt)));
  };
}

/** Input tensors for one data set (made once, disposed by dispose()). */
function tensorsFor(tf, data) {
  if (data.size.kind === 'sigmoid') {
    return { x: tf.tensor1d(data.logits, 'float32'), t: tf.tensor1d(data.targetsF32, 'float32') };
  }
  const { rows, classes } = data.size;
  return { x: tf.tensor2d(data.logits, [rows, classes], 'float32'), labels: tf.tensor1d(data.labels, 'int32') };
}

export async function loadTfjs() {
  let tf;
  try {
    tf = await import('@tensorflow/tfjs');
  } catch (error) {
    return { available: false, reason: `not installed (${error.code ?? error.message})` };
  }
  await tf.setBackend('cpu');
  await tf.ready();
  tf.enableProdMode(); // skips tfjs's debug checks: its fastest configuration
  const lossFunction = (data, t, labels, gamma) =>
    data.size.kind === 'sigmoid' ? sigmoidLoss(tf, t, gamma) : softmaxLoss(tf, labels, data.size.classes, gamma);
  const tensors = new Map(); // data set -> its tensors
  const inputs = (data) => {
    if (!tensors.has(data)) tensors.set(data, tensorsFor(tf, data));
    return tensors.get(data);
  };
  return {
    available: true,
    version: tf.version.tfjs,
    backendName: tf.getBackend(),
    call(data, { gamma, gradient }) {
      const { x, t, labels } = inputs(data);
      const f = lossFunction(data, t, labels, gamma);
      if (!gradient) return () => tf.tidy(() => f(x).dataSync()[0]);
      const valueAndGrad = tf.valueAndGrad(f);
      return () =>
        tf.tidy(() => {
          const { value, grad } = valueAndGrad(x);
          grad.dataSync();
          return value.dataSync()[0];
        });
    },
    /** Frees the tensors of the data sets timed so far. */
    dispose() {
      for (const set of tensors.values()) for (const tensor of Object.values(set)) tensor.dispose();
      tensors.clear();
    },
  };
}
