// Accuracy, edge-case and vectorization test (and micro-benchmark) for native/vec_math.hpp.
// Standalone, no N-API. Built and run by scripts/test-vec-math.sh, once per ISA:
//
//   g++ -O3 -std=c++17 -fno-math-errno -fno-trapping-math -fopenmp-simd [ISA flags]
//       native/test/vec_math_test.cpp -lquadmath -o vec_math_test
//   ./vec_math_test            accuracy and edges; exit status 1 if a bound is exceeded
//   ./vec_math_test --quick    the same on fewer random points
//   ./vec_math_test --bench    ns/element of the vec:: functions and of std:: (scalar glibc)
//
// Every function is evaluated through the loop_* functions below: `#pragma omp simd` loops over
// arrays, compiled for the ISA of this build, so the vectorized code is what gets measured. Each
// element is also evaluated through a non-inlined scalar call, and the two must agree bit for bit
// (an element must not change value with its position in a loop, or results would depend on the
// thread count). References are __float128 (libquadmath); errors are in ulps of the double nearest
// the exact value.
//
// -DVEC_TEST_PRAGMA=1 / 2 selects the ISA with `#pragma GCC target` at the top of the file instead
// of -m flags (AVX-512 / AVX2+FMA), the way the kernels' per-ISA translation units do it.
// GCC 12 defines no ISA macro (__FMA__, __AVX2__) under the pragma: VEC_TEST_PRAGMA=1 declares FMA
// to vec_math.hpp with FOCAL_VEC_FMA as a kernel TU should; =2 leaves it out, testing the fallback.
#if defined(VEC_TEST_PRAGMA) && VEC_TEST_PRAGMA == 1
#pragma GCC target("avx512f,avx512dq,avx512vl,avx2,fma")
#define FOCAL_VEC_FMA 1
#elif defined(VEC_TEST_PRAGMA) && VEC_TEST_PRAGMA == 2
#pragma GCC target("avx2,fma")
#endif

#include "../vec_math.hpp"

#include <quadmath.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace v = focal::vec;
using std::size_t;
using Vec = std::vector<double>;
using quad = __float128;

#define NOINLINE __attribute__((noipa))  // no inlining, no constant propagation into the loops

// ---- The loops under test. scripts/test-vec-math.sh finds them by their "VEC-LOOP" comments and
// ---- checks in GCC's -fopt-info-vec output that each was vectorized.

NOINLINE void loop_exp(const double* __restrict x, double* __restrict y, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; ++i) y[i] = v::exp(x[i]);  // VEC-LOOP exp
}

NOINLINE void loop_log(const double* __restrict x, double* __restrict y, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; ++i) y[i] = v::log(x[i]);  // VEC-LOOP log
}

NOINLINE void loop_log1p(const double* __restrict x, double* __restrict y, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; ++i) y[i] = v::log1p(x[i]);  // VEC-LOOP log1p
}

NOINLINE void loop_pow(const double* __restrict m, const double* __restrict g, double* __restrict y, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; ++i) y[i] = v::pow(m[i], g[i]);  // VEC-LOOP pow
}

NOINLINE void loop_pow_g(const double* __restrict m, double g, double* __restrict y, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; ++i) y[i] = v::pow(m[i], g);  // VEC-LOOP pow_g
}

NOINLINE void loop_powi(const double* __restrict m, int k, double* __restrict y, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; ++i) y[i] = v::powi_small(m[i], k);  // VEC-LOOP powi_small
}

// Two instantiations (IntPower, RealPower): both must be vectorized.
NOINLINE void loop_pow_gamma(const double* __restrict m, double g, double* __restrict y, size_t n) {
  v::with_gamma_power(g, [&](auto power) {
#pragma omp simd
    for (size_t i = 0; i < n; ++i) y[i] = power(m[i]);  // VEC-LOOP pow_gamma x2
  });
}

// The focal-loss use: ce tail log1p(exp(-|x|)).
NOINLINE void loop_softplus_tail(const double* __restrict x, double* __restrict y, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; ++i) y[i] = v::log1p(v::exp(-__builtin_fabs(x[i])));  // VEC-LOOP softplus_tail
}

// The same, strip-mined: blocks of 256 through two short loops (a buffer in L1). A long fused chain
// of dependent operations limits how many iterations the CPU overlaps; see the benchmark.
NOINLINE void loop_softplus_tail_blocked(const double* __restrict x, double* __restrict y, size_t n) {
  alignas(64) double e[256];
  for (size_t b = 0; b < n; b += 256) {
    const size_t m = n - b < 256 ? n - b : 256;
#pragma omp simd
    for (size_t i = 0; i < m; ++i) e[i] = v::exp(-__builtin_fabs(x[b + i]));  // VEC-LOOP blocked_exp
#pragma omp simd
    for (size_t i = 0; i < m; ++i) y[b + i] = v::log1p(e[i]);  // VEC-LOOP blocked_log1p
  }
}

// ---- Scalar calls (a loop around a non-inlined call cannot be vectorized).
NOINLINE double one_exp(double x) {
  return v::exp(x);
}
NOINLINE double one_log(double x) {
  return v::log(x);
}
NOINLINE double one_log1p(double x) {
  return v::log1p(x);
}
NOINLINE double one_pow(double m, double g) {
  return v::pow(m, g);
}
NOINLINE double one_powi(double m, int k) {
  return v::powi_small(m, k);
}
NOINLINE double one_softplus_tail(double x) {
  return v::log1p(v::exp(-__builtin_fabs(x)));
}
NOINLINE double one_pow_gamma(double m, double g) {
  return v::with_gamma_power(g, [&](auto power) { return power(m); });
}

// ---- glibc, for the benchmark (no -ffast-math, so these stay scalar calls).
NOINLINE void std_exp(const double* x, double* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}
NOINLINE void std_log(const double* x, double* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = std::log(x[i]);
}
NOINLINE void std_log1p(const double* x, double* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = std::log1p(x[i]);
}
NOINLINE void std_pow_g(const double* m, double g, double* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = std::pow(m[i], g);
}
NOINLINE void std_softplus_tail(const double* x, double* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = std::log1p(std::exp(-std::fabs(x[i])));
}

// ---- Error measurement.

static double from_bits(uint64_t u) {
  double d;
  std::memcpy(&d, &u, 8);
  return d;
}
static uint64_t to_bits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  return u;
}

static const double kInf = std::numeric_limits<double>::infinity();
static const double kNaN = std::numeric_limits<double>::quiet_NaN();

// |got - ref| in ulps of the double nearest ref (2^-1074 below DBL_MIN; an infinite result counts
// as 2^1024). NaN must match NaN; an infinite or zero reference must be matched exactly.
static double ulp_error(double got, quad ref) {
  if (isnanq(ref)) return std::isnan(got) ? 0.0 : kInf;
  if (std::isnan(got)) return kInf;
  if (isinfq(ref)) return got == static_cast<double>(ref) ? 0.0 : kInf;
  const double refd = static_cast<double>(ref);
  if (got == refd && (std::isinf(refd) || refd == 0)) return 0.0;  // overflow / underflow as rounded
  const quad two1024 = ldexpq(quad(1), 1024);
  const quad gq = std::isinf(got) ? (got > 0 ? two1024 : -two1024) : static_cast<quad>(got);
  quad ulp;
  if (std::isinf(refd))
    ulp = ldexpq(quad(1), 971);
  else if (fabsq(ref) < ldexpq(quad(1), -1022))
    ulp = ldexpq(quad(1), -1074);
  else
    ulp = ldexpq(quad(1), ilogbq(ref) - 52);
  return static_cast<double>(fabsq(gq - ref) / ulp);
}

static double rel_error(double got, quad ref) {
  if (isnanq(ref)) return std::isnan(got) ? 0.0 : kInf;
  if (std::isnan(got)) return kInf;
  if (ref == 0) return got == 0 ? 0.0 : kInf;
  if (isinfq(ref)) return got == static_cast<double>(ref) ? 0.0 : kInf;
  return static_cast<double>(fabsq(static_cast<quad>(got) - ref) / fabsq(ref));
}

static std::string q2s(quad q) {
  char buf[64];
  quadmath_snprintf(buf, sizeof buf, "%.21Qg", q);
  return buf;
}

static int g_failures = 0;

static void fail(const std::string& what) {
  std::printf("FAIL  %s\n", what.c_str());
  ++g_failures;
}

// Statistics of one function over one input set.
struct Stat {
  const char* fn;
  std::string set;
  double bound;      // max allowed error, in the unit of `unit`
  const char* unit;  // "ulp" or "rel"
  size_t count = 0;
  double worst = 0;
  double worst_a = 0, worst_b = 0, worst_got = 0;
  quad worst_ref = 0;
  size_t scalar_mismatch = 0;
  double mismatch_a = 0, mismatch_b = 0;

  void add(double err, double a, double b, double got, quad ref) {
    ++count;
    if (err > worst || std::isnan(err)) {
      worst = std::isnan(err) ? kInf : err;
      worst_a = a;
      worst_b = b;
      worst_got = got;
      worst_ref = ref;
    }
  }
  void report(bool two_args) {
    char in[160];
    if (two_args)
      std::snprintf(in, sizeof in, "(%.17g, %.17g)", worst_a, worst_b);
    else
      std::snprintf(in, sizeof in, "(%.17g)", worst_a);
    const bool ok = worst <= bound && scalar_mismatch == 0;
    std::printf("RESULT %-16s %-34s n=%-9zu max_%s=%-10.4g bound=%-8.3g %s  worst at %s: got %.17g, exact %s\n", fn,
                set.c_str(), count, unit, worst, bound, ok ? "ok  " : "FAIL", in, worst_got, q2s(worst_ref).c_str());
    if (scalar_mismatch) {
      char buf[200];
      std::snprintf(buf, sizeof buf,
                    "%s %s: %zu elements differ between the vector loop and a scalar call, e.g. (%.17g, %.17g)", fn,
                    set.c_str(), scalar_mismatch, mismatch_a, mismatch_b);
      fail(buf);
    }
    if (!ok && worst > bound) fail(std::string(fn) + " " + set + ": error bound exceeded");
  }
};

static bool same_bits_or_both_nan(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || to_bits(a) == to_bits(b);
}

static void expect(const char* what, double got, double want) {
  const bool ok = (std::isnan(want) && std::isnan(got)) || got == want;
  if (!ok) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "edge %s: got %.17g, want %.17g", what, got, want);
    fail(buf);
  }
}

// ---- Input generators.

static std::mt19937_64 rng(20261101);

static double uniform(double a, double b) {
  return std::uniform_real_distribution<double>(a, b)(rng);
}
// A double with uniformly random bits between two non-negative doubles: every binade equally often.
static double random_bits_between(double lo, double hi) {
  return from_bits(std::uniform_int_distribution<uint64_t>(to_bits(lo), to_bits(hi))(rng));
}
static void push_neighbours(Vec& v, double x, int steps) {
  double lo = x, hi = x;
  v.push_back(x);
  for (int i = 0; i < steps; ++i) {
    lo = std::nextafter(lo, -kInf);
    hi = std::nextafter(hi, kInf);
    v.push_back(lo);
    v.push_back(hi);
  }
}

static size_t g_scale = 1;  // --quick divides the random sets by 8

static size_t nrand(size_t n) {
  return std::max<size_t>(n / g_scale, 1000);
}

// ---- exp

static void test_exp() {
  // Edges first (checked by index after the vector loop).
  struct Edge {
    double x, want;
    const char* name;
  };
  const double min_sub = std::numeric_limits<double>::denorm_min();
  const Edge edges[] = {
      {0.0, 1.0, "exp(0)"},         {-0.0, 1.0, "exp(-0)"},         {-kInf, 0.0, "exp(-inf)"},
      {kInf, kInf, "exp(+inf)"},    {kNaN, kNaN, "exp(NaN)"},       {-745.2, 0.0, "exp(-745.2)"},
      {-746.0, 0.0, "exp(-746)"},   {-1e300, 0.0, "exp(-1e300)"},   {709.79, kInf, "exp(709.79)"},
      {710.0, kInf, "exp(710)"},    {1e300, kInf, "exp(1e300)"},    {-745.1, min_sub, "exp(-745.1)"},
      {1e-300, 1.0, "exp(1e-300)"}, {-1e-300, 1.0, "exp(-1e-300)"},
  };
  const size_t n_edges = sizeof edges / sizeof edges[0];
  Vec x;
  for (const Edge& e : edges) x.push_back(e.x);
  const size_t edge_end = x.size();

  // Dense grid over the whole domain (every reduction interval hit many times).
  const size_t grid = nrand(4000000);
  for (size_t i = 0; i <= grid; ++i) x.push_back(-746.0 + 1456.0 * double(i) / double(grid));
  for (size_t i = 0; i < nrand(1000000); ++i) x.push_back(uniform(-746.0, 710.0));
  // Tiny and moderate magnitudes, both signs.
  for (size_t i = 0; i < nrand(400000); ++i) {
    const double a = random_bits_between(min_sub, 746.0);
    x.push_back(i % 2 ? a : -a);
  }
  // The subnormal-result range and the thresholds.
  for (size_t i = 0; i < nrand(400000); ++i) x.push_back(uniform(-745.2, -708.0));
  push_neighbours(x, -745.13321910194110842, 2000);  // ln(2^-1075): result rounds to 0 / 2^-1074
  push_neighbours(x, -708.39641853226410622, 2000);  // ln(DBL_MIN)
  push_neighbours(x, 709.78271289338399678, 2000);   // ln(DBL_MAX)
  // Where round(x / ln2) changes: x = (k + 1/2) ln2.
  for (int k = -1076; k <= 1024; ++k) push_neighbours(x, (k + 0.5) * 0.69314718055994530942, 3);
  for (int k = -1076; k <= 1024; ++k) push_neighbours(x, k * 0.69314718055994530942, 1);

  Vec y(x.size());
  loop_exp(x.data(), y.data(), x.size());
  for (size_t i = 0; i < n_edges; ++i) expect(edges[i].name, y[i], edges[i].want);

  Stat all{"exp", "all x", 2.0, "ulp"}, sub{"exp", "subnormal results", 2.0, "ulp"};
  for (size_t i = 0; i < x.size(); ++i) {
    const double s = one_exp(x[i]);
    if (!same_bits_or_both_nan(s, y[i])) {
      if (!all.scalar_mismatch) all.mismatch_a = x[i];
      ++all.scalar_mismatch;
    }
    if (i < edge_end && std::isnan(x[i])) continue;
    const quad ref = expq(static_cast<quad>(x[i]));
    const double err = ulp_error(y[i], ref);
    all.add(err, x[i], 0, y[i], ref);
    if (ref < ldexpq(quad(1), -1022) && ref > 0) sub.add(err, x[i], 0, y[i], ref);
  }
  all.report(false);
  sub.report(false);
}

// ---- log

static void test_log() {
  struct Edge {
    double x, want;
    const char* name;
  };
  const Edge edges[] = {
      {0.0, -kInf, "log(0)"},  {-0.0, -kInf, "log(-0)"},   {kInf, kInf, "log(+inf)"},       {kNaN, kNaN, "log(NaN)"},
      {-1.0, kNaN, "log(-1)"}, {-kInf, kNaN, "log(-inf)"}, {-1e-310, kNaN, "log(-1e-310)"}, {1.0, 0.0, "log(1)"},
  };
  const size_t n_edges = sizeof edges / sizeof edges[0];
  Vec x;
  for (const Edge& e : edges) x.push_back(e.x);
  const size_t edge_end = x.size();

  const double min_sub = std::numeric_limits<double>::denorm_min();
  const double dmax = std::numeric_limits<double>::max();
  for (size_t i = 0; i < nrand(2000000); ++i) x.push_back(random_bits_between(min_sub, dmax));
  for (size_t i = 0; i < nrand(500000); ++i) x.push_back(random_bits_between(min_sub, 0x1p-1022));
  const size_t grid = nrand(2000000);
  for (size_t i = 0; i <= grid; ++i) x.push_back(0.5 + 1.5 * double(i) / double(grid));
  for (size_t i = 0; i < nrand(500000); ++i) x.push_back(1.0 + uniform(-0x1p-8, 0x1p-8));
  push_neighbours(x, 1.0, 5000);
  push_neighbours(x, dmax, 10);
  push_neighbours(x, 0x1p-1022, 100);
  push_neighbours(x, min_sub, 0);
  for (int e = -1074; e <= 1023; ++e) {
    push_neighbours(x, std::ldexp(1.0, e), 1);
    if (e <= 1022) push_neighbours(x, std::ldexp(1.4142135623730951, e), 3);
    if (e <= 1022) push_neighbours(x, std::ldexp(0.70710678118654757, e), 3);
  }
  x.erase(std::remove_if(x.begin() + long(edge_end), x.end(), [](double a) { return !(a > 0); }), x.end());

  Vec y(x.size());
  loop_log(x.data(), y.data(), x.size());
  for (size_t i = 0; i < n_edges; ++i) expect(edges[i].name, y[i], edges[i].want);

  Stat norm{"log", "normal x > 0", 2.0, "ulp"}, sub{"log", "subnormal x", 2.0, "ulp"};
  for (size_t i = 0; i < x.size(); ++i) {
    const double s = one_log(x[i]);
    if (!same_bits_or_both_nan(s, y[i])) {
      if (!norm.scalar_mismatch) norm.mismatch_a = x[i];
      ++norm.scalar_mismatch;
    }
    if (i < edge_end) continue;
    const quad ref = logq(static_cast<quad>(x[i]));
    const double err = ulp_error(y[i], ref);
    (x[i] < 0x1p-1022 ? sub : norm).add(err, x[i], 0, y[i], ref);
  }
  norm.report(false);
  sub.report(false);
}

// ---- log1p

static void test_log1p() {
  struct Edge {
    double x, want;
    const char* name;
  };
  const double min_sub = std::numeric_limits<double>::denorm_min();
  const Edge edges[] = {
      {0.0, 0.0, "log1p(0)"},
      {1.0, 0x1.62e42fefa39efp-1, "log1p(1) = ln 2 correctly rounded"},
      {1e-300, 1e-300, "log1p(1e-300)"},
      {min_sub, min_sub, "log1p(2^-1074)"},
      {0x1p-60, 0x1p-60, "log1p(2^-60)"},
      {-1.0, -kInf, "log1p(-1)"},
      {-2.0, kNaN, "log1p(-2)"},
      {-kInf, kNaN, "log1p(-inf)"},
      {kInf, kInf, "log1p(+inf)"},
      {kNaN, kNaN, "log1p(NaN)"},
  };
  const size_t n_edges = sizeof edges / sizeof edges[0];
  Vec x;
  for (const Edge& e : edges) x.push_back(e.x);
  const size_t edge_end = x.size();

  // [0, 1], the kernels' range: dense grid, every binade, and the reduction boundaries.
  const size_t grid = nrand(4000000);
  for (size_t i = 0; i <= grid; ++i) x.push_back(double(i) / double(grid));
  for (size_t i = 0; i < nrand(2000000); ++i) x.push_back(random_bits_between(min_sub, 1.0));
  for (size_t i = 0; i < nrand(200000); ++i) x.push_back(random_bits_between(0x1p-60, 0x1p-45));
  push_neighbours(x, 0.41421356237309503, 5000);  // w = 1 + u crosses sqrt(2)
  push_neighbours(x, 1.0, 2000);
  push_neighbours(x, 0x1p-53, 2000);
  push_neighbours(x, 0x1p-52, 2000);
  const size_t unit_end = x.size();
  // Elsewhere: (-1, 0) and (1, DBL_MAX].
  for (size_t i = 0; i < nrand(500000); ++i) x.push_back(-random_bits_between(min_sub, 1.0));
  for (size_t i = 0; i < nrand(200000); ++i) x.push_back(-1.0 + random_bits_between(min_sub, 0.5));
  for (size_t i = 0; i < nrand(500000); ++i) x.push_back(random_bits_between(1.0, std::numeric_limits<double>::max()));
  push_neighbours(x, -0.29289321881345248, 3000);  // w crosses sqrt(1/2)
  push_neighbours(x, -0.5, 2000);
  push_neighbours(x, 0x1p53, 2000);
  push_neighbours(x, 0x1p52, 2000);
  x.erase(std::remove_if(x.begin() + long(unit_end), x.end(), [](double a) { return !(a > -1.0); }), x.end());

  Vec y(x.size());
  loop_log1p(x.data(), y.data(), x.size());
  for (size_t i = 0; i < n_edges; ++i) expect(edges[i].name, y[i], edges[i].want);

  Stat unit{"log1p", "u in [0, 1]", 2.0, "ulp"}, other{"log1p", "u in (-1, 0) and (1, max]", 2.0, "ulp"};
  for (size_t i = 0; i < x.size(); ++i) {
    const double s = one_log1p(x[i]);
    if (!same_bits_or_both_nan(s, y[i])) {
      if (!unit.scalar_mismatch) unit.mismatch_a = x[i];
      ++unit.scalar_mismatch;
    }
    if (i < edge_end) continue;
    const quad ref = log1pq(static_cast<quad>(x[i]));
    const double err = ulp_error(y[i], ref);
    (i < unit_end ? unit : other).add(err, x[i], 0, y[i], ref);
  }
  unit.report(false);
  other.report(false);
}

// ---- pow, with_gamma_power

static void test_pow() {
  struct Edge {
    double m, g, want;
    const char* name;
  };
  const double min_sub = std::numeric_limits<double>::denorm_min();
  const Edge edges[] = {
      {0.0, 0.0, 1.0, "pow(0, 0)"},
      {min_sub, 0.0, 1.0, "pow(2^-1074, 0)"},
      {0.5, 0.0, 1.0, "pow(0.5, 0)"},
      {1.0, 0.0, 1.0, "pow(1, 0)"},
      {kInf, 0.0, 1.0, "pow(inf, 0)"},
      {kNaN, 0.0, 1.0, "pow(NaN, 0)"},
      {0.0, 1e-300, 0.0, "pow(0, 1e-300)"},
      {0.0, 0.5, 0.0, "pow(0, 0.5)"},
      {0.0, 1.0, 0.0, "pow(0, 1)"},
      {0.0, 2.5, 0.0, "pow(0, 2.5)"},
      {0.0, 1e300, 0.0, "pow(0, 1e300)"},
      {0.0, kInf, 0.0, "pow(0, inf)"},
      {1.0, 0.5, 1.0, "pow(1, 0.5)"},
      {1.0, 7.0, 1.0, "pow(1, 7)"},
      {1.0, 1e300, 1.0, "pow(1, 1e300)"},
      {1.0, kInf, 1.0, "pow(1, inf)"},
      {1.0, kNaN, 1.0, "pow(1, NaN)"},
      {0.5, kInf, 0.0, "pow(0.5, inf)"},
      {0.5, 1e300, 0.0, "pow(0.5, 1e300)"},
      {kNaN, 2.5, kNaN, "pow(NaN, 2.5)"},
      {0.5, kNaN, kNaN, "pow(0.5, NaN)"},
      {kInf, 2.5, kInf, "pow(inf, 2.5)"},
      {1e-300, 1.0, 1e-300, "pow(1e-300, 1) (within 1e-13, see below)"},
  };
  const size_t n_edges = sizeof edges / sizeof edges[0];
  Vec m, g;
  for (const Edge& e : edges) m.push_back(e.m), g.push_back(e.g);
  const size_t edge_end = m.size();

  const double dmin = 0x1p-1022;
  // m in every binade of (0, 1], g in [0, 20].
  for (size_t i = 0; i < nrand(1000000); ++i)
    m.push_back(random_bits_between(min_sub, 1.0)), g.push_back(uniform(0, 20));
  // m in [0.5, 1] (the focal range of 1 - p_t) with the seed table's gammas and others.
  const double gammas[] = {0.25, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 16, 0.1, 1e-9};
  for (size_t i = 0; i < nrand(1000000); ++i)
    m.push_back(random_bits_between(min_sub, 1.0)), g.push_back(gammas[i % 15]);
  // Large |g log m|: y = g log m uniform in [-750, 0], the worst case for the error amplification.
  for (size_t i = 0; i < nrand(1000000); ++i) {
    const double mm = random_bits_between(min_sub, 1.0);
    const double y = uniform(-750.0, 0.0);
    m.push_back(mm), g.push_back(mm == 1.0 ? 1.0 : y / std::log(mm));
  }
  // m close to 1 (log m tiny, so |y| large needs a huge g), where log is least accurate in relative terms.
  for (size_t i = 0; i < nrand(500000); ++i) {
    const double mm = random_bits_between(0.7, 1.0);
    m.push_back(mm), g.push_back(std::fabs(uniform(-740.0, 0.0) / std::log(mm)));
  }
  for (double mm : {0.70710678118654757, 1.4142135623730951, 0.5, 0.99999999999999989})
    for (int i = 0; i < 1000; ++i) m.push_back(mm), g.push_back(uniform(0, 700.0 / std::fabs(std::log(mm))));

  Vec y(m.size());
  loop_pow(m.data(), g.data(), y.data(), m.size());
  for (size_t i = 0; i < n_edges; ++i)
    if (i != n_edges - 1) expect(edges[i].name, y[i], edges[i].want);

  Stat norm{"pow", "result >= DBL_MIN", 1e-13, "rel"}, small{"pow", "result >= DBL_MIN, |g log m| <= 1", 2.0, "ulp"},
      subabs{"pow", "subnormal: excess over 1e-13 rel", 1.0, "excess"};
  for (size_t i = 0; i < m.size(); ++i) {
    const double s = one_pow(m[i], g[i]);
    if (!same_bits_or_both_nan(s, y[i])) {
      if (!norm.scalar_mismatch) norm.mismatch_a = m[i], norm.mismatch_b = g[i];
      ++norm.scalar_mismatch;
    }
    if (i < edge_end - 1) continue;
    const quad ref = powq(static_cast<quad>(m[i]), static_cast<quad>(g[i]));
    if (ref >= dmin) {
      norm.add(rel_error(y[i], ref), m[i], g[i], y[i], ref);
      if (std::fabs(g[i] * std::log(m[i])) <= 1.0) small.add(ulp_error(y[i], ref), m[i], g[i], y[i], ref);
    } else if (ref > ldexpq(quad(1), -1075)) {
      // Subnormal result: the error allowed for a normal result (1e-13 relative) plus the rounding to
      // a multiple of 2^-1074; report the excess over 1e-13 * ref in units of 2^-1074.
      const quad abs_err = fabsq(static_cast<quad>(y[i]) - ref);
      const double excess = static_cast<double>((abs_err - quad(1e-13) * ref) / ldexpq(quad(1), -1074));
      subabs.add(std::max(excess, 0.0), m[i], g[i], y[i], ref);
    }
  }
  norm.report(true);
  small.report(true);
  subabs.report(true);

  // with_gamma_power: the kernels' entry point, powi_small or pow chosen outside the loop.
  Stat pg{"with_gamma_power", "seed gammas, m in (0, 1]", 1e-13, "rel"};
  const double pg_gammas[] = {0, 0.5, 1, 2, 2.5, 3, 4, 5, 6, 7, 8, 16, 31, 32, 1.0 / 3.0};
  Vec mm;
  for (size_t i = 0; i < nrand(100000); ++i) mm.push_back(random_bits_between(min_sub, 1.0));
  for (size_t i = 0; i < 1000; ++i) mm.push_back(random_bits_between(0.999, 1.0));
  mm.push_back(0.0);
  mm.push_back(1.0);
  Vec out(mm.size());
  for (double gm : pg_gammas) {
    const int k = v::small_int_power(gm);
    if ((gm == std::floor(gm) && gm <= 31) != (k >= 0)) fail("small_int_power(" + std::to_string(gm) + ")");
    loop_pow_gamma(mm.data(), gm, out.data(), mm.size());
    for (size_t i = 0; i < mm.size(); ++i) {
      const double s = one_pow_gamma(mm[i], gm);
      if (!same_bits_or_both_nan(s, out[i])) {
        if (!pg.scalar_mismatch) pg.mismatch_a = mm[i], pg.mismatch_b = gm;
        ++pg.scalar_mismatch;
      }
      const quad ref = powq(static_cast<quad>(mm[i]), static_cast<quad>(gm));
      if (gm == 0) expect("with_gamma_power: m^0 == 1", out[i], 1.0);
      if (mm[i] == 0 && gm > 0) expect("with_gamma_power: 0^g == 0", out[i], 0.0);
      if (ref >= dmin) pg.add(rel_error(out[i], ref), mm[i], gm, out[i], ref);
    }
  }
  pg.report(true);
  if (v::small_int_power(kNaN) != -1 || v::small_int_power(-1.0) != -1 || v::small_int_power(2.0) != 2)
    fail("small_int_power");
}

// ---- powi_small

static void test_powi() {
  const double min_sub = std::numeric_limits<double>::denorm_min();
  Vec m;
  for (size_t i = 0; i < nrand(200000); ++i) m.push_back(random_bits_between(min_sub, 1.0));
  for (size_t i = 0; i < nrand(100000); ++i) m.push_back(uniform(0.0, 1.0));
  for (size_t i = 0; i < 10000; ++i) m.push_back(random_bits_between(0.99, 1.0));
  m.push_back(0.0);
  m.push_back(1.0);
  m.push_back(kNaN);
  m.push_back(kInf);
  Vec y(m.size());
  double worst_ratio = 0;  // max over n of (max relative error) / ((n - 1) 2^-53)
  Stat all{"powi_small", "n = 0..31, result >= DBL_MIN", 0, "ulp"};
  for (int k = 0; k <= v::kMaxSmallPower; ++k) {
    loop_powi(m.data(), k, y.data(), m.size());
    const double bound_rel = std::max(k - 1, 0) * 0x1p-53 * (1 + 1e-9);
    for (size_t i = 0; i < m.size(); ++i) {
      const double s = one_powi(m[i], k);
      if (!same_bits_or_both_nan(s, y[i])) {
        if (!all.scalar_mismatch) all.mismatch_a = m[i], all.mismatch_b = k;
        ++all.scalar_mismatch;
      }
      if (k == 0) {
        expect("powi_small(m, 0) == 1", y[i], 1.0);
        continue;
      }
      if (k == 1) expect("powi_small(m, 1) == m", y[i], m[i]);
      if (k == 2) expect("powi_small(m, 2) == m*m", y[i], m[i] * m[i]);
      if (std::isnan(m[i]) || std::isinf(m[i])) continue;
      const quad ref = powq(static_cast<quad>(m[i]), static_cast<quad>(k));
      if (ref < 0x1p-1022) continue;
      const double rel = rel_error(y[i], ref);
      if (rel > bound_rel) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "powi_small(%.17g, %d): relative error %.3g > (n-1) 2^-53", m[i], k, rel);
        fail(buf);
      }
      if (k > 1) worst_ratio = std::max(worst_ratio, rel / ((k - 1) * 0x1p-53));
      all.add(ulp_error(y[i], ref), m[i], k, y[i], ref);
    }
  }
  all.bound = 2.0 * (v::kMaxSmallPower - 1);
  all.report(true);
  std::printf("INFO   powi_small: max relative error / ((n-1) 2^-53) = %.3f (bound 1)\n", worst_ratio);
}

// ---- benchmark

template <class F>
static double time_ns_per_element(F f, size_t n) {
  double best = 1e300;
  for (int rep = 0; rep < 9; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::nano>(t1 - t0).count() / double(n));
  }
  return best;
}

static void bench() {
  const size_t n = 10000000;
  Vec x(n), u(n), m(n), y(n);
  for (size_t i = 0; i < n; ++i) {
    x[i] = uniform(-40.0, 0.0);            // exp(-|logit|)
    u[i] = std::exp(uniform(-40.0, 0.0));  // log1p(exp(-|logit|))
    m[i] = uniform(0x1p-30, 1.0);          // 1 - p_t
  }
  volatile double sink = 0;
  auto row = [&](const char* name, double vec_ns, double std_ns) {
    std::printf("BENCH  %-28s vec %6.2f ns/elem   std %6.2f ns/elem   speed-up %5.1fx\n", name, vec_ns, std_ns,
                std_ns / vec_ns);
    sink = sink + y[n / 2];
  };
  row("exp(x), x in [-40, 0]", time_ns_per_element([&] { loop_exp(x.data(), y.data(), n); }, n),
      time_ns_per_element([&] { std_exp(x.data(), y.data(), n); }, n));
  row("log1p(u), u in (0, 1]", time_ns_per_element([&] { loop_log1p(u.data(), y.data(), n); }, n),
      time_ns_per_element([&] { std_log1p(u.data(), y.data(), n); }, n));
  row("log(m), m in (0, 1]", time_ns_per_element([&] { loop_log(m.data(), y.data(), n); }, n),
      time_ns_per_element([&] { std_log(m.data(), y.data(), n); }, n));
  row("pow(m, 2.5)", time_ns_per_element([&] { loop_pow_g(m.data(), 2.5, y.data(), n); }, n),
      time_ns_per_element([&] { std_pow_g(m.data(), 2.5, y.data(), n); }, n));
  row("powi_small(m, 2) vs pow(m,2)", time_ns_per_element([&] { loop_powi(m.data(), 2, y.data(), n); }, n),
      time_ns_per_element([&] { std_pow_g(m.data(), 2.0, y.data(), n); }, n));
  row("with_gamma_power, gamma 2.5", time_ns_per_element([&] { loop_pow_gamma(m.data(), 2.5, y.data(), n); }, n),
      time_ns_per_element([&] { std_pow_g(m.data(), 2.5, y.data(), n); }, n));
  row("with_gamma_power, gamma 2", time_ns_per_element([&] { loop_pow_gamma(m.data(), 2.0, y.data(), n); }, n),
      time_ns_per_element([&] { std_pow_g(m.data(), 2.0, y.data(), n); }, n));
  row("log1p(exp(-|x|))", time_ns_per_element([&] { loop_softplus_tail(x.data(), y.data(), n); }, n),
      time_ns_per_element([&] { std_softplus_tail(x.data(), y.data(), n); }, n));
  row("same, blocks of 256", time_ns_per_element([&] { loop_softplus_tail_blocked(x.data(), y.data(), n); }, n),
      time_ns_per_element([&] { std_softplus_tail(x.data(), y.data(), n); }, n));
  // Memory floor of these loops: read one array, write one.
  row("copy (memory floor)", time_ns_per_element([&] { std::memcpy(y.data(), x.data(), n * sizeof(double)); }, n),
      time_ns_per_element([&] { std::memcpy(y.data(), x.data(), n * sizeof(double)); }, n));
}

int main(int argc, char** argv) {
  bool do_bench = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--bench") == 0) do_bench = true;
    if (std::strcmp(argv[i], "--quick") == 0) g_scale = 8;
  }
  if (do_bench) {
    bench();
    return 0;
  }
  test_exp();
  test_log();
  test_log1p();
  test_pow();
  test_powi();
  {
    // The fused kernel-like loop: vector loop and scalar call agree bit for bit (position independence).
    // Strip-mined, the same math may differ in the last bit when GCC contracts a*b + c across the
    // function boundary (C++ defaults to -ffp-contract=fast); with -ffp-contract=off it must not.
    Vec x(100003), a(x.size()), b(x.size());
    for (double& xi : x) xi = uniform(-800.0, 800.0);
    loop_softplus_tail(x.data(), a.data(), x.size());
    loop_softplus_tail_blocked(x.data(), b.data(), x.size());
    size_t scalar_diff = 0, blocked_diff = 0;
    // Composition: exp's error (~1 ulp of u) passes to the result scaled by u/((1+u) log1p(u)) <= 1.
    Stat st{"log1p(exp(-|x|))", "x in [-800, 800], fused loop", 2.5, "ulp"};
    for (size_t i = 0; i < x.size(); ++i) {
      if (!same_bits_or_both_nan(a[i], one_softplus_tail(x[i]))) ++scalar_diff;
      if (!same_bits_or_both_nan(a[i], b[i])) ++blocked_diff;
      const quad ref = log1pq(expq(-fabsq(static_cast<quad>(x[i]))));
      st.add(ulp_error(a[i], ref), x[i], 0, a[i], ref);
    }
    st.report(false);
    if (scalar_diff)
      fail("log1p(exp(-|x|)): vector loop and scalar call differ in " + std::to_string(scalar_diff) + " elements");
    std::printf("INFO   log1p(exp(-|x|)): fused vs strip-mined loops differ in %zu of %zu elements (last bit)\n",
                blocked_diff, x.size());
#if defined(VEC_TEST_NO_CONTRACT)
    if (blocked_diff) fail("with -ffp-contract=off, fused and strip-mined loops must agree");
#endif
  }
  if (g_failures) {
    std::printf("vec_math_test: %d FAILURE(S)\n", g_failures);
    return 1;
  }
  std::printf("vec_math_test: all checks passed\n");
  return 0;
}
