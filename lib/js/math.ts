/**
 * Elementwise focal-loss mathematics in the stable forms of docs/NUMERICS.md: the JS twin of
 * native/focal_math.hpp, line for line, so that the two backends agree to the last few ulps.
 */

export interface LossAndGrad {
  loss: number;
  grad: number;
}

/**
 * Sigmoid focal loss of one element from its logit x, target t in [0, 1], class weight a and gamma.
 *
 *     p = sigmoid(x), q = sigmoid(-x)        (q computed directly, never as 1 - p)
 *     ce = softplus(x) - t*x                  (as a sum of non-negative terms)
 *     m = t*q + (1 - t)*p                     (1 - p_t, never computed as a difference)
 *     L = a * m^gamma * ce
 *     dL/dx = a * m^gamma * [ (1-t)*p - t*q + gamma*(1-2t)*(p*q/m)*ce ]
 */
export function sigmoidFocalFromLogit(x: number, t: number, a: number, gamma: number): LossAndGrad {
  if (a === 0) return { loss: 0, grad: 0 }; // a zero class weight silences the element, even a NaN logit
  if (Number.isNaN(x)) return { loss: x, grad: x };
  const e = Math.exp(-Math.abs(x));
  const p = x >= 0 ? 1 / (1 + e) : e / (1 + e);
  const q = x >= 0 ? e / (1 + e) : 1 / (1 + e);
  // The factor that is zero is tested first so that an infinite |x| gives its limit, not 0 * inf.
  const linear = x >= 0 ? (t === 1 ? 0 : (1 - t) * x) : t === 0 ? 0 : -t * x;
  const ce = linear + Math.log1p(e);
  const m = t * q + (1 - t) * p;
  if (a === 0 || m === 0) return { loss: 0, grad: 0 };
  const mg = Math.pow(m, gamma);
  const pqOverM = (p * q) / m;
  const focus = gamma === 0 || pqOverM === 0 ? 0 : gamma * (1 - 2 * t) * pqOverM * ce;
  const pMinusT = (1 - t) * p - t * q; // never p - t: at x = 50, t = 1 that is 0, not -e^-50
  return { loss: a * mg * ce, grad: a * mg * (pMinusT + focus) };
}

/**
 * Sigmoid focal loss of one element from a probability p already clamped to [eps, 1 - eps];
 * the gradient is with respect to p.
 *
 *     ce = -t*log(p) - (1-t)*log(1-p),  m = t*(1-p) + (1-t)*p,  L = a * m^gamma * ce
 *     dL/dp = a * m^gamma * [ gamma*(1-2t)*ce/m + (1-t)/(1-p) - t/p ]
 */
export function sigmoidFocalFromProbability(p: number, t: number, a: number, gamma: number): LossAndGrad {
  if (a === 0) return { loss: 0, grad: 0 };
  if (Number.isNaN(p)) return { loss: p, grad: p };
  const q = 1 - p;
  const ce = (t === 0 ? 0 : -t * Math.log(p)) + (t === 1 ? 0 : -(1 - t) * Math.log1p(-p));
  const m = t * q + (1 - t) * p;
  if (a === 0) return { loss: 0, grad: 0 };
  const mg = Math.pow(m, gamma);
  const focus = gamma === 0 ? 0 : (gamma * (1 - 2 * t) * ce) / m;
  return { loss: a * mg * ce, grad: a * mg * (focus + (1 - t) / q - t / p) };
}

/** p times a factor that may be infinite: 0 when p is 0. */
export function timesUnlessZero(p: number, factor: number): number {
  return p === 0 ? 0 : p * factor;
}

/** log(p) / q, the ratio in the softmax gradient: -1 in the limit q -> 0 (p -> 1). */
export function logPOverQ(logP: number, q: number): number {
  return q > 0 ? logP / q : -1;
}

export function isValidTarget(t: number): boolean {
  return t >= 0 && t <= 1;
}

export function isValidWeight(w: number): boolean {
  return w >= 0 && w <= Number.MAX_VALUE;
}
