// Vectorizable double-precision exp, log, log1p and pow for the focal-loss kernels.
//
// Why this exists: glibc's exp/log1p/pow are scalar calls, and a loop that calls them runs no
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
//     lookup (no gathers): short polynomials and one division (in log);
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
//   exp(x)        < 1.2 ulp on its whole domain, subnormal results included (measured 1.11)
//   log(x)        < 1 ulp for every positive double, subnormals included (measured 0.84)
//   log1p(u)      < 1 ulp for every u >= -1 (measured 0.87); the kernels pass u = exp(-|x|)
//   pow(m, g)     relative error about |g*log(m)| * 2^-54 + 1 ulp: < 1e-13 for results >= DBL_MIN
//                 (measured 3.3e-14 at |g*log(m)| ~ 700; 1.1 ulp for |g*log(m)| <= 1)
//   powi_small    relative error <= (n - 1) * 2^-53 (exact for n = 0, 1)
// with_gamma_power picks powi_small or pow for a gamma, once per kernel call (see the end of the
// file).
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
// Speed: a loop whose body chains several of these (e.g. log1p(exp(-|x|))) is limited by latency,
// not by throughput: strip-mining it into short loops over blocks of ~256 elements in L1 ran 2x
// faster (see the benchmark in the test).
//
// Usage: call them qualified (focal::vec::exp(x)) so they never clash with std:: or ::exp.
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
// contraction still fused); only pow's exact product takes the longer FMA-free route.
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

// The rounding error of p = a*b (a*b = p + err, barring overflow): one FMA (exact), or, without
// FMA, Dekker's product with the operands split by masking off 27 mantissa bits (high parts of 26
// bits): the partial products are exact, so fusing them (contraction) changes nothing, unlike the
// multiply-based split a*(2^27+1) which contraction breaks. Error < 2^-70 |p|, plenty for pow.
FOCAL_VEC_INLINE double two_prod_err(double a, double b, double p) {
#if FOCAL_VEC_HAS_FMA
  return __builtin_fma(a, b, -p);
#else
  const std::uint64_t high = 0xfffffffff8000000ULL;          // sign, exponent, top 25 stored mantissa bits
  const double ah = from_bits(bits(a) & high), al = a - ah;  // al: exact, <= 27 bits
  const double bh = from_bits(bits(b) & high), bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
#endif
}

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kShift = 0x1.8p52;  // x + kShift: x rounded to an integer, in the low bits
constexpr double kLog2e = 0x1.71547652b82fep0;
// ln 2 = kLn2Hi + kLn2Lo; kLn2Hi has 32 significant bits, so k*kLn2Hi is exact for |k| < 2^21.
constexpr double kLn2Hi = 0x1.62e42fee00000p-1;
constexpr double kLn2Lo = 0x1.a39ef35793c76p-33;

// exp(xh + xl), xl = 0 or the low part (|xl| <= ulp(xh)) of a double-double argument (from pow).
//
// Reduction: k = round(x / ln2), r = x - k*ln2, |r| <= ln2/2 (Cody-Waite: xh - k*kLn2Hi is exact,
//   the rest rounds once, < 2^-60). The 2^52 trick: t = x/ln2 + 1.5*2^52 rounds x/ln2 to an
//   integer k that sits in the low mantissa bits of t; k is read from t's bits, no conversion.
// Polynomial: exp(r) = 1 + r + r^2 * P(r), P of degree 9 fitted (Remez, relative error of P) on
//   [-0.3466, 0.3466]: approximation error 1.7e-17 relative (0.15 ulp); evaluated by Estrin's
//   scheme (short dependency chains: long kernel loops are latency-bound). Total error < 1.2 ulp.
// Scaling: 2^k = 2^h * 2^(k-h), h = floor(k/2), both normal for |k| <= 2044; (e*2^h)*2^(k-h) is
//   rounded once: subnormal results are correctly rounded (up to e's error), and overflow and
//   underflow happen naturally, correctly rounded, for |x| up to 1000. Beyond that k is garbage
//   and the last two selects give inf or 0 (also for x = +-inf); NaN propagates (compares false).
template <bool kWithLow>
FOCAL_VEC_INLINE double exp_dd(double xh, double xl) {
  const double t = mul_add(xh, kLog2e, kShift);
  const double kd = t - kShift;
  double r = (xh - kd * kLn2Hi) - kd * kLn2Lo;
  if (kWithLow) r += xl;  // (r + 0.0 is not free: the compiler must keep it for -0.0)
  const double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  const double q0 = mul_add(0x1.5555555555558p-3, r, 0x1.0000000000001p-1);
  const double q1 = mul_add(0x1.111111110f803p-7, r, 0x1.5555555553d62p-5);
  const double q2 = mul_add(0x1.a01a01b00c685p-13, r, 0x1.6c16c1788c092p-10);
  const double q3 = mul_add(0x1.71ddf6b35affep-19, r, 0x1.a019b90c8b607p-16);
  const double q4 = mul_add(0x1.af632bd579fc1p-26, r, 0x1.28918606e1a89p-22);
  const double p = mul_add(q4, r8, mul_add(mul_add(q3, r2, q2), r4, mul_add(q1, r2, q0)));
  const double e = 1.0 + mul_add(r2, p, r);  // exp(r) in [0.70, 1.42]
  // bits(t) = bits(kShift) + k; kb = k + 2046 >= 0, so a logical shift halves it.
  const std::uint64_t kb = bits(t) + (2046 - bits(kShift));
  const std::uint64_t h = kb >> 1;  // floor(k/2) + 1023: the biased exponent of 2^floor(k/2)
  const double res = (e * from_bits(h << 52)) * from_bits((kb - h) << 52);
  return xh > 1000.0 ? kInf : (xh < -1000.0 ? 0.0 : res);
}

// log(x) = k*ln2 + log(1 + f) for a positive normal finite x, as an unevaluated sum hi + lo
// (|lo| <= ulp(hi)/2; hi is the rounded log), for log, log1p and pow.
//
// Reduction: x = 2^k * z, z in [sqrt(1/2), sqrt(2)), by integer ops on the bits (adding
//   bits(1) - bits(sqrt(1/2)) to x's bits carries into the exponent exactly when the mantissa is
//   >= sqrt(2)); f = z - 1 is exact, f in [-0.293, 0.414].
// log(1 + f) = f - f^2/2 + s*(f^2/2 + R(s^2)) with s = f/(2 + f), |s| <= 0.1716, and R the
//   degree-7 minimax polynomial of fdlibm's e_log.c (approximation error < 2^-58.45).
// hi + lo = (k*ln2_hi + f) + (everything else), with the rounding errors of the big sums kept
//   exactly; what remains is a few roundings of the small terms: < 2^-55 relative for k != 0,
//   < 0.7 * 2^-53 for k = 0. So log is within 1 ulp, and pow's g*log(m) within ~2^-54 relative.
// k_offset: -54 for subnormals scaled by 2^54. with_c (log1p): see below.
FOCAL_VEC_INLINE void log_parts(double x, double k_offset, double c_num, bool with_c, double& hi, double& lo) {
  const std::uint64_t ix = bits(x);
  const std::uint64_t t = ix + (0x3ff0000000000000ULL - 0x3fe6a09e667f3bcdULL);
  const std::uint64_t e = t >> 52;  // biased exponent of x, +1 when its mantissa is >= sqrt(2)
  const double z = from_bits(ix - (e << 52) + 0x3ff0000000000000ULL);
  const double kd = (from_bits(e | 0x4330000000000000ULL) - (0x1p52 + 1023.0)) + k_offset;
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
  if (with_c) {
    // log1p: the argument was w = 1 + u rounded, and c_num = (1 + u) - w exactly; add
    // log(1 + c/w) = c/w to first order. 1/w = 2^-k / z and 1/z = (1 - s)/(1 + s) ~ 1 - 2s + 2s^2
    // (1.5% error at most, on a term below 2^-53 of the result: < 0.05 ulp).
    const double kc = kd < 60.0 ? kd : 60.0;                              // c != 0 only for k <= 54; keeps 2^-k finite
    const double two_mk = from_bits(bits((kShift + 1023.0) - kc) << 52);  // 2^-k
    small += c_num * two_mk * mul_add(2.0 * s, s - 1.0, 1.0);
  }
  const double a = kd * kLn2Hi;  // exact
  const double af = a + f;
  const double af_err = f - (af - a);  // Fast2Sum: exact since |a| >= |f| or a == 0
  // Renormalize so that |lo| <= ulp(hi)/2 (Fast2Sum again: |small| <= f^2/2 < |a + f|).
  const double rest = af_err + small;
  hi = af + rest;
  lo = rest - (hi - af);
}

}  // namespace detail

// e^x. Error < 1.2 ulp everywhere, including subnormal results (x in (-745.14, -708.4)).
// x <= -745.14 -> 0 (-inf -> 0), x >= 709.79 -> +inf, NaN -> NaN.
FOCAL_VEC_INLINE double exp(double x) {
  return detail::exp_dd<false>(x, 0.0);
}

// Natural logarithm. Error < 1 ulp for every positive double; subnormals are scaled by 2^54 first.
// log(+-0) = -inf, log(+inf) = +inf, log(x < 0) = NaN, log(NaN) = NaN.
FOCAL_VEC_INLINE double log(double x) {
  const bool sub = x < 0x1p-1022;
  double r, lo;
  detail::log_parts(sub ? x * 0x1p54 : x, sub ? -54.0 : 0.0, 0.0, false, r, lo);
  r = x == detail::kInf ? x : r;
  r = x == 0.0 ? -detail::kInf : r;
  r = x >= 0.0 ? r : detail::kNaN;  // negative or NaN
  return r;
}

// log(1 + u), accurate for tiny u (log1p(1e-300) = 1e-300; u itself, correctly rounded, for |u| <
// 2^-54). Method: w = 1 + u rounded, c = (1 + u) - w exactly (Fast2Sum), then log(w) (as in log) +
// c/w. One division in all. Error < 1 ulp for every u >= -1 (the kernels pass u = exp(-|x|) in [0,
// 1]). log1p(0) = 0, log1p(1) = ln 2 (correctly rounded), log1p(-1) = -inf, log1p(u < -1) = NaN,
// log1p(+inf) = +inf, log1p(NaN) = NaN.
FOCAL_VEC_INLINE double log1p(double u) {
  const double w = 1.0 + u;                             // >= 2^-53 for u > -1: never subnormal
  double c = u <= 1.0 ? u - (w - 1.0) : 1.0 - (w - u);  // Fast2Sum with the larger operand first
  c = u < 0x1p53 ? c : 0.0;  // beyond, c/w < 2^-53 of the result's 2^-5; also drops inf - inf
  double r, lo;
  detail::log_parts(w, 0.0, c, true, r, lo);
  r = u == detail::kInf ? u : r;
  r = u == -1.0 ? -detail::kInf : r;
  r = u >= -1.0 ? r : detail::kNaN;  // below -1 or NaN
  return r;
}

// m^g for m >= 0 and g >= 0 (any finite or infinite values; other signs are not supported),
// computed as exp(g * log(m)) with log(m) as a double-double and g*log(m) formed exactly (FMA or
// Dekker), so the only amplified error is that of log(m): relative error about |g*log(m)| * 2^-54 +
// 1 ulp, below 1e-13 for every result >= DBL_MIN (|g*log(m)| <= 708.4), and the same relative bound
// (plus half a subnormal ulp) for subnormal results. pow(m, 0) = 1 for every m (0, inf and NaN
// included: gamma = 0 is exactly 1), pow(1, g) = 1, pow(0, g > 0) = 0, pow(+inf, g > 0) = +inf, NaN
// -> NaN otherwise.
FOCAL_VEC_INLINE double pow(double m, double g) {
  const bool sub = m < 0x1p-1022;
  double lh, ll;
  detail::log_parts(sub ? m * 0x1p54 : m, sub ? -54.0 : 0.0, 0.0, false, lh, ll);
  lh = m == detail::kInf ? m : lh;
  lh = m == 0.0 ? -detail::kInf : lh;
  lh = m >= 0.0 ? lh : detail::kNaN;
  const double yh = g * lh;
  // NaN when yh is infinite (inf - inf), but then exp_dd returns 0 or inf from yh alone.
  const double yl = detail::two_prod_err(g, lh, yh) + g * ll;
  double r = detail::exp_dd<true>(yh, yl);
  r = (g == 0.0 || m == 1.0) ? 1.0 : r;
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

// The modulating factor m^gamma as a function object, one type per method, so that a kernel loop is
// instantiated once for each and the choice is made once per call, outside the loop. (A select
// `n >= 0 ? powi_small(m, n) : pow(m, g)` inside the loop is NOT vectorized by GCC 12: it mixes
// the invariant int conditions of powi_small with the outer one and gives up on the whole loop.)
// In an unnamed namespace for the same linkage reason as the functions above.
namespace {
struct IntPower {  // gamma = n, an integer in [0, kMaxSmallPower]: error <= (n - 1) * 2^-53
  int n;
  FOCAL_VEC_ALWAYS_INLINE double operator()(double m) const { return powi_small(m, n); }
};
struct RealPower {  // any other gamma >= 0: pow's error
  double gamma;
  FOCAL_VEC_ALWAYS_INLINE double operator()(double m) const { return pow(m, gamma); }
};
}  // namespace

// Calls body(power) with power = IntPower{n} when gamma is a small integer, else RealPower{gamma},
// and returns what body returns (both instantiations must return the same type). Usage:
//
//   focal::vec::with_gamma_power(gamma, [&](auto power) {
//   #pragma omp simd
//     for (size_t i = 0; i < n; ++i) out[i] = power(m[i]) * ce[i];
//   });
template <class Body>
FOCAL_VEC_INLINE decltype(auto) with_gamma_power(double gamma, Body&& body) {
  const int n = small_int_power(gamma);
  if (n >= 0) return body(IntPower{n});
  return body(RealPower{gamma});
}

}  // namespace vec
}  // namespace focal

#undef FOCAL_VEC_INLINE
#undef FOCAL_VEC_ALWAYS_INLINE
#undef FOCAL_VEC_HAS_FMA
