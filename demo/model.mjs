// A one-hidden-layer MLP (d -> hidden ReLU -> 1 logit) and Adam, in plain float64 JS: small enough
// to read, and the same code path for both runs so that only the loss differs.
import { normalSource } from './data.mjs';

/**
 * Weights: He-normal hidden layer, zero hidden biases; output weights N(0, outputWeightSd^2) and
 * the output bias at the prior -log((1 - pi) / pi), as RetinaNet initializes its classifier.
 */
export function createMlp(inputs, hidden, { priorProbability, outputWeightSd }, rng) {
  const normal = normalSource(rng);
  const w1 = new Float64Array(hidden * inputs).map(() => Math.sqrt(2 / inputs) * normal());
  const b1 = new Float64Array(hidden);
  const w2 = new Float64Array(hidden).map(() => outputWeightSd * normal());
  const b2 = new Float64Array([-Math.log((1 - priorProbability) / priorProbability)]);
  return { inputs, hidden, w1, b1, w2, b2, params: [w1, b1, w2, b2] };
}

/** A deep copy, so that both runs start from the same weights. */
export function cloneMlp(m) {
  const [w1, b1, w2, b2] = m.params.map((p) => p.slice());
  return { inputs: m.inputs, hidden: m.hidden, w1, b1, w2, b2, params: [w1, b1, w2, b2] };
}

/** Gradient buffers shaped like the parameters. */
export function zerosLike(m) {
  return m.params.map((p) => new Float64Array(p.length));
}

/**
 * Logits of rows [start, end) of x into logits[0 ..), keeping the hidden activations (if `hiddenOut`
 * is given) for the backward pass.
 */
export function forward(m, x, start, end, logits, hiddenOut) {
  const { inputs: d, hidden: h, w1, b1, w2 } = m;
  const b2 = m.b2[0];
  const act = hiddenOut ?? new Float64Array(h);
  // The row is widened to float64 once, not once per hidden unit (the same values: exact).
  const xr = new Float64Array(d);
  for (let r = 0, i = start; i < end; r++, i++) {
    const xo = i * d;
    for (let k = 0; k < d; k++) xr[k] = x[xo + k];
    const ho = hiddenOut ? r * h : 0;
    let z = b2;
    for (let j = 0; j < h; j++) {
      const wo = j * d;
      let a = b1[j];
      for (let k = 0; k < d; k++) a += w1[wo + k] * xr[k];
      if (a < 0) a = 0;
      act[ho + j] = a;
      z += w2[j] * a;
    }
    logits[r] = z;
  }
}

/** Accumulates into `grads` (zeroed here) the gradient given dLoss/dlogit for rows [start, end). */
export function backward(m, x, start, end, hiddenAct, dLogits, grads) {
  const { inputs: d, hidden: h, w2 } = m;
  const [gw1, gb1, gw2, gb2] = grads;
  for (const g of grads) g.fill(0);
  let sb2 = 0;
  const xr = new Float64Array(d);
  for (let r = 0, i = start; i < end; r++, i++) {
    const g = dLogits[r];
    sb2 += g;
    const xo = i * d;
    for (let k = 0; k < d; k++) xr[k] = x[xo + k];
    const ho = r * h;
    for (let j = 0; j < h; j++) {
      const a = hiddenAct[ho + j];
      if (a <= 0) continue; // ReLU: no gradient flows through an inactive unit
      gw2[j] += g * a;
      const dh = g * w2[j];
      gb1[j] += dh;
      const wo = j * d;
      for (let k = 0; k < d; k++) gw1[wo + k] += dh * xr[k];
    }
  }
  gb2[0] = sb2;
}

/** Adam (Kingma and Ba), with bias correction; `step(grads)` updates the model's parameters in place. */
export function createAdam(m, { learningRate, beta1, beta2, epsilon }) {
  const first = zerosLike(m);
  const second = zerosLike(m);
  let t = 0;
  return {
    step(grads) {
      t++;
      const c1 = 1 - beta1 ** t;
      const c2 = 1 - beta2 ** t;
      m.params.forEach((p, pi) => {
        const g = grads[pi];
        const mt = first[pi];
        const vt = second[pi];
        for (let i = 0; i < p.length; i++) {
          mt[i] = beta1 * mt[i] + (1 - beta1) * g[i];
          vt[i] = beta2 * vt[i] + (1 - beta2) * g[i] * g[i];
          p[i] -= (learningRate * (mt[i] / c1)) / (Math.sqrt(vt[i] / c2) + epsilon);
        }
      });
    },
  };
}

/** Logits of every row of x (float64), in chunks to keep the scratch buffer small. */
export function predict(m, x, n) {
  const out = new Float64Array(n);
  const chunk = 65_536;
  for (let s = 0; s < n; s += chunk) {
    const e = Math.min(n, s + chunk);
    forward(m, x, s, e, out.subarray(s, e));
  }
  return out;
}
