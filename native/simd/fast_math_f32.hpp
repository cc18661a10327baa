// Lean vectorizable float32 exp, log, log1p and reciprocal for the float32 hot loops (16 lanes on
// AVX-512, 8 on AVX2, 4 on NEON), the float32 twins of fast_math.hpp.
//
// Why float32 at all: the contract for float32 data is 1e-6 relative (docs/NUMERICS.md), about 17
// units of 2^-24. Each function here is within about one unit on its domain (measured against
// long double by native/test/fast_math_f32_test.cpp), so a kernel that adds up a handful of them
// stays inside the contract, and twice as many lanes do the work as in double. Which compositions
// keep 1e-6 is the kernels' business, proved by their exact-reference tests.
//
// No division anywhere: a vector divide is several times slower than the FMAs that replace it.
//
// Domains (the callers guarantee them; no other input is handled):
//   exp_nonpositive(x)         x <= 0 or NaN; -inf -> 0; results below 2^-126 are subnormal, 0 below -103.9
//   exp_nonpositive_ftz(x)     the same with results below 2^-126 flushed to 0
//   exp_nonpositive2(hi, lo)   exp(hi + lo) for a two-part argument, hi <= 0, |lo| <= ulp(hi): the
//                              argument's own rounding (|hi| * 2^-24) does not reach the result
//   log1p_unit(u)              u in [0, 1] or NaN, log(1 + u) with no cancellation as u -> 0
//   log_positive(x)            x > 0 normal or subnormal, finite; log(0) = -inf
//   reciprocal_1_2(d)          d in [1, 2]: 1/d
//   reciprocal_positive(d)     d positive normal, 1/d normal (d < 2^126): 1/d
//   powi_small(m, n)           m^n for n in 0..4 (m^0 = 1)
//
// Same linkage rules as fast_math.hpp: static, always inlined, compiled for each instruction set
// (simd_isa.inc includes this inside namespace focal::FOCAL_ISA).
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__GNUC__) || defined(__clang__)
#define FOCAL_FAST32_INLINE static inline __attribute__((always_inline))
#else
#define FOCAL_FAST32_INLINE static inline
#endif

// a*b + c in one rounding where the target has FMA (see fast_math.hpp for why the macro).
#if (defined(__GNUC__) || defined(__clang__)) && (defined(FOCAL_VEC_FMA) || defined(__FMA__) || defined(__aarch64__))
#define FOCAL_MUL_ADD_F32(a, b, c) __builtin_fmaf((a), (b), (c))
#else
#define FOCAL_MUL_ADD_F32(a, b, c) ((a) * (b) + (c))
#endif

namespace focal {
namespace fast32 {

FOCAL_FAST32_INLINE std::uint32_t bits(float x) {
  std::uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}
FOCAL_FAST32_INLINE float from_bits(std::uint32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

// ln 2 in two parts: the first has 13 significant bits, so k * kLn2Hi is exact for |k| < 2^11.
constexpr float kLn2Hi = 0x1.62ep-1f;
constexpr float kLn2Lo = 0x1.0bfbe8p-15f;
constexpr float kLog2e = 0x1.715476p+0f;

// e^r for |r| <= ln2/2: 1 + r + r^2 Q(r), Q of degree 4 fitted for relative error 3e-9.
FOCAL_FAST32_INLINE float exp_reduced(float r) {
  float q = 0x1.6a242ap-10f;
  q = FOCAL_MUL_ADD_F32(q, r, 0x1.1239e0p-7f);
  q = FOCAL_MUL_ADD_F32(q, r, 0x1.5558f2p-5f);
  q = FOCAL_MUL_ADD_F32(q, r, 0x1.555492p-3f);
  q = FOCAL_MUL_ADD_F32(q, r, 0x1.fffffcp-2f);
  return FOCAL_MUL_ADD_F32(q, r * r, r) + 1.0f;
}

// 2^k times e^r, k = round(hi / ln2) from kd = hi * log2e + shift: two steps below 2^-126 so that
// subnormal results come out right. `hi` only decides the limits (0 below -103.9, NaN stays NaN).
FOCAL_FAST32_INLINE float exp_scale(float hi, float kd, float shift, float p) {
  const std::int32_t k = static_cast<std::int32_t>(bits(kd) - bits(shift));  // the low bits of kd
  const bool tiny = k < -126;
  const std::int32_t scaled = tiny ? k + 64 : k;
  const float two_k = from_bits(static_cast<std::uint32_t>(scaled + 127) << 23);
  const float result = p * two_k * (tiny ? 0x1p-64f : 1.0f);
  return hi < -103.9f ? 0.0f : (hi != hi ? hi : result);
}

// e^x for x <= 0: x = k ln2 + r (Cody-Waite, exact reduction), e^r by exp_reduced.
FOCAL_FAST32_INLINE float exp_nonpositive(float x) {
  const float shift = 0x1.8p23f;               // adding it rounds to an integer held in the low mantissa bits
  const float xc = x < -104.0f ? -104.0f : x;  // keeps k in range (-inf too); exp_scale gives the 0
  const float kd = FOCAL_MUL_ADD_F32(xc, kLog2e, shift);
  const float k = kd - shift;
  float r = FOCAL_MUL_ADD_F32(-k, kLn2Hi, xc);
  r = FOCAL_MUL_ADD_F32(-k, kLn2Lo, r);
  return exp_scale(x, kd, shift, exp_reduced(r));
}

// e^x for x <= 0 with results below 2^-126 flushed to 0 (x < -87.33): fewer operations than
// exp_nonpositive, for callers to which a subnormal result is as good as 0 (it is routed elsewhere
// or below their absolute tolerance). NaN stays NaN (it propagates through the arithmetic).
FOCAL_FAST32_INLINE float exp_nonpositive_ftz(float x) {
  const float shift = 0x1.8p23f;
  const float xc = x < -87.5f ? -87.5f : x;
  const float kd = FOCAL_MUL_ADD_F32(xc, kLog2e, shift);
  const float k = kd - shift;
  float r = FOCAL_MUL_ADD_F32(-k, kLn2Hi, xc);
  r = FOCAL_MUL_ADD_F32(-k, kLn2Lo, r);
  // 2^k from the low bits of kd (k + 2^22 + 2^23 there), k >= -127 here.
  const float two_k = from_bits((bits(kd) - bits(shift) + 127u) << 23);
  const float result = exp_reduced(r) * two_k;
  return x < -0x1.5d58a0p+6f ? 0.0f : result;  // below ln(2^-126)
}

// e^(hi + lo): the same reduction on hi, with lo added to the reduced argument.
FOCAL_FAST32_INLINE float exp_nonpositive2(float hi, float lo) {
  const float shift = 0x1.8p23f;
  const float xc = hi < -104.0f ? -104.0f : hi;
  const float kd = FOCAL_MUL_ADD_F32(xc, kLog2e, shift);
  const float k = kd - shift;
  float r = FOCAL_MUL_ADD_F32(-k, kLn2Hi, xc);
  r = FOCAL_MUL_ADD_F32(-k, kLn2Lo, r) + lo;
  return exp_scale(hi, kd, shift, exp_reduced(r));
}

// log(1 + y) for y in [-0.293, 0.5], y exact: y - y^2/2 + y^3 P(y), P of degree 7 fitted for
// relative error 1.2e-8.
FOCAL_FAST32_INLINE float log1p_reduced(float y) {
  float p = -0x1.c822e8p-5f;
  p = FOCAL_MUL_ADD_F32(p, y, 0x1.ded74ep-4f);
  p = FOCAL_MUL_ADD_F32(p, y, -0x1.141102p-3f);
  p = FOCAL_MUL_ADD_F32(p, y, 0x1.26b3fap-3f);
  p = FOCAL_MUL_ADD_F32(p, y, -0x1.541ffap-3f);
  p = FOCAL_MUL_ADD_F32(p, y, 0x1.996c2cp-3f);
  p = FOCAL_MUL_ADD_F32(p, y, -0x1.0002dep-2f);
  p = FOCAL_MUL_ADD_F32(p, y, 0x1.5555b2p-2f);
  const float t = FOCAL_MUL_ADD_F32(p, y, -0.5f);
  return FOCAL_MUL_ADD_F32(t, y * y, y);
}

// log(1 + u) for u in [0, 1] without forming 1 + u: below 1/2 the polynomial takes u itself; above,
// 1 + u = 2 (1 + y) with y = (u - 1)/2 = u/2 - 1/2 in [-1/4, 0], exact (Sterbenz), plus ln 2.
// The choice is made once, as h = 0 or 1, and used in arithmetic (exact: u*1 - 0, l + 0): with
// two selects on `u >= 0.5` GCC duplicates the polynomial for each side and blends.
FOCAL_FAST32_INLINE float log1p_unit(float u) {
  const float h = u >= 0.5f ? 1.0f : 0.0f;
  const float y = FOCAL_MUL_ADD_F32(u, FOCAL_MUL_ADD_F32(-0.5f, h, 1.0f), -0.5f * h);
  const float l = log1p_reduced(y);
  return FOCAL_MUL_ADD_F32(h, kLn2Hi, FOCAL_MUL_ADD_F32(h, kLn2Lo, l));
}

// log(x) for x > 0: x = 2^k f with f in [sqrt(1/2), sqrt(2)), log f = log1p(f - 1) (f - 1 exact),
// plus k ln2 in two parts.
FOCAL_FAST32_INLINE float log_positive(float x) {
  const bool subnormal = x < 0x1p-126f;
  const float xs = subnormal ? x * 0x1p24f : x;
  const std::uint32_t b = bits(xs);
  // The mantissa with the exponent of [sqrt(1/2), sqrt(2)): offsetting by the bits of sqrt(1/2)
  // moves the binade boundary there, so k and f come out of one subtraction.
  const std::uint32_t offset = b - 0x3f3504f3u;
  const std::int32_t k = static_cast<std::int32_t>(offset) >> 23;
  const float f = from_bits((offset & 0x007fffffu) + 0x3f3504f3u);
  const float kf = static_cast<float>(k) - (subnormal ? 24.0f : 0.0f);
  const float l = log1p_reduced(f - 1.0f);
  const float result = FOCAL_MUL_ADD_F32(kf, kLn2Hi, FOCAL_MUL_ADD_F32(kf, kLn2Lo, l));
  return x == 0.0f ? -__builtin_inff() : (x != x ? x : result);
}

// 1/d for d in [1, 2]: a quadratic first guess (relative error 0.0101), then two Newton steps
// (1.0e-4, then 1e-8, below the last rounding).
FOCAL_FAST32_INLINE float reciprocal_1_2(float d) {
  float y = FOCAL_MUL_ADD_F32(FOCAL_MUL_ADD_F32(0x1.4af7f6p-2f, d, -0x1.7458f0p+0f), d, 0x1.0f8262p+1f);
  y = FOCAL_MUL_ADD_F32(y, FOCAL_MUL_ADD_F32(-d, y, 1.0f), y);
  return FOCAL_MUL_ADD_F32(y, FOCAL_MUL_ADD_F32(-d, y, 1.0f), y);
}

// 1/d for a positive normal d with 1/d normal: d = 2^k f, f in [1, 2), 1/d = 2^-k / f.
FOCAL_FAST32_INLINE float reciprocal_positive(float d) {
  const std::uint32_t b = bits(d);
  const float f = from_bits((b & 0x007fffffu) | 0x3f800000u);
  // 2^-k: the exponent field of d reflected about the bias (254 - e), as a float.
  const float two_minus_k = from_bits(0x7f000000u - (b & 0x7f800000u));
  return reciprocal_1_2(f) * two_minus_k;
}

// m^n for a small n in 0..4 by multiplication (n is loop-invariant in the callers).
FOCAL_FAST32_INLINE float powi_small(float m, int n) {
  const float m2 = m * m;
  return n == 0 ? 1.0f : (n == 1 ? m : (n == 2 ? m2 : (n == 3 ? m2 * m : m2 * m2)));
}

}  // namespace fast32
}  // namespace focal

#undef FOCAL_FAST32_INLINE
#undef FOCAL_MUL_ADD_F32
