// Accuracy, edge-case and vectorization test (and micro-benchmark) for native/simd/vec_math.hpp: log1p,
// powi_small and small_int_power, the functions the kernels use.
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

#include "../simd/vec_math.hpp"

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

NOINLINE void loop_log1p(const double* __restrict x, double* __restrict y, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; ++i) y[i] = v::log1p(x[i]);  // VEC-LOOP log1p
}

NOINLINE void loop_powi(const double* __restrict m, int k, double* __restrict y, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; ++i) y[i] = v::powi_small(m[i], k);  // VEC-LOOP powi_small
}

// ---- Scalar calls (a loop around a non-inlined call cannot be vectorized).
NOINLINE double one_log1p(double x) {
  return v::log1p(x);
}
NOINLINE double one_powi(double m, int k) {
  return v::powi_small(m, k);
}
// ---- glibc, for the benchmark (no -ffast-math, so these stay scalar calls).
NOINLINE void std_log1p(const double* x, double* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = std::log1p(x[i]);
}
NOINLINE void std_pow_g(const double* m, double g, double* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = std::pow(m[i], g);
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
  // small_int_power: the exponent powi_small takes for a gamma, -1 when gamma is not an integer in
  // [0, kMaxSmallPower] (the kernels then use their general power).
  for (double gm : {0.0, 0.5, 1.0, 2.0, 2.5, 3.0, 16.0, 31.0, 32.0, 1.0 / 3.0, 1e-9, -1.0, kNaN, kInf}) {
    const int k = v::small_int_power(gm);
    const bool small_integer = gm >= 0 && gm <= v::kMaxSmallPower && gm == std::floor(gm);
    if (small_integer != (k >= 0) || (k >= 0 && k != static_cast<int>(gm)))
      fail("small_int_power(" + std::to_string(gm) + ") = " + std::to_string(k));
  }
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
    x[i] = uniform(-40.0, 0.0);
    u[i] = std::exp(uniform(-40.0, 0.0));  // log1p(exp(-|logit|))
    m[i] = uniform(0x1p-30, 1.0);          // 1 - p_t
  }
  volatile double sink = 0;
  auto row = [&](const char* name, double vec_ns, double std_ns) {
    std::printf("BENCH  %-28s vec %6.2f ns/elem   std %6.2f ns/elem   speed-up %5.1fx\n", name, vec_ns, std_ns,
                std_ns / vec_ns);
    sink = sink + y[n / 2];
  };
  row("log1p(u), u in (0, 1]", time_ns_per_element([&] { loop_log1p(u.data(), y.data(), n); }, n),
      time_ns_per_element([&] { std_log1p(u.data(), y.data(), n); }, n));
  row("powi_small(m, 2) vs pow(m,2)", time_ns_per_element([&] { loop_powi(m.data(), 2, y.data(), n); }, n),
      time_ns_per_element([&] { std_pow_g(m.data(), 2.0, y.data(), n); }, n));
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
  test_log1p();
  test_powi();
  if (g_failures) {
    std::printf("vec_math_test: %d FAILURE(S)\n", g_failures);
    return 1;
  }
  std::printf("vec_math_test: all checks passed\n");
  return 0;
}
