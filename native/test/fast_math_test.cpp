// Accuracy of native/simd/fast_math.hpp against __float128 (libquadmath): max ulp error over random
// points of each function's domain, and the edge cases. Exit status 1 when a bound is exceeded.
#include <cstdio>
#include <cmath>
#include <random>
#include <quadmath.h>
#include "../simd/fast_math.hpp"
double ulp_err(double got, __float128 ref) {
  if (ref == 0) return got == 0 ? 0 : 1e300;
  double r = (double)ref;
  double u = std::fabs(std::nextafter(r, INFINITY) - r);
  if (u == 0 || std::isinf(u)) u = 4.9e-324;
  return std::fabs((double)(got - ref)) / u;
}
int main() {
  std::mt19937_64 g(1);
  std::uniform_real_distribution<double> U(0, 1);
  double me = 0, ml = 0, mg = 0, mp = 0, rel_p = 0;
  double we = 0, wl = 0, wg = 0, wp = 0;
  double mr = 0, wr = 0;
  for (int i = 0; i < 2000000; i++) {
    double x = -std::pow(10.0, U(g) * 6 - 3) * (i % 7 == 0 ? 1 : U(g));
    if (i % 11 == 0) x = -U(g) * 745;
    double e = ulp_err(focal::fast::exp_nonpositive(x), expq((__float128)x));
    if (e > me) {
      me = e;
      we = x;
    }
    double u = std::pow(10.0, -U(g) * 300) * (i % 3 == 0 ? 1 : U(g));
    if (i % 5 == 0) u = U(g);
    double l = ulp_err(focal::fast::log1p_unit(u), log1pq((__float128)u));
    if (l > ml) {
      ml = l;
      wl = u;
    }
    const double d = 1.0 + (i % 2 == 0 ? U(g) : u);  // 1 + e: all of [1, 2], and near 1
    double rc = ulp_err(focal::fast::reciprocal_1_2(d), 1 / (__float128)d);
    if (rc > mr) {
      mr = rc;
      wr = d;
    }
    double m = u;
    double lg = ulp_err(focal::fast::log_unit(m), logq((__float128)m));
    if (lg > mg) {
      mg = lg;
      wg = m;
    }
    double gg = 0.1 + U(g) * 10;
    __float128 ref = powq((__float128)m, (__float128)gg);
    if ((double)ref > 2.3e-308) {
      double got = focal::fast::pow_unit(m, gg);
      double rr = std::fabs((double)((got - ref) / ref));
      if (rr > rel_p) {
        rel_p = rr;
        wp = m;
      }
    }
  }
  printf("reciprocal_1_2 max %.2f ulp at %.17g\n", mr, wr);
  printf("exp max %.2f ulp at %g\nlog1p max %.2f ulp at %g\nlog max %.2f ulp at %g\npow max rel %.3g at m=%g\n", me, we,
         ml, wl, mg, wg, rel_p, wp);
  // Bounds: a few ulps, and for pow what |g log m| <= 708 allows (the kernels' contract is 1e-12).
  int failed = 0;
  if (mr > 2) {
    printf("FAIL reciprocal_1_2\n");
    failed = 1;
  }
  if (me > 4) {
    printf("FAIL exp\n");
    failed = 1;
  }
  if (ml > 4) {
    printf("FAIL log1p_unit\n");
    failed = 1;
  }
  if (mg > 4) {
    printf("FAIL log_unit\n");
    failed = 1;
  }
  if (rel_p > 3e-13) {
    printf("FAIL pow_unit\n");
    failed = 1;
  }
  const bool edges = focal::fast::exp_nonpositive(-746) == 0 && focal::fast::exp_nonpositive(-INFINITY) == 0 &&
                     std::isnan(focal::fast::exp_nonpositive(NAN)) && focal::fast::exp_nonpositive(0) == 1 &&
                     std::isinf(focal::fast::log_unit(0)) && focal::fast::log_unit(1) == 0 &&
                     focal::fast::log1p_unit(0) == 0 && focal::fast::reciprocal_1_2(1) == 1 &&
                     focal::fast::reciprocal_1_2(2) == 0.5 && std::isnan(focal::fast::reciprocal_1_2(NAN)) &&
                     focal::fast::log1p_unit(1e-300) == 1e-300 && focal::fast::pow_unit(0, 0.5) == 0 &&
                     focal::fast::pow_unit(1, 0.5) == 1;
  if (!edges) {
    printf("FAIL edge cases\n");
    failed = 1;
  }
  printf(failed ? "fast_math: FAILED\n" : "fast_math: ok\n");
  return failed;
  printf(
      "exp(-745.2)=%g exp(-746)=%g exp(-inf)=%g exp(nan)=%g exp(0)=%g log(0)=%g log(1)=%g log(4.9e-324)=%.17g vs "
      "%.17g\n",
      focal::fast::exp_nonpositive(-745.1), focal::fast::exp_nonpositive(-746), focal::fast::exp_nonpositive(-INFINITY),
      focal::fast::exp_nonpositive(NAN), focal::fast::exp_nonpositive(0), focal::fast::log_unit(0),
      focal::fast::log_unit(1), focal::fast::log_unit(4.9e-324), std::log(4.9e-324));
}
