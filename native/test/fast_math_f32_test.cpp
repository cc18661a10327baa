// Accuracy of native/simd/fast_math_f32.hpp against long double: max error in units of 2^-24
// relative (the float32 contract of 1e-6 is about 17 of them) over random points and the whole
// binade range of each function's domain, and the edge cases. Exit status 1 when a bound is exceeded.
// Run by `npm run test:native-math` (scripts/test-vec-math.sh), or by hand:
//   g++ -O2 -std=c++17 -mavx2 -mfma -DFOCAL_VEC_FMA=1 native/test/fast_math_f32_test.cpp && ./a.out  (and without
//   FMA: the scalar build's rounding)
#include <cmath>
#include <cstdio>
#include <random>

#include "../simd/fast_math_f32.hpp"

namespace {
// |got - ref| / (|ref| 2^-24), or the error relative to the smallest normal float below it.
double units(float got, long double ref) {
  if (std::isnan(static_cast<double>(ref))) return std::isnan(got) ? 0 : 1e30;
  const long double scale = std::fabs(ref) < 0x1p-126L ? 0x1p-126L : std::fabs(ref);
  return static_cast<double>(std::fabs(static_cast<long double>(got) - ref) / (scale * 0x1p-24L));
}

struct Worst {
  const char* name;
  double bound;
  double err = 0, at = 0;
  void see(double e, double x) {
    if (e > err) err = e, at = x;
  }
  bool report() const {
    std::printf("%-20s max %.3f units of 2^-24 at %.9g (bound %.1f)\n", name, err, at, bound);
    return err <= bound;
  }
};
}  // namespace

int main() {
  namespace f = focal::fast32;
  std::mt19937 g(7);
  std::uniform_real_distribution<float> U(0.0f, 1.0f);
  Worst exp0{"exp_nonpositive_ftz", 1.6}, exp1{"exp_nonpositive", 1.6}, exp2{"exp_nonpositive2", 1.8},
      l1p{"log1p_unit", 1.6}, lg{"log_positive", 1.6}, rc12{"reciprocal_1_2", 1.7}, rcp{"reciprocal_positive", 1.7};
  for (int i = 0; i < 4000000; ++i) {
    const float x = -U(g) * (i % 3 == 0 ? 1.0f : 87.0f);
    exp1.see(units(f::exp_nonpositive(x), std::exp(static_cast<long double>(x))), x);
    if (x >= -87.0f) exp0.see(units(f::exp_nonpositive_ftz(x), std::exp(static_cast<long double>(x))), x);
    // A two-part argument: hi + lo with lo below half an ulp of hi.
    const float hi = -U(g) * 87.0f, lo = hi * (U(g) - 0.5f) * 0x1p-24f;
    exp2.see(units(f::exp_nonpositive2(hi, lo), std::exp(static_cast<long double>(hi) + lo)), hi);
    const float u = i % 2 ? U(g) : std::ldexp(U(g), -static_cast<int>(U(g) * 150));
    l1p.see(units(f::log1p_unit(u), std::log1p(static_cast<long double>(u))), u);
    const float xl = std::ldexp(0.5f + U(g), static_cast<int>(U(g) * 276) - 149);
    if (xl > 0 && xl != 1.0f) lg.see(units(f::log_positive(xl), std::log(static_cast<long double>(xl))), xl);
    const float d = 1.0f + U(g);
    rc12.see(units(f::reciprocal_1_2(d), 1.0L / d), d);
    const float dp = std::ldexp(0.5f + U(g), static_cast<int>(U(g) * 250) - 124);
    rcp.see(units(f::reciprocal_positive(dp), 1.0L / dp), dp);
  }
  int edge = 0;
  auto expect = [&](bool ok, const char* what) {
    if (!ok) ++edge, std::printf("edge case failed: %s\n", what);
  };
  expect(f::exp_nonpositive(0.0f) == 1.0f, "exp(0) = 1");
  expect(f::exp_nonpositive(-__builtin_inff()) == 0.0f, "exp(-inf) = 0");
  expect(std::isnan(f::exp_nonpositive(__builtin_nanf(""))), "exp(NaN) = NaN");
  expect(f::exp_nonpositive(-200.0f) == 0.0f, "exp(-200) = 0");
  expect(f::exp_nonpositive_ftz(-87.34f) == 0.0f && f::exp_nonpositive_ftz(-__builtin_inff()) == 0.0f,
         "exp_ftz below 2^-126 = 0");
  expect(std::isnan(f::exp_nonpositive_ftz(__builtin_nanf(""))), "exp_ftz(NaN) = NaN");
  expect(f::exp_nonpositive_ftz(0.0f) == 1.0f, "exp_ftz(0) = 1");
  expect(units(f::exp_nonpositive_ftz(-87.33f), std::exp(static_cast<long double>(-87.33f))) <= 1.6, "exp_ftz(-87.33)");
  expect(std::fabs(f::exp_nonpositive(-100.0f) - std::exp(-100.0f)) <= 0x1p-149f, "exp(-100) subnormal");
  expect(f::log1p_unit(0.0f) == 0.0f, "log1p(0) = 0");
  expect(f::log1p_unit(0x1p-149f) == 0x1p-149f, "log1p(min subnormal)");
  expect(std::isnan(f::log1p_unit(__builtin_nanf(""))), "log1p(NaN) = NaN");
  expect(f::log_positive(1.0f) == 0.0f, "log(1) = 0");
  expect(f::log_positive(0.0f) == -__builtin_inff(), "log(0) = -inf");
  expect(units(f::log_positive(0x1p-149f), std::log(0x1p-149L)) <= 1.0, "log(min subnormal)");
  expect(f::reciprocal_1_2(1.0f) == 1.0f && f::reciprocal_1_2(2.0f) == 0.5f, "1/1, 1/2 exact");
  expect(f::reciprocal_positive(0x1p-125f) == 0x1p125f, "1/2^-125");
  bool ok = true;
  for (const Worst* w : {&exp0, &exp1, &exp2, &l1p, &lg, &rc12, &rcp}) ok &= w->report();
  std::printf("%d edge case(s) failed\n", edge);
  return ok && edge == 0 ? 0 : 1;
}
