// Vectorizable double-precision log1p and small integer powers for the focal-loss kernels (the
// softmax log-sum-exp's log1p(rest), and m^gamma for an integer gamma); fast_math.hpp has the rest.
//
// Why this exists: glibc's log1p is a scalar call, and a loop that calls them runs no
// faster than PyTorch (BENCHMARKS.md). -ffast-math would let GCC use libmvec, but it also
// breaks the stable formulas, so it is forbidden. These functions are plain straight-line double /
// int64 code that GCC 12 auto-vectorizes in a `#pragma omp simd` loop with only
//   -O3 -std=c++17 -fno-math-errno -fno-trapping-math -fopenmp-simd
// for AVX-512 (zmm), AVX2+FMA (ymm) and the SSE2 baseline (xmm), the same source compiled once per
// ISA.
//
// How it stays vectorizable:
//   - no branch that depends on the data: every special case is a ternary select on double/int64;
//   - no libm call (__builtin_fma only where the target has FMA, see FOCAL_VEC_FMA below), no table
//     lookup (no gathers): short polynomials and one division;
//   - no int64 <-> double conversion instruction (AVX2 has none): integers are moved in and out of
//     doubles with the 2^52 "magic number" trick and bit casts (memcpy, which GCC folds);
//   - 64-bit shifts are logical only (AVX2 has no 64-bit arithmetic right shift).
//
// Linkage: every function is `static inline` and always_inline. The header is included by one
// translation unit per ISA (each starting with `#pragma GCC target(...)`); with external linkage
// the linker would keep a single out-of-line copy of an inline function, possibly the AVX-512 one,
// and call it from the baseline code (SIGILL on older CPUs). Internal linkage gives each TU its own
// copy. The same holds for any header function that calls these: give it internal linkage too.
// Under `#pragma GCC target("...,fma")` GCC 12 does not define __FMA__: such a TU should `#define
// FOCAL_VEC_FMA 1` before including this header (never in a baseline TU).
//
// Accuracy (measured by native/test/vec_math_test.cpp against __float128 references over dense
// grids, every binade and the edges; an ulp is one unit in the last place of the double nearest the
// exact result, so a correctly rounded result is within 0.5 ulp; scripts/test-vec-math.sh prints
// the table):
//   log1p(u)      < 1 ulp for every u >= -1 (measured 0.87); the kernels pass the rest of a
//                 log-sum-exp, u >= 0
//   powi_small    relative error <= (n - 1) * 2^-53 (exact for n = 0, 1)
//
// Reproducibility: an element gets the same bits wherever it falls in a loop (vectorized body,
// masked or scalar remainder, or a scalar call: no data-dependent path; the test checks every
// element). Builds for different ISAs may differ in the last bit (FMA or not). Note that GCC's
// default for C++ is -ffp-contract=fast even with -std=c++17: a*b + c may be fused across these
// functions and the caller's code, so the same math written as one fused loop or as two strip-mined
// loops may differ in the last bit (both within the bounds above). -ffp-contract=off removes that
// (explicit FMAs here stay), and is the flag to use if bit-identical results across code shapes
// matter.
//
// Usage: call them qualified (focal::vec::log1p(x)) so they never clash with std:: or ::log1p.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

#if defined(__GNUC__) || defined(__clang__)
#define FOCAL_VEC_ALWAYS_INLINE inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define FOCAL_VEC_ALWAYS_INLINE __forceinline
#else
#define FOCAL_VEC_ALWAYS_INLINE inline
#endif
#define FOCAL_VEC_INLINE static FOCAL_VEC_ALWAYS_INLINE

namespace focal {
namespace vec {

namespace detail {

FOCAL_VEC_INLINE std::uint64_t bits(double x) {
  std::uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

FOCAL_VEC_INLINE double from_bits(std::uint64_t u) {
  double x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// FMA is used explicitly when the target is known to have it: AArch64 always; on x86 -mfma defines
// __FMA__, but GCC 12 does not define it under `#pragma GCC target("...fma")`, so such a TU should
// `#define FOCAL_VEC_FMA 1` before including this header (a baseline TU must not: __builtin_fma
// would become a libm call). Without it everything is still correct (and with GCC's default
// contraction still fused); only the rounding of the polynomials differs.
#if (defined(__GNUC__) || defined(__clang__)) && \
    (defined(__FMA__) || defined(__aarch64__) || (defined(FOCAL_VEC_FMA) && FOCAL_VEC_FMA))
#define FOCAL_VEC_HAS_FMA 1
#else
#define FOCAL_VEC_HAS_FMA 0
#endif

// a*b + c, fused when FOCAL_VEC_HAS_FMA. Only where either rounding is fine; exactness never
// depends on it (GCC's default -ffp-contract=fast for C++ may fuse a*b + c anyway: every formula
// here tolerates that).
FOCAL_VEC_INLINE double mul_add(double a, double b, double c) {
#if FOCAL_VEC_HAS_FMA
  return __builtin_fma(a, b, c);
#else
  return a * b + c;
#endif
}

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kShift = 0x1.8p52;  // x + kShift: x rounded to an integer, in the low bits
// ln 2 = kLn2Hi + kLn2Lo; kLn2Hi has 32 significant bits, so k*kLn2Hi is exact for |k| < 2^21.
constexpr double kLn2Hi = 0x1.62e42fee00000p-1;
constexpr double kLn2Lo = 0x1.a39ef35793c76p-33;

// log(w) + c/w for a positive normal finite w and a correction c = (1 + u) - w (log1p below).
//
// Reduction: w = 2^k * z, z in [sqrt(1/2), sqrt(2)), by integer ops on the bits (adding
//   bits(1) - bits(sqrt(1/2)) to w's bits carries into the exponent exactly when the mantissa is
//   >= sqrt(2)); f = z - 1 is exact, f in [-0.293, 0.414].
// log(1 + f) = f - f^2/2 + s*(f^2/2 + R(s^2)) with s = f/(2 + f), |s| <= 0.1716, and R the
//   degree-7 minimax polynomial of fdlibm's e_log.c (approximation error < 2^-58.45).
// The result is (k*ln2_hi + f) + (everything else), with the rounding error of the big sum kept
//   exactly; what remains is a few roundings of the small terms: < 2^-55 relative for k != 0,
//   < 0.7 * 2^-53 for k = 0, so the result is within 1 ulp.
FOCAL_VEC_INLINE double log_with_correction(double x, double c_num) {
  const std::uint64_t ix = bits(x);
  const std::uint64_t t = ix + (0x3ff0000000000000ULL - 0x3fe6a09e667f3bcdULL);
  const std::uint64_t e = t >> 52;  // biased exponent of x, +1 when its mantissa is >= sqrt(2)
  const double z = from_bits(ix - (e << 52) + 0x3ff0000000000000ULL);
  const double kd = from_bits(e | 0x4330000000000000ULL) - (0x1p52 + 1023.0);
  const double f = z - 1.0;
  const double s = f / (2.0 + f);
  // R = q*Q(q), q = s^2, Q of degree 6 with fdlibm's Lg1..Lg7, by Estrin's scheme (short chains).
  const double q = s * s, q2 = q * q, q4 = q2 * q2;
  const double a0 = mul_add(3.999999999940941908e-01, q, 6.666666666666735130e-01);
  const double a1 = mul_add(2.222219843214978396e-01, q, 2.857142874366239149e-01);
  const double a2 = mul_add(1.531383769920937332e-01, q, 1.818357216161805012e-01);
  const double b0 = mul_add(a1, q2, a0);
  const double b1 = mul_add(1.479819860511658591e-01, q2, a2);
  const double R = q * mul_add(b1, q4, b0);
  const double hfsq = 0.5 * f * f;
  double small = mul_add(kd, kLn2Lo, s * (hfsq + R)) - hfsq;
  // The argument was w = 1 + u rounded, and c_num = (1 + u) - w exactly; add log(1 + c/w) = c/w to
  // first order. 1/w = 2^-k / z and 1/z = (1 - s)/(1 + s) ~ 1 - 2s + 2s^2 (1.5% error at most, on a
  // term below 2^-53 of the result: < 0.05 ulp).
  const double kc = kd < 60.0 ? kd : 60.0;                              // c != 0 only for k <= 54; keeps 2^-k finite
  const double two_mk = from_bits(bits((kShift + 1023.0) - kc) << 52);  // 2^-k
  small += c_num * two_mk * mul_add(2.0 * s, s - 1.0, 1.0);
  const double a = kd * kLn2Hi;  // exact
  const double af = a + f;
  const double af_err = f - (af - a);  // Fast2Sum: exact since |a| >= |f| or a == 0
  return af + (af_err + small);
}

}  // namespace detail

// log(1 + u), accurate for tiny u (log1p(1e-300) = 1e-300; u itself, correctly rounded, for |u| <
// 2^-54). Method: w = 1 + u rounded, c = (1 + u) - w exactly (Fast2Sum), then log(w) (as in log) +
// c/w (the same log as a correctly rounded log would give, to 1 ulp). One division in all. Error < 1 ulp for every u >=
// -1 (the kernels pass u = exp(-|x|) in [0, 1]). log1p(0) = 0, log1p(1) = ln 2 (correctly rounded), log1p(-1) = -inf,
// log1p(u < -1) = NaN, log1p(+inf) = +inf, log1p(NaN) = NaN.
FOCAL_VEC_INLINE double log1p(double u) {
  const double w = 1.0 + u;                             // >= 2^-53 for u > -1: never subnormal
  double c = u <= 1.0 ? u - (w - 1.0) : 1.0 - (w - u);  // Fast2Sum with the larger operand first
  c = u < 0x1p53 ? c : 0.0;  // beyond, c/w < 2^-53 of the result's 2^-5; also drops inf - inf
  double r = detail::log_with_correction(w, c);
  r = u == detail::kInf ? u : r;
  r = u == -1.0 ? -detail::kInf : r;
  r = u >= -1.0 ? r : detail::kNaN;  // below -1 or NaN
  return r;
}

// Largest integer exponent handled by powi_small (the seed table's gamma = 16 included).
constexpr int kMaxSmallPower = 31;

// m^n for an integer 0 <= n <= 31 (loop-invariant; higher bits of n are ignored) by binary
// powering: m, m^2, m^4, m^8, m^16, multiplying in those whose bit is set in n, with selects on the
// bits of n (GCC vectorizes them as blends, or unswitches small loops on them). n - 1 roundings in
// all: relative error <= (n - 1) * 2^-53 (n = 0 and 1 are exact; n = 2 is m*m correctly rounded).
// The bound holds whenever the result is >= DBL_MIN (for m <= 1 every partial product is larger
// than the result). powi_small(m, 0) = 1 for every m, NaN included.
FOCAL_VEC_INLINE double powi_small(double m, int n) {
  double r = (n & 1) ? m : 1.0;
  const double m2 = m * m;
  r = (n & 2) ? r * m2 : r;
  const double m4 = m2 * m2;
  r = (n & 4) ? r * m4 : r;
  const double m8 = m4 * m4;
  r = (n & 8) ? r * m8 : r;
  const double m16 = m8 * m8;
  r = (n & 16) ? r * m16 : r;
  return r;
}

// The integer exponent to use with powi_small for this gamma, or -1 when gamma is not an integer in
// [0, kMaxSmallPower] (NaN included). Once per kernel call, outside the loop.
FOCAL_VEC_INLINE int small_int_power(double gamma) {
  if (!(gamma >= 0.0 && gamma <= kMaxSmallPower)) return -1;
  const int n = static_cast<int>(gamma);
  return static_cast<double>(n) == gamma ? n : -1;
}

}  // namespace vec
}  // namespace focal

#undef FOCAL_VEC_INLINE
#undef FOCAL_VEC_ALWAYS_INLINE
#undef FOCAL_VEC_HAS_FMA
