/**
 * Elementwise focal-loss mathematics in the stable forms of docs/NUMERICS.md: the JS twin of
 * native/kernels/focal_math.hpp, line for line, so that the two backends agree to the last few ulps.
 */

export interface LossAndGrad {
  loss: number;
  grad: number;
}

/** The smallest normal double: below it a double has fewer than 53 significant bits. */
const MIN_NORMAL = 2.2250738585072014e-308;

/**
 * t' = t (1 - s) + s/2 (the smoothed target). Its complement is {@link smoothedComplement}, formed
 * directly: 1 - t' as a difference keeps none of the digits of s/2 when s is tiny.
 */
export function smoothedTarget(raw: number, s: number): number {
  return raw * (1 - s) + 0.5 * s;
}

/** 1 - t' = (1 - t)(1 - s) + s/2, never 1 - t'. */
export function smoothedComplement(raw: number, s: number): number {
  return (1 - raw) * (1 - s) + 0.5 * s;
}

/** alpha_t = alpha t + (1 - alpha) u (u = 1 - t), or 1 without alpha. */
export function sigmoidClassWeight(alpha: number | null, t: number, u: number): number {
  return alpha === null ? 1 : alpha * t + (1 - alpha) * u;
}

/**
 * True when a * m^gamma * (ce, or B) * (w, or w * gradScale), evaluated left to right, may have lost
 * digits the exact value keeps: a partial product fell below the normal range (or w * gradScale
 * overflowed) and a later factor could lift the result back into it.
 *   P = a * m^gamma,  L1 = P * ce,  G1 = P * B,  W = w * gradScale
 */
function productNeedsCare(P: number, ce: number, L1: number, B: number, G1: number, w: number, W: number): boolean {
  const absG1 = Math.abs(G1);
  return (
    (P < MIN_NORMAL && ce * w > 1) ||
    (L1 < MIN_NORMAL && w > 1) ||
    W > Number.MAX_VALUE ||
    (W < MIN_NORMAL && absG1 > 1) ||
    (P < MIN_NORMAL && Math.abs(B) * W > 1) ||
    (absG1 < MIN_NORMAL && W > 1)
  );
}

/** A positive number as f * 2^e, f in [0.5, 1): products without intermediate overflow or underflow. */
interface Scaled {
  f: number;
  e: number;
}

const frexpView = new DataView(new ArrayBuffer(8));

/** [f, e] with v = f * 2^e, f in [0.5, 1), for a finite v > 0. */
function frexp(v: number): [number, number] {
  let e = 0;
  let x = v;
  if (x < MIN_NORMAL) {
    x *= 2 ** 64;
    e = -64;
  }
  frexpView.setFloat64(0, x);
  const hi = frexpView.getUint32(0);
  const biased = (hi >>> 20) & 0x7ff;
  frexpView.setUint32(0, (hi & 0x800fffff) | (1022 << 20));
  return [frexpView.getFloat64(0), e + biased - 1022];
}

function scaledTimes(s: Scaled, v: number): Scaled {
  const [fv, ev] = frexp(v);
  const [f, ep] = frexp(s.f * fv); // in [0.25, 1): one rounding, never subnormal
  return { f, e: s.e + ev + ep };
}

/** f * 2^e rounded once (in two exact steps of at most 2^1000 each, then the last one rounds). */
function scaledValue(s: Scaled): number {
  let e = Math.max(-4000, Math.min(4000, s.e));
  let v = s.f;
  while (e > 1000) {
    v *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    v *= 2 ** -1000;
    e += 1000;
  }
  // Every step above is exact while v stays normal; only the last product can round (once).
  return v * 2 ** e;
}

/** m^gamma = 2^n exp(r), y = gamma log m = n ln2 + r (ln2 in two parts: n ln2_hi is exact). */
function powerScaled(m: number, gamma: number): Scaled {
  const y = gamma === 0 ? 0 : gamma * Math.log(m);
  const yc = y < -1e6 ? -1e6 : y; // below 2^-1.4e6 nothing can lift it back: 0
  const n = Math.floor(yc * 1.4426950408889634);
  const r = yc - n * 0.6931471803691238 - n * 1.9082149292705877e-10;
  return scaledTimes({ f: 0.5, e: 1 + n }, Math.exp(r));
}

/** a m^gamma * c * w for positive a m^gamma, finite w > 0 and any c. */
function focalProduct(aMg: Scaled, c: number, w: number): number {
  if (c === 0 || !Number.isFinite(c)) return c; // the other factors are positive
  const v = scaledValue(scaledTimes(scaledTimes(aMg, Math.abs(c)), w));
  return c < 0 ? -v : v;
}

/** {w a m^gamma ce, gradScale w a m^gamma B} in scaled form (the careful path). */
function scaledProducts(m: number, gamma: number, a: number, ce: number, B: number, w: number, gradScale: number) {
  const aMg = scaledTimes(powerScaled(m, gamma), a);
  const scalable = gradScale > 0 && gradScale <= Number.MAX_VALUE;
  const grad = scalable ? focalProduct(scaledTimes(aMg, gradScale), B, w) : gradScale * w * a * B;
  return { loss: focalProduct(aMg, ce, w), grad };
}

/**
 * The weighted loss w a m^gamma ce and gradient gradScale w a m^gamma B of one sigmoid element from
 * its m, ce and B (both input kinds end here): the plain products, or the scaled ones when a partial
 * product underflows while the result would not.
 */
function weighted(m: number, gamma: number, a: number, ce: number, B: number, w: number, gradScale: number) {
  const P = a * Math.pow(m, gamma);
  const L1 = P * ce;
  const G1 = P * B;
  const W = w * gradScale;
  if (!productNeedsCare(P, ce, L1, B, G1, w, W)) return { loss: w * L1, grad: W * G1 };
  return scaledProducts(m, gamma, a, ce, B, w, gradScale);
}

/**
 * Sigmoid focal loss of one element from its logit x, target t in [0, 1] and its complement u = 1 - t
 * (formed directly), class weight a, weight w and gamma. Returns w L and gradScale w dL/dx.
 *
 *     p = sigmoid(x), q = sigmoid(-x)        (q computed directly, never as 1 - p)
 *     ce = softplus(x) - t*x                  (as a sum of non-negative terms)
 *     m = t*q + u*p                           (1 - p_t, never computed as a difference)
 *     L = a * m^gamma * ce
 *     dL/dx = a * m^gamma * B,  B = u*p - t*q + gamma*(u - t)*(p*q/m)*ce
 * When m^gamma (or a partial product) falls below the normal range while the result does not, the
 * products are formed in scaled form instead.
 */
export function sigmoidFocalFromLogit(
  x: number,
  t: number,
  u: number,
  a: number,
  w: number,
  gamma: number,
  gradScale: number,
): LossAndGrad {
  if (a === 0 || w === 0) return { loss: 0, grad: 0 }; // a zero weight silences the element, even a NaN logit
  if (Number.isNaN(x)) return { loss: x, grad: x };
  const e = Math.exp(-Math.abs(x));
  const p = x >= 0 ? 1 / (1 + e) : e / (1 + e);
  const q = x >= 0 ? e / (1 + e) : 1 / (1 + e);
  // The factor that is zero is tested first so that an infinite |x| gives its limit, not 0 * inf.
  const linear = x >= 0 ? (u === 0 ? 0 : u * x) : t === 0 ? 0 : -t * x;
  const ce = linear + Math.log1p(e);
  const m = t * q + u * p;
  if (m === 0) return { loss: 0, grad: 0 };
  const pqOverM = (p * q) / m;
  const focus = gamma === 0 || pqOverM === 0 ? 0 : gamma * (u - t) * pqOverM * ce;
  const B = u * p - t * q + focus; // never p - t: at x = 50, t = 1 that is 0, not -e^-50
  return weighted(m, gamma, a, ce, B, w, gradScale);
}

/**
 * Sigmoid focal loss of one element from a probability p already clamped to [eps, 1 - eps], with t,
 * u, a, w as above; the gradient is with respect to p.
 *
 *     ce = -t*log(p) - u*log(1-p),  m = t*(1-p) + u*p,  L = a * m^gamma * ce
 *     dL/dp = a * m^gamma * [ gamma*(u - t)*ce/m + u/(1-p) - t/p ]
 */
export function sigmoidFocalFromProbability(
  p: number,
  t: number,
  u: number,
  a: number,
  w: number,
  gamma: number,
  gradScale: number,
): LossAndGrad {
  if (a === 0 || w === 0) return { loss: 0, grad: 0 };
  if (Number.isNaN(p)) return { loss: p, grad: p };
  const q = 1 - p; // exact for p >= 1/2, and within half an ulp of a number >= 1/2 below
  const ce = (t === 0 ? 0 : -t * Math.log(p)) + (u === 0 ? 0 : -u * Math.log1p(-p));
  const m = t * q + u * p;
  const focus = gamma === 0 ? 0 : (gamma * (u - t) * ce) / m;
  const B = focus + (u / q - t / p);
  return weighted(m, gamma, a, ce, B, w, gradScale);
}

/** p times a factor that may be infinite: 0 when p is 0. */
export function timesUnlessZero(p: number, factor: number): number {
  return p === 0 ? 0 : p * factor;
}

/** log(p) / q, the ratio in the softmax gradient: -1 in the limit q -> 0 (p -> 1). */
export function logPOverQ(logP: number, q: number): number {
  return q > 0 ? logP / q : -1;
}

/** The validity of the inputs (the C++ twins are in native/kernels/focal_math.hpp). False for NaN. */
export function isValidTarget(t: number): boolean {
  return t >= 0 && t <= 1;
}

/** A sigmoid target: an integer one is exactly 0 or 1, a float one in [0, 1]. */
export function isValidSigmoidTarget(t: number, floatTargets: boolean): boolean {
  return floatTargets ? isValidTarget(t) : t === 0 || t === 1;
}

export function isValidWeight(w: number): boolean {
  return w >= 0 && w <= Number.MAX_VALUE;
}
