// Elementwise focal-loss mathematics in the stable forms of docs/NUMERICS.md: the one C++ definition
// of each per-element (sigmoid) and per-sample (hard-label softmax) formula and of the input
// predicates, used by the plain drivers (sigmoid_focal.cpp, softmax_focal.cpp) and by the vector
// kernels of every instruction set (simd_sigmoid.inc, simd_softmax.inc), which call these pieces inside their loops.
// Pure C++: no N-API here, so the math can be read and tested on its own.
// Everything is computed in double, whatever the storage type: float32 inputs are widened, and the
// result is rounded once when stored, which keeps float32 outputs within an ulp of the exact value.
//
// Internal linkage (the unnamed namespace): the simd_*.inc kernels include this header after an
// instruction-set target pragma (its loops call the pieces below, its rare careful path calls
// sigmoid_focal_from_logit); with the
// usual inline linkage the linker could keep that AVX-512 copy for every caller (SIGILL on older
// CPUs). Each translation unit gets its own copy instead.
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>

namespace focal {
namespace {

// The validity of the inputs, for every kernel (plain, per instruction set; the JS twins are in
// lib/backends/js/math.ts). False for NaN. Written with & and | so that the vector loops that evaluate them
// have no branches.
inline bool target_is_valid(double t) {  // a soft target, or a float sigmoid target
  return (t >= 0.0) & (t <= 1.0);
}
inline bool weight_is_valid(double w) {  // finite and >= 0
  return (w >= 0.0) & (w <= std::numeric_limits<double>::max());
}
// A sigmoid target of element type L: an integer one is exactly 0 or 1, a float one in [0, 1].
template <typename L>
inline bool sigmoid_target_is_valid(L t) {
  if constexpr (std::is_floating_point_v<L>) {
    return target_is_valid(static_cast<double>(t));
  } else {
    return (t == 0) | (t == 1);
  }
}

struct LossAndGrad {
  double loss;
  double grad;
};

// The smallest normal double: below it a double has fewer than 53 significant bits.
constexpr double kMinNormal = std::numeric_limits<double>::min();

// The smoothed target t' = t(1 - s) + s/2 and its complement 1 - t' = (1 - t)(1 - s) + s/2, each
// formed directly from t: 1 - t' as a difference would keep none of the digits of s/2 when s is
// tiny (s = 1e-9 gave 4.5e-6 relative error; s = 1e-20 rounds t' to 1, so 1 - t' was 0).
struct SmoothedTarget {
  double t;  // t'
  double u;  // 1 - t'
};

inline SmoothedTarget smooth_target(double raw, double s) {
  const double keep = 1.0 - s;
  const double half = 0.5 * s;
  return {raw * keep + half, (1.0 - raw) * keep + half};
}

// alpha_t = alpha*t + (1 - alpha)*(1 - t), or 1 without alpha; 1 - alpha is exact for alpha >= 1/2
// and within half an ulp below.
inline double sigmoid_class_weight(bool has_alpha, double alpha, double t, double u) {
  return has_alpha ? alpha * t + (1.0 - alpha) * u : 1.0;
}

// True when a * m^gamma * (ce, or B) * (w, or w * grad_scale), evaluated left to right in double,
// may have lost digits that the exact value keeps: a partial product fell below the normal range
// (or w * grad_scale overflowed) and a later factor could lift the result back into it. A result
// that stays below the normal range needs no care: the contract there is absolute (1e-300).
// Written with & and | so that the kernel loop that evaluates it has no branches.
//   P = a * m^gamma,  L1 = P * ce,  G1 = P * B,  W = w * grad_scale
inline bool sigmoid_product_needs_care(double P, double ce, double L1, double B, double G1, double w, double W) {
  const double absB = std::fabs(B), absG1 = std::fabs(G1);
  const bool loss = ((P < kMinNormal) & (ce * w > 1.0)) | ((L1 < kMinNormal) & (w > 1.0));
  const bool grad = (W > std::numeric_limits<double>::max()) | ((W < kMinNormal) & (absG1 > 1.0)) |
                    ((P < kMinNormal) & (absB * W > 1.0)) | ((absG1 < kMinNormal) & (W > 1.0));
  return loss | grad;
}

// A positive double as f * 2^e with f in [0.5, 1): products of many factors without intermediate
// overflow or underflow, rounded to a double once at the end.
struct Scaled {
  double f;
  long e;
};

inline Scaled scaled_times(Scaled s, double v) {  // v > 0 and finite
  int ev = 0;
  const double fv = std::frexp(v, &ev);
  int ep = 0;
  const double f = std::frexp(s.f * fv, &ep);  // s.f * fv in [0.25, 1): one rounding, never subnormal
  return {f, s.e + ev + ep};
}

inline double scaled_value(Scaled s) {
  const long limit = 4000;  // beyond, the value is 0 or inf whatever f is
  const long e = s.e < -limit ? -limit : (s.e > limit ? limit : s.e);
  return std::ldexp(s.f, static_cast<int>(e));
}

// m^gamma = 2^n * exp(r) for m in (0, 1] and gamma >= 0, whatever its magnitude: y = gamma*log(m)
// is split as n*ln2 + r with r in [0, ln2) (ln2 in two parts, the first of 32 bits, so n*ln2_hi is
// exact). Relative error about |y| * 2.2e-16 (the rounding of y), as for any pow.
inline Scaled power_scaled(double m, double gamma) {
  const double y = gamma == 0.0 ? 0.0 : gamma * std::log(m);
  const double yc = y < -1e6 ? -1e6 : y;  // below 2^-1.4e6 nothing can lift it back: 0
  const double n = std::floor(yc * 1.4426950408889634);
  const double r = (yc - n * 0x1.62e42fee00000p-1) - n * 0x1.a39ef35793c76p-33;
  return scaled_times({0.5, 1 + static_cast<long>(n)}, std::exp(r));
}

// a * m^gamma * c * w for positive a, m, finite w > 0 and any c, without intermediate underflow.
inline double focal_product(Scaled a_mg, double c, double w) {
  if (c == 0.0 || std::isinf(c)) return c;  // the other factors are positive
  const double v = scaled_value(scaled_times(scaled_times(a_mg, std::fabs(c)), w));
  return c < 0.0 ? -v : v;
}

// {w * a * m^gamma * ce, grad_scale * w * a * m^gamma * B} in scaled form (the careful path).
inline LossAndGrad sigmoid_scaled_products(double m, double gamma, double a, double ce, double B, double w,
                                           double grad_scale) {
  const Scaled a_mg = scaled_times(power_scaled(m, gamma), a);
  const bool scalable = grad_scale > 0.0 && grad_scale <= std::numeric_limits<double>::max();
  const double grad = scalable ? focal_product(scaled_times(a_mg, grad_scale), B, w) : grad_scale * w * a * B;
  return {focal_product(a_mg, ce, w), grad};
}

// The plain products of one sigmoid element: loss w*(a*m^gamma*ce) and gradient (w*g_s)*(a*m^gamma*B)
// evaluated left to right from mg = m^gamma, and whether they may have lost digits to underflow
// (care: the scaled products are needed instead). Shared by sigmoid_weighted and the vector kernels.
struct PlainProducts {
  double loss;
  double grad;
  bool care;
};

inline PlainProducts sigmoid_plain_products(double a, double mg, double ce, double B, double w, double grad_scale) {
  const double P = a * mg;
  const double L1 = P * ce;
  const double G1 = P * B;
  const double W = w * grad_scale;
  return {w * L1, W * G1, sigmoid_product_needs_care(P, ce, L1, B, G1, w, W)};
}

// The weighted loss w*a*m^gamma*ce and gradient w*g_s*a*m^gamma*B of one sigmoid element, from its
// m, ce and B (both input kinds end here): the plain products, or the scaled ones when a partial
// product underflows while the result would not.
inline LossAndGrad sigmoid_weighted(double m, double gamma, double a, double ce, double B, double w,
                                    double grad_scale) {
  const PlainProducts plain = sigmoid_plain_products(a, std::pow(m, gamma), ce, B, w, grad_scale);
  if (!plain.care) return {plain.loss, plain.grad};
  return sigmoid_scaled_products(m, gamma, a, ce, B, w, grad_scale);
}

// ce and B of one sigmoid element from its logit x, p = sigmoid(x), q = sigmoid(-x), m = t*q + u*p
// and log1p(e), e = exp(-|x|) (see sigmoid_focal_from_logit; shared with the vector kernels):
//   ce = softplus(x) - t*x = u*x + log1p(e) for x >= 0, t*|x| + log1p(e) for x < 0; the factor that
//        is zero is tested first so that an infinite |x| gives its limit, not 0 * inf.
//   B  = u*p - t*q + gamma*(u - t)*(p*q/m)*ce, never p - t (at x = 50, t = 1 that is 0, not -e^-50);
//        p*q/m is bounded (by p when t = 1, by q when t = 0) and its product with ce vanishes at the
//        limits; m = 0 (the limits) gives 0 here and is the caller's to handle.
struct CeAndB {
  double ce;
  double B;
};

inline CeAndB sigmoid_logit_ce_b(double x, double p, double q, double m, double log1p_e, double t, double u,
                                 double gamma) {
  const double linear = x >= 0.0 ? (u == 0.0 ? 0.0 : u * x) : (t == 0.0 ? 0.0 : -t * x);
  const double ce = linear + log1p_e;
  const double pq_over_m = m > 0.0 ? p * q / m : 0.0;
  const double focus = (gamma == 0.0 || pq_over_m == 0.0) ? 0.0 : gamma * (u - t) * pq_over_m * ce;
  return {ce, (u * p - t * q) + focus};
}

// Sigmoid focal loss of one element from its logit x, target t in [0, 1] and its complement u = 1 - t
// (smooth_target), class weight a (alpha_t for this t), weight w and gamma >= 0. Returns w*L and
// grad_scale * w * dL/dx.
//
//   p = sigmoid(x), q = sigmoid(-x)         (q computed directly, never as 1 - p)
//   ce = softplus(x) - t*x                   (as a sum of non-negative terms)
//   m = t*q + u*p                            (1 - p_t, never computed as a difference)
//   L = a * m^gamma * ce
//   dL/dx = a * m^gamma * B,  B = u*p - t*q + gamma*(u - t)*(p*q/m)*ce
// When m^gamma (or a partial product) falls below the normal range while the result does not
// (sigmoid_product_needs_care), the products are formed in scaled form instead.
inline LossAndGrad sigmoid_focal_from_logit(double x, double t, double u, double a, double w, double gamma,
                                            double grad_scale) {
  if (a == 0.0 || w == 0.0) return {0.0, 0.0};  // a zero weight silences the element, even a NaN logit
  if (std::isnan(x)) return {x, x};
  const double e = std::exp(-std::fabs(x));  // in (0, 1]; 0 only when |x| is huge
  const double p = x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
  const double q = x >= 0 ? e / (1.0 + e) : 1.0 / (1.0 + e);
  const double m = t * q + u * p;
  if (m == 0.0) return {0.0, 0.0};  // the limits: nothing to learn from this element
  const CeAndB cb = sigmoid_logit_ce_b(x, p, q, m, std::log1p(e), t, u, gamma);
  return sigmoid_weighted(m, gamma, a, cb.ce, cb.B, w, grad_scale);
}

// Sigmoid focal loss of one element from a probability p (already clamped to [eps, 1 - eps]), with t,
// u, a, w as above. The gradient is with respect to p:
//   ce = -t*log(p) - u*log(1-p),   m = t*(1-p) + u*p,   L = a * m^gamma * ce
//   dL/dp = a * m^gamma * [ gamma*(u - t)*ce/m + u/(1-p) - t/p ]
inline LossAndGrad sigmoid_focal_from_probability(double p, double t, double u, double a, double w, double gamma,
                                                  double grad_scale) {
  if (a == 0.0 || w == 0.0) return {0.0, 0.0};
  if (std::isnan(p)) return {p, p};
  const double q = 1.0 - p;  // exact for p >= 1/2, and within half an ulp of a number >= 1/2 below
  const double ce = (t == 0.0 ? 0.0 : -t * std::log(p)) + (u == 0.0 ? 0.0 : -u * std::log1p(-p));
  const double m = t * q + u * p;  // >= min(p, q) > 0 thanks to the clamp
  const double focus = gamma == 0.0 ? 0.0 : gamma * (u - t) * ce / m;
  const double B = focus + (u / q - t / p);
  return sigmoid_weighted(m, gamma, a, ce, B, w, grad_scale);
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

// The hard-label softmax of one sample with label y (docs/NUMERICS.md, multi-class), in the pieces
// every driver shares (the strided one of softmax_focal.cpp, the per-row and the tiled kernels of
// simd_softmax.inc, which find the maximum and the exponentials each in its own way). With M the
// maximum logit, e_j = exp(z_j - M) and rest = S - 1 = the sum of e_j over the classes but one at M:
//   log p_y = (z_y - M) - log1p(rest)     (shifted_y = z_y - M, 0 at the maximum even when infinite)
//   p_y = e_y / S,  q_y = 1 - p_y = rest / S for the class at M (y_top), (1 + (rest - e_y)) / S else
// Both are products with inv_s = 1/S (one division per sample, also used for the other classes'
// p_k = e_k * inv_s): two roundings instead of one, far inside float64's 1e-12.
struct HardLabelProbs {
  double log_p_y;
  double p_y;
  double q_y;
  double inv_s;
};

inline HardLabelProbs hard_label_probs(double shifted_y, bool y_top, double e_y, double rest, double log1p_rest) {
  const double inv_s = 1.0 / (1.0 + rest);
  return {shifted_y - log1p_rest, e_y * inv_s, (y_top ? rest : 1.0 + (rest - e_y)) * inv_s, inv_s};
}

// L = -a * u * log p_y with u = q_y^gamma and a = alpha_y * weight; +0, not -0, when p_y = 1.
inline double hard_label_loss(double a, double u, double log_p_y) {
  return a * u * (0.0 - log_p_y);
}

// The gradient of L as own = dL/dz_y and other = (dL/dz_k) / p_k for k != y, both times c / (a * u):
//   dL/dz_y = a * u * (gamma * p_y * log p_y - q_y)
//   dL/dz_k = a * u * (1 - gamma * p_y * log(p_y) / q_y) * p_k
// c is a * u, or scale * a * u where the caller folds in the gradient scale first.
struct HardLabelGrad {
  double own;
  double other;
};

inline HardLabelGrad hard_label_grad(double c, double gamma, const HardLabelProbs& pr) {
  // p_y * log(p_y) / q_y -> -p_y as q_y -> 0; products with p_y = 0 are 0 even at -inf.
  const double ratio = times_unless_zero(pr.p_y, log_p_over_q(pr.log_p_y, pr.q_y));
  return {c * (gamma * times_unless_zero(pr.p_y, pr.log_p_y) - pr.q_y), c * (1.0 - gamma * ratio)};
}

}  // namespace
}  // namespace focal
