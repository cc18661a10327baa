/**
 * Independent high-precision reference for the focal losses, in decimal.js at 80 significant digits.
 *
 * Deliberately NOT a copy of the stable rewrites of docs/NUMERICS.md: every quantity is written in its plain
 * mathematical form (definitions + chain rule). Exact arithmetic does not need the floating-point
 * tricks, with three exceptions that come from Decimal's finite precision and are commented where used:
 *   - ln(1 + u) for tiny u (1 + u rounds to 1 at 80 digits once u < 1e-80): own log1p, series for tiny u;
 *   - sigmoid(-x) is evaluated from its definition 1 / (1 + exp(x)), never as 1 - sigmoid(x);
 *   - 1 - p_y for softmax is the sum of the other classes' probabilities, never 1 - p_y.
 * exp of a huge negative number underflows Decimal's exponent range to exactly 0 and exp of a huge
 * positive number to Infinity; every formula below is arranged so that those limits are correct.
 *
 * Inputs (JS doubles, including float32 values widened to double) are converted to Decimal EXACTLY by
 * decomposing the IEEE-754 bits; `new Decimal(x)` would use the shortest round-trip decimal string.
 */
import DecimalImport from 'decimal.js';

// decimal.mjs has only a default export (the constructor); TypeScript under NodeNext types the default
// import of this CommonJS-typed package as the whole module, whose `Decimal` member is the class.
const Decimal = DecimalImport as unknown as typeof DecimalImport.Decimal;

/** Private Decimal constructor: 80 significant digits, huge exponent range (exp(-1e10) is representable). */
export const D = Decimal.clone({
  precision: 80,
  rounding: Decimal.ROUND_HALF_EVEN,
  minE: -9e15,
  maxE: 9e15,
  toExpNeg: -7,
  toExpPos: 21,
});
export type Dec = InstanceType<typeof D>;

const ZERO = new D(0);
const ONE = new D(1);
const TWO = new D(2);

/** Exact value of a double (or of a float32 value widened to double) as a Decimal. */
export function exact(x: number): Dec {
  if (Number.isNaN(x)) return new D(NaN);
  if (!Number.isFinite(x)) return new D(x);
  if (x === 0) return new D(0);
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const negative = bits >> 63n === 1n;
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  // value = mantissa * 2^e
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const e = biased === 0 ? -1074 : biased - 1075;
  // 2^e = 5^-e * 10^e for e < 0: an exact decimal string (the Decimal constructor does not round).
  const digits = e >= 0 ? (mantissa << BigInt(e)).toString() : `${mantissa * 5n ** BigInt(-e)}e${e}`;
  return new D(negative ? `-${digits}` : digits);
}

/** ln(1 + u) for u >= 0 (u may be far below 1e-80, where 1 + u rounds to 1 in 80 digits). */
export function log1p(u: Dec): Dec {
  if (u.isZero()) return ZERO;
  if (u.abs().lt('1e-30')) {
    // Taylor series; the first omitted term u^4/4 is < 1e-90 relative.
    return u.minus(u.pow(2).div(2)).plus(u.pow(3).div(3));
  }
  return ONE.plus(u).ln();
}

/** sigmoid(z) = 1 / (1 + exp(-z)), straight from the definition (exp overflow -> Infinity -> 0). */
export function sigmoid(z: Dec): Dec {
  return ONE.div(ONE.plus(z.neg().exp()));
}

const max0 = (z: Dec): Dec => (z.gt(0) ? z : ZERO);

/** m^g with the focal-loss convention m^0 = 1 (also for m = 0). */
function powG(m: Dec, gamma: number): Dec {
  if (gamma === 0) return ONE;
  if (m.isZero()) return ZERO;
  return m.pow(gamma);
}

/** Convert a Decimal to the nearest double (decimal.js parses its own string: correctly rounded). */
export const num = (d: Dec): number => d.toNumber();

// ---------------------------------------------------------------------------------------------------
// Sigmoid (binary) focal loss
// ---------------------------------------------------------------------------------------------------

export interface SigmoidRefOptions {
  gamma: number;
  /** Weight of positives; negatives get 1 - alpha; null = no weighting. */
  alpha: number | null;
  /** t <- t (1 - s) + s / 2, applied exactly. */
  labelSmoothing?: number;
}

export interface RefResultD {
  loss: Dec;
  grad: Dec;
  /** Largest magnitude among the terms summed into the gradient (for soft targets, where they cancel). */
  gradScale: Dec;
}

export interface RefResult {
  loss: number;
  grad: number;
  gradScale: number;
}

interface SigmoidParts {
  t: Dec;
  p: Dec;
  q: Dec;
  ce: Dec;
  m: Dec;
}

const sigmoidCache = new Map<string, SigmoidParts>();

function sigmoidParts(x: number, t: number, s: number): SigmoidParts {
  const key = `${x}|${t}|${s}`;
  const hit = sigmoidCache.get(key);
  if (hit) return hit;
  const X = exact(x);
  let T = exact(t);
  if (s !== 0) {
    const S = exact(s);
    T = T.times(ONE.minus(S)).plus(S.div(2));
  }
  const p = sigmoid(X);
  const q = sigmoid(X.neg()); // 1 / (1 + exp(x)): exact even when p rounds to 1
  // Binary cross-entropy -t log p - (1 - t) log(1 - p) = softplus(x) - t x,
  // softplus(x) = max(x, 0) + ln(1 + exp(-|x|)).
  // Grouping: (max(x, 0) - t x) first, so that x - 1*x cancels exactly before the tiny log term is added
  // (at x = 1000, t = 1 the answer is 5e-435, far below 80 digits of 1000).
  const ce = max0(X).minus(T.times(X)).plus(log1p(X.abs().neg().exp()));
  // 1 - p_t with p_t = t p + (1 - t)(1 - p):  m = t (1 - p) + (1 - t) p = t q + (1 - t) p.
  const m = T.times(q).plus(ONE.minus(T).times(p));
  const parts = { t: T, p, q, ce, m };
  sigmoidCache.set(key, parts);
  return parts;
}

/** Exact per-element sigmoid focal loss and its derivative with respect to the logit x. */
export function refSigmoidDecimal(x: number, t: number, opts: SigmoidRefOptions): RefResultD {
  if (Number.isNaN(x) || Number.isNaN(t)) {
    const nan = new D(NaN);
    return { loss: nan, grad: nan, gradScale: nan };
  }
  if (!Number.isFinite(x)) throw new Error('refSigmoid: infinite logits are tested against hand-derived limits');
  const { gamma, alpha } = opts;
  const { t: T, p, q, ce, m } = sigmoidParts(x, t, opts.labelSmoothing ?? 0);
  const a =
    alpha === null
      ? ONE
      : exact(alpha)
          .times(T)
          .plus(ONE.minus(exact(alpha)).times(ONE.minus(T)));
  const mg = powG(m, gamma);
  const loss = a.times(mg).times(ce);
  // d/dx:  dp/dx = p q,  dq/dx = -p q,  dm/dx = -t p q + (1 - t) p q = (1 - 2t) p q,
  //        dce/dx = p - t = p (1 - t) - t q       (the exact identity, no cancellation of p - 1),
  // dL/dx = a [ gamma m^(gamma-1) (dm/dx) ce + m^gamma (p - t) ].
  // m^(gamma-1) (dm/dx) for m = 0: only reachable by Decimal underflow (|x| ~ 1e38, hard target), where
  // p q / m is p or q (<= 1), so the term is gamma m^gamma * O(ce) -> 0; gamma = 0 removes it anyway.
  const dm = ONE.minus(T.times(TWO)).times(p).times(q);
  const focalTerm = gamma === 0 || m.isZero() ? ZERO : new D(gamma).times(mg.div(m)).times(dm).times(ce);
  const posTerm = mg.times(p).times(ONE.minus(T));
  const negTerm = mg.times(T).times(q);
  const grad = a.times(focalTerm.plus(posTerm).minus(negTerm));
  const gradScale = a.times(D.max(focalTerm.abs(), posTerm, negTerm));
  return { loss, grad, gradScale };
}

const sigmoidResults = new Map<string, RefResult>();

/** refSigmoidDecimal rounded to doubles (memoized: the suites ask for the same cases per backend). */
export function refSigmoid(x: number, t: number, opts: SigmoidRefOptions): RefResult {
  const key = `${x}|${t}|${opts.gamma}|${opts.alpha}|${opts.labelSmoothing ?? 0}`;
  const hit = sigmoidResults.get(key);
  if (hit) return hit;
  const r = refSigmoidDecimal(x, t, opts);
  const out = { loss: num(r.loss), grad: num(r.grad), gradScale: num(r.gradScale) };
  sigmoidResults.set(key, out);
  return out;
}

/**
 * Sigmoid focal loss with a probability p (not a logit) as input, no clamping (callers stay inside
 * [eps, 1 - eps]). The derivative is with respect to p.
 */
const probResults = new Map<string, RefResult>();

export function refSigmoidProb(pIn: number, t: number, opts: SigmoidRefOptions): RefResult {
  const key = `${pIn}|${t}|${opts.gamma}|${opts.alpha}|${opts.labelSmoothing ?? 0}`;
  const hit = probResults.get(key);
  if (hit) return hit;
  const out = refSigmoidProbUncached(pIn, t, opts);
  probResults.set(key, out);
  return out;
}

function refSigmoidProbUncached(pIn: number, t: number, opts: SigmoidRefOptions): RefResult {
  const { gamma, alpha } = opts;
  const P = exact(pIn);
  const Q = ONE.minus(P);
  let T = exact(t);
  const s = opts.labelSmoothing ?? 0;
  if (s !== 0) T = T.times(ONE.minus(exact(s))).plus(exact(s).div(2));
  const a =
    alpha === null
      ? ONE
      : exact(alpha)
          .times(T)
          .plus(ONE.minus(exact(alpha)).times(ONE.minus(T)));
  const ce = T.times(P.ln()).plus(ONE.minus(T).times(Q.ln())).neg();
  const m = T.times(Q).plus(ONE.minus(T).times(P));
  const mg = powG(m, gamma);
  const loss = a.times(mg).times(ce);
  // dm/dp = 1 - 2t;  dce/dp = -t / p + (1 - t) / (1 - p)
  const focalTerm =
    gamma === 0
      ? ZERO
      : new D(gamma)
          .times(mg.div(m))
          .times(ONE.minus(T.times(2)))
          .times(ce);
  const dce = ONE.minus(T).div(Q).minus(T.div(P));
  const grad = a.times(focalTerm.plus(mg.times(dce)));
  const gradScale = a.times(D.max(focalTerm.abs(), mg.times(ONE.minus(T).div(Q)), mg.times(T.div(P))));
  return { loss: num(loss), grad: num(grad), gradScale: num(gradScale) };
}

// ---------------------------------------------------------------------------------------------------
// Softmax (multi-class) focal loss, one sample
// ---------------------------------------------------------------------------------------------------

export interface SoftmaxRefOptions {
  gamma: number;
  /** null (1 for every class), a scalar for every class, or one weight per class. */
  alpha: number | readonly number[] | null;
  /** Soft target t_j (1 - s) + s / C (hard labels are one-hot first). */
  labelSmoothing?: number;
}

export interface SoftmaxRefResultD {
  loss: Dec;
  grad: Dec[];
  gradScale: Dec[];
}

export interface SoftmaxRefResult {
  loss: number;
  grad: number[];
  gradScale: number[];
}

interface SoftmaxParts {
  p: Dec[];
  logp: Dec[];
  /** q_j = 1 - p_j = sum over i != j of p_i */
  q: Dec[];
}

const softmaxCache = new Map<string, SoftmaxParts>();

function softmaxParts(z: readonly number[]): SoftmaxParts {
  const key = z.join(',');
  const hit = softmaxCache.get(key);
  if (hit) return hit;
  const Z = z.map(exact);
  let mi = 0;
  for (let j = 1; j < Z.length; j++) if (Z[j]!.gt(Z[mi]!)) mi = j;
  const M = Z[mi]!;
  // p_j = exp(z_j) / sum_i exp(z_i) = e_j / S with e_j = exp(z_j - M) (shift for Decimal's exponent
  // range), S = 1 + rest, rest = sum_{i != argmax} e_i.
  const e = Z.map((zj) => zj.minus(M).exp());
  let rest = ZERO;
  for (let j = 0; j < e.length; j++) if (j !== mi) rest = rest.plus(e[j]!);
  const S = ONE.plus(rest);
  // log p_j = (z_j - M) - ln S, with ln S = ln(1 + rest) through log1p: rest = e^-1e5 is far below 80 digits.
  const lnS = log1p(rest);
  const logp = Z.map((zj) => zj.minus(M).minus(lnS));
  const p = e.map((ej) => ej.div(S));
  const q = p.map((_, j) => {
    let acc = ZERO;
    for (let i = 0; i < p.length; i++) if (i !== j) acc = acc.plus(p[i]!);
    return acc;
  });
  const parts = { p, logp, q };
  softmaxCache.set(key, parts);
  return parts;
}

/**
 * Exact softmax focal loss of one sample and its gradient with respect to the sample's logits.
 * `target` is a class index (hard label) or a full target distribution t[0..C).
 *   L = - sum_j w_j (1 - p_j)^gamma log p_j,   w_j = t_j alpha_j
 * Chain rule with d log p_j / dz_k = delta_jk - p_k and d(1 - p_j)/dz_k = -p_j (delta_jk - p_k):
 *   dL/dz_k = sum_j w_j (delta_jk - p_k) B_j,   B_j = gamma q_j^(gamma-1) p_j log p_j - q_j^gamma
 *           = w_k q_k B_k - p_k sum_{j != k} w_j B_j
 */
export function refSoftmaxDecimal(
  z: readonly number[],
  target: number | readonly number[],
  opts: SoftmaxRefOptions,
): SoftmaxRefResultD {
  const C = z.length;
  if (z.some((v) => Number.isNaN(v))) {
    const nan = new D(NaN);
    return { loss: nan, grad: z.map(() => nan), gradScale: z.map(() => nan) };
  }
  if (z.some((v) => !Number.isFinite(v))) {
    throw new Error('refSoftmax: infinite logits are tested against hand-derived limits');
  }
  const { gamma } = opts;
  const { p, logp, q } = softmaxParts(z);
  let t: Dec[];
  if (typeof target === 'number') t = z.map((_, j) => (j === target ? ONE : ZERO));
  else {
    if (target.length !== C) throw new Error('refSoftmax: target length');
    t = target.map(exact);
  }
  const s = opts.labelSmoothing ?? 0;
  if (s !== 0) {
    const S = exact(s);
    t = t.map((tj) => tj.times(ONE.minus(S)).plus(S.div(C)));
  }
  const alpha = opts.alpha;
  const a = (j: number): Dec => (alpha === null ? ONE : typeof alpha === 'number' ? exact(alpha) : exact(alpha[j]!));
  const w = t.map((tj, j) => tj.times(a(j)));
  let loss = ZERO;
  const B: Dec[] = [];
  for (let j = 0; j < C; j++) {
    if (w[j]!.isZero()) {
      B.push(ZERO);
      continue;
    }
    const qg = powG(q[j]!, gamma);
    loss = loss.minus(w[j]!.times(qg).times(logp[j]!));
    // q_j = 0 only by Decimal underflow (gap ~1e38); then log p_j ~ -q_j and both terms of B_j -> 0
    // for gamma > 0; for gamma = 0, B_j = -1 (cross-entropy).
    let Bj: Dec;
    if (gamma === 0) Bj = ONE.neg();
    else if (q[j]!.isZero()) Bj = ZERO;
    else Bj = new D(gamma).times(qg.div(q[j]!)).times(p[j]!).times(logp[j]!).minus(qg);
    B.push(Bj);
  }
  const wB = w.map((wj, j) => wj.times(B[j]!));
  const grad: Dec[] = [];
  const gradScale: Dec[] = [];
  for (let k = 0; k < C; k++) {
    const own = wB[k]!.times(q[k]!);
    let sumOthers = ZERO; // sum_{j != k} w_j B_j, summed directly (all terms <= 0)
    for (let j = 0; j < C; j++) if (j !== k) sumOthers = sumOthers.plus(wB[j]!);
    const others = p[k]!.times(sumOthers);
    grad.push(own.minus(others));
    gradScale.push(D.max(own.abs(), others.abs()));
  }
  return { loss, grad, gradScale };
}

const softmaxResults = new Map<string, SoftmaxRefResult>();

/** refSoftmaxDecimal rounded to doubles (memoized: the suites ask for the same cases per backend). */
export function refSoftmax(
  z: readonly number[],
  target: number | readonly number[],
  opts: SoftmaxRefOptions,
): SoftmaxRefResult {
  const key = `${z.join(',')}|${typeof target === 'number' ? target : `[${target.join(',')}]`}|${opts.gamma}|${
    opts.alpha === null || typeof opts.alpha === 'number' ? opts.alpha : `[${opts.alpha.join(',')}]`
  }|${opts.labelSmoothing ?? 0}`;
  const hit = softmaxResults.get(key);
  if (hit) return hit;
  const r = refSoftmaxDecimal(z, target, opts);
  const out = { loss: num(r.loss), grad: r.grad.map(num), gradScale: r.gradScale.map(num) };
  softmaxResults.set(key, out);
  return out;
}
