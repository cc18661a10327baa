// Elementwise focal-loss mathematics in the stable forms of docs/NUMERICS.md.
// Pure C++: no N-API here, so the math can be read and tested on its own.
// Everything is computed in double, whatever the storage type: float32 inputs are widened, and the
// result is rounded once when stored, which keeps float32 outputs within an ulp of the exact value.
#pragma once

#include <cmath>

namespace focal {

struct LossAndGrad {
  double loss;
  double grad;
};

// Sigmoid focal loss of one element from its logit x, target t in [0, 1], class weight a
// (alpha_t, already chosen for t) and gamma >= 0. Returns L and dL/dx.
//
//   p = sigmoid(x), q = sigmoid(-x)         (q computed directly, never as 1 - p)
//   ce = softplus(x) - t*x                   (as a sum of non-negative terms)
//   m = t*q + (1 - t)*p                      (1 - p_t, never computed as a difference)
//   L = a * m^gamma * ce
//   dL/dx = a * m^gamma * [ (1-t)*p - t*q + gamma*(1-2t)*(p*q/m)*ce ]
inline LossAndGrad sigmoid_focal_from_logit(double x, double t, double a, double gamma) {
  if (a == 0.0) return {0.0, 0.0};  // a zero class weight silences the element, even a NaN logit
  if (std::isnan(x)) return {x, x};
  const double e = std::exp(-std::fabs(x));  // in (0, 1]; 0 only when |x| is huge
  const double p = x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
  const double q = x >= 0 ? e / (1.0 + e) : 1.0 / (1.0 + e);
  // softplus(x) - t*x = (1-t)*x + log1p(e) for x >= 0, and t*|x| + log1p(e) for x < 0.
  // The factor that is zero is tested first so that an infinite |x| gives its limit, not 0 * inf.
  const double linear = x >= 0 ? (t == 1.0 ? 0.0 : (1.0 - t) * x) : (t == 0.0 ? 0.0 : -t * x);
  const double ce = linear + std::log1p(e);
  const double m = t * q + (1.0 - t) * p;
  if (a == 0.0 || m == 0.0) return {0.0, 0.0};  // the limits: nothing to learn from this element
  const double mg = std::pow(m, gamma);
  // p*q/m is bounded (by p when t = 1, by q when t = 0); the product with ce vanishes at the limits.
  const double pq_over_m = p * q / m;
  const double focus = (gamma == 0.0 || pq_over_m == 0.0) ? 0.0 : gamma * (1.0 - 2.0 * t) * pq_over_m * ce;
  const double p_minus_t = (1.0 - t) * p - t * q;  // never p - t: at x = 50, t = 1 that is 0, not -e^-50
  return {a * mg * ce, a * mg * (p_minus_t + focus)};
}

// Sigmoid focal loss of one element from a probability p (already clamped to [eps, 1 - eps]).
// The gradient is with respect to p:
//   ce = -t*log(p) - (1-t)*log(1-p),   m = t*(1-p) + (1-t)*p,   L = a * m^gamma * ce
//   dL/dp = a * m^gamma * [ gamma*(1-2t)*ce/m + (1-t)/(1-p) - t/p ]
inline LossAndGrad sigmoid_focal_from_probability(double p, double t, double a, double gamma) {
  if (a == 0.0) return {0.0, 0.0};
  if (std::isnan(p)) return {p, p};
  const double q = 1.0 - p;
  const double ce = (t == 0.0 ? 0.0 : -t * std::log(p)) + (t == 1.0 ? 0.0 : -(1.0 - t) * std::log1p(-p));
  const double m = t * q + (1.0 - t) * p;  // >= min(p, q) > 0 thanks to the clamp
  if (a == 0.0) return {0.0, 0.0};
  const double mg = std::pow(m, gamma);
  const double focus = gamma == 0.0 ? 0.0 : gamma * (1.0 - 2.0 * t) * ce / m;
  return {a * mg * ce, a * mg * (focus + (1.0 - t) / q - t / p)};
}

// p * log(p) / q style products in the softmax gradient: 0 when p is 0, whatever the other factor
// (which may be -inf at an infinite logit gap).
inline double times_unless_zero(double p, double factor) {
  return p == 0.0 ? 0.0 : p * factor;
}

// log(p) / q, the ratio in the softmax gradient: -1 in the limit q -> 0 (p -> 1).
inline double log_p_over_q(double log_p, double q) {
  return q > 0.0 ? log_p / q : -1.0;
}

}  // namespace focal
