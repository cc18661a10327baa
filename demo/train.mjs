// Mini-batch training with the package's loss and gradient: forward pass, one sigmoidFocalLoss call
// per batch (loss and d(loss)/d(logits) in one pass), backward pass, Adam step.
import { backward, createAdam, forward, zerosLike } from './model.mjs';

/**
 * Trains `model` in place on `data` and returns the loss curve and timings.
 * `lossFn` is the package's sigmoidFocalLoss; `run` carries gamma and alpha; `orderRng` shuffles
 * the order of the batches each epoch (the same stream for both runs gives the same order).
 */
export function train(model, data, { lossFn, run, training, epochs, orderRng, onEpoch }) {
  const { n, x, labels } = data;
  const bs = training.batchSize;
  const batches = [];
  for (let s = 0; s < n; s += bs) {
    const e = Math.min(n, s + bs);
    let positives = 0;
    for (let i = s; i < e; i++) positives += labels[i];
    batches.push({ start: s, end: e, positives });
  }
  // The model computes in float64 (as in predict(), so forward() sees one array type and stays fast);
  // the loss gets float32 logits, what a network would hand it.
  const logits64 = new Float64Array(bs);
  const logits = new Float32Array(bs);
  const grad = new Float32Array(bs);
  const hiddenAct = new Float64Array(bs * model.hidden);
  const grads = zerosLike(model);
  const adam = createAdam(model, training);
  const curve = [];
  let lossMs = 0;
  const t0 = performance.now();
  for (let epoch = 0; epoch < epochs; epoch++) {
    // Fisher-Yates on the batch order: every epoch sees every "image" once.
    for (let i = batches.length - 1; i > 0; i--) {
      const j = Math.floor(orderRng() * (i + 1));
      [batches[i], batches[j]] = [batches[j], batches[i]];
    }
    let epochLoss = 0;
    for (const b of batches) {
      const rows = b.end - b.start;
      const z = logits.subarray(0, rows);
      const g = grad.subarray(0, rows);
      forward(model, x, b.start, b.end, logits64, hiddenAct);
      z.set(logits64.subarray(0, rows));
      const l0 = performance.now();
      // RetinaNet's normalization: the sum over the batch's anchors divided by its positives.
      const r = lossFn(z, labels.subarray(b.start, b.end), {
        gamma: run.gamma,
        alpha: run.alpha,
        normalizer: Math.max(1, b.positives),
        out: { grad: g },
      });
      lossMs += performance.now() - l0;
      epochLoss += r.loss;
      backward(model, x, b.start, b.end, hiddenAct, g, grads);
      adam.step(grads);
    }
    curve.push(epochLoss / batches.length);
    onEpoch?.(epoch, curve[epoch]);
  }
  const totalMs = performance.now() - t0;
  return { curve, lossMs, totalMs, steps: epochs * batches.length, batches: batches.length };
}
