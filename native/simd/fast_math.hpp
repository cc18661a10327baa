// Lean vectorizable exp, log1p and pow on the narrow domains the kernels use, for the hot loops.
//
// Why next to vec_math.hpp: vec_math's functions are within an ulp on their whole domain, which
// takes double-double arithmetic and costs registers; the kernels' contract is 1e-12 relative
// (docs/NUMERICS.md), thousands of ulps. These use one double polynomial each and stay within a few ulps
// on their domains (measured against __float128 by native/test/fast_math_test.cpp, and through the
// kernels against an exact reference by test/simd.test.ts), at a fraction of the cost.
//
// Domains (the callers guarantee them; no other input is handled):
//   exp_nonpositive(x)  x <= 0 or NaN (exp(-|x|), exp(z - max), exp(gamma * log m)); -inf -> 0
//   reciprocal_1_2(d)   d in [1, 2] (d = 1 + exp(-|x|)) or NaN: 1/d without a division
//   log1p_unit(u)       u in [0, 1] (u = exp(-|x|)) or NaN
//   log_unit(m)         m in [0, 1] (m = 1 - p_t), subnormals included; log(0) = -inf
//   pow_unit(m, g)      m in [0, 1], g > 0: exp(g * log m)
//
// Same linkage rules as vec_math.hpp: static, always inlined, compiled for each instruction set.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

#include "vec_math.hpp"  // vec::detail::bits and from_bits, the bit casts of both headers

#if defined(__GNUC__) || defined(__clang__)
#define FOCAL_FAST_INLINE static inline __attribute__((always_inline))
#else
#define FOCAL_FAST_INLINE static inline
#endif

// a*b + c in one rounding where the target has FMA, else two. The polynomials below are Horner
// chains: FMA halves their cost and only improves their accuracy. GCC does not define __FMA__ under
// `#pragma GCC target`, so the AVX2 and AVX-512 files define FOCAL_VEC_FMA before including this.
// __builtin_fma is GCC's and Clang's only (MSVC has no __builtin_*): any other compiler gets the
// plain expression, which is correct everywhere (only the rounding of the polynomials differs).
#if (defined(__GNUC__) || defined(__clang__)) && (defined(FOCAL_VEC_FMA) || defined(__FMA__) || defined(__aarch64__))
#define FOCAL_MUL_ADD(a, b, c) __builtin_fma((a), (b), (c))
#else
#define FOCAL_MUL_ADD(a, b, c) ((a) * (b) + (c))
#endif

namespace focal {
namespace fast {

// e^x for x <= 0: x = k*ln2 + r with |r| <= ln2/2 (Cody-Waite, two-part ln2), e^r by its Taylor
// polynomial to degree 12 (truncation < 2e-16), times 2^k built in the exponent bits. Results below
// 2^-1022 are made in two steps (2^(k+600) * 2^-600) so subnormals come out right.
FOCAL_FAST_INLINE double exp_nonpositive(double x) {
  const double shift = 0x1.8p52;  // adding it rounds to an integer held in the low mantissa bits
  const double kd = x * 1.4426950408889634 + shift;
  const double k = kd - shift;
  const double r = (x - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
  double p = 1.0 / 479001600.0;
  p = FOCAL_MUL_ADD(p, r, 1.0 / 39916800.0);
  p = FOCAL_MUL_ADD(p, r, 1.0 / 3628800.0);
  p = FOCAL_MUL_ADD(p, r, 1.0 / 362880.0);
  p = FOCAL_MUL_ADD(p, r, 1.0 / 40320.0);
  p = FOCAL_MUL_ADD(p, r, 1.0 / 5040.0);
  p = FOCAL_MUL_ADD(p, r, 1.0 / 720.0);
  p = FOCAL_MUL_ADD(p, r, 1.0 / 120.0);
  p = FOCAL_MUL_ADD(p, r, 1.0 / 24.0);
  p = FOCAL_MUL_ADD(p, r, 1.0 / 6.0);
  p = FOCAL_MUL_ADD(p, r, 0.5);
  p = FOCAL_MUL_ADD(p, r, 1.0);
  p = FOCAL_MUL_ADD(p, r, 1.0);
  // k as an integer: the low bits of kd (two's complement), without an int<->double conversion.
  const std::int64_t ki = static_cast<std::int64_t>(vec::detail::bits(kd) - vec::detail::bits(shift));
  const bool tiny = ki < -1000;
  const std::int64_t scaled = tiny ? ki + 600 : ki;
  const double two_k = vec::detail::from_bits(static_cast<std::uint64_t>(scaled + 1023) << 52);
  const double result = p * two_k * (tiny ? 0x1p-600 : 1.0);
  // Below -745.2 the result is 0 (also for -inf); NaN stays NaN.
  return x < -745.2 ? 0.0 : (x != x ? x : result);
}

// 2*atanh(s) = log((1 + s)/(1 - s)) by its series 2s(1 + s^2/3 + s^4/5 + ...), for |s| <= 1/3.
// `terms` is the number of s^2 powers kept (the caller knows how small s is).
template <int kTerms>
FOCAL_FAST_INLINE double two_atanh(double s) {
  const double s2 = s * s;
  double p = 1.0 / (2 * kTerms + 1);
  for (int i = kTerms - 1; i >= 0; --i) p = FOCAL_MUL_ADD(p, s2, 1.0 / (2 * i + 1));
  return 2.0 * s * p;
}

// 1/d for d in a known interval [lo, hi], without a division: the linear guess r0 = c - m*d that
// minimizes the relative error 1 - d*r0 on the interval (max |1 - d*r0| = delta, equioscillating
// at lo, hi and their middle), then Newton steps r += r*(1 - d*r), 2 FMAs each, which square the
// relative error. Steps are counted at compile time until delta^(2^steps) <= 2^-60, well below the
// final rounding: the result is within about an ulp of 1/d (fast_math_test measures it).
struct ReciprocalGuess {
  double c, m;  // r0 = c - m*d
  int steps;
};
constexpr ReciprocalGuess reciprocal_guess(double lo, double hi) {
  // With d = lo*y, y in [1, k]: 1 - y*(c_y - m_y*y) equioscillates for m_y = 8/(k^2 + 6k + 1),
  // c_y = m_y*(1 + k), and then delta = 1 - m_y*k.
  const double k = hi / lo;
  const double m_y = 8.0 / (k * k + 6.0 * k + 1.0);
  double delta = 1.0 - m_y * k;
  int steps = 0;
  while (delta > 0x1p-60) {
    delta *= delta;
    ++steps;
  }
  return {m_y * (1.0 + k) / lo, m_y / (lo * lo), steps};
}
constexpr ReciprocalGuess kReciprocal1To2 = reciprocal_guess(1.0, 2.0);    // delta = 1/17: 4 steps
constexpr ReciprocalGuess kReciprocal1To1_5 = reciprocal_guess(1.0, 1.5);  // delta = 1/49: 4 steps
constexpr ReciprocalGuess kReciprocalLogUnit =
    reciprocal_guess(1.7071067811865475, 2.4142135623730951);  // 1/67: 4 steps
static_assert(kReciprocal1To2.steps == 4 && kReciprocal1To1_5.steps == 4 && kReciprocalLogUnit.steps == 4,
              "reciprocal_newton4 takes four steps");

// The four Newton steps written out: a counted loop here is not unrolled inside the kernels' simd
// loops, which then stay scalar.
FOCAL_FAST_INLINE double reciprocal_newton4(double d, const ReciprocalGuess& g) {
  double r = FOCAL_MUL_ADD(-g.m, d, g.c);
  r = FOCAL_MUL_ADD(r, FOCAL_MUL_ADD(-d, r, 1.0), r);
  r = FOCAL_MUL_ADD(r, FOCAL_MUL_ADD(-d, r, 1.0), r);
  r = FOCAL_MUL_ADD(r, FOCAL_MUL_ADD(-d, r, 1.0), r);
  return FOCAL_MUL_ADD(r, FOCAL_MUL_ADD(-d, r, 1.0), r);
}

// 1/d for d in [1, 2] (d = 1 + e, e = exp(-|x|), in the sigmoid kernel); NaN stays NaN.
FOCAL_FAST_INLINE double reciprocal_1_2(double d) {
  return reciprocal_newton4(d, kReciprocal1To2);
}

// 2*atanh(t/2) = log((2 + t)/(2 - t)) from the doubled argument t = 2s (the series of two_atanh in
// s^2 = t^2/4), for |t| <= 2/3.
template <int kTerms>
FOCAL_FAST_INLINE double two_atanh_half(double t) {
  const double s2 = 0.25 * (t * t);
  double p = 1.0 / (2 * kTerms + 1);
  for (int i = kTerms - 1; i >= 0; --i) p = FOCAL_MUL_ADD(p, s2, 1.0 / (2 * i + 1));
  return t * p;
}

// log(1 + u) for u in [0, 1]: with s = u / (2 + u) in [0, 1/3], log1p(u) = 2*atanh(s), and
// 2s = u * 1/(1 + u/2) with the reciprocal on [1, 1.5] by Newton steps (no division; u/2 is exact).
// No cancellation for tiny u (2s ~ u, and 1/(1 + u/2) rounds to exactly 1 there, so log1p(u) = u
// for u below 2^-53), so the result is accurate to a few ulps all the way to 0.
// 15 terms: (1/9)^15 / 31 < 2e-16.
FOCAL_FAST_INLINE double log1p_unit(double u) {
  const double r = reciprocal_newton4(1.0 + 0.5 * u, kReciprocal1To1_5);
  return two_atanh_half<15>(u * r);
}

// log(m) for m in [0, 1]: m = 2^e * f with f in [sqrt(1/2), sqrt(2)), log f = 2*atanh((f-1)/(f+1))
// with |s| <= 0.172 (10 terms: 0.0295^10 / 21 < 1e-16), plus e*ln2 in two parts. s = (f - 1) times
// 1/(f + 1) by Newton steps on [1 + sqrt(1/2), 1 + sqrt(2)] (no division).
FOCAL_FAST_INLINE double log_unit(double m) {
  const bool subnormal = m < 0x1p-1022;
  const double x = subnormal ? m * 0x1p54 : m;
  const std::uint64_t b = vec::detail::bits(x);
  // Exponent field as a double via the 2^52 trick (no int->double conversion instruction).
  const double biased = vec::detail::from_bits((b >> 52) | 0x4330000000000000ULL) - 0x1p52;
  double f = vec::detail::from_bits((b & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL);  // in [1, 2)
  const bool high = f > 1.4142135623730951;
  f = high ? f * 0.5 : f;
  const double e = biased - 1023.0 + (high ? 1.0 : 0.0) - (subnormal ? 54.0 : 0.0);
  const double log_f = two_atanh<10>((f - 1.0) * reciprocal_newton4(f + 1.0, kReciprocalLogUnit));
  const double result = e * 6.93147180369123816490e-01 + (log_f + e * 1.90821492927058770002e-10);
  return m == 0.0 ? -std::numeric_limits<double>::infinity() : (m != m ? m : result);
}

// m^g for m in [0, 1] and g > 0: exp(g * log m); relative error about |g log m| * 1e-16.
FOCAL_FAST_INLINE double pow_unit(double m, double g) {
  return exp_nonpositive(g * log_unit(m));
}

}  // namespace fast
}  // namespace focal

#undef FOCAL_FAST_INLINE
#undef FOCAL_MUL_ADD
