// Checks native/reduce/reproducible_sum.hpp: the same multiset of values gives the same state bits in
// any order, chunking and merge tree, one value at a time or lane-parallel (L = 1, 4, 8; double and
// float input); known sums at the ends of the range. Exit status 1 on any failure.
//
//   reproducible_sum_test              the checks
//   reproducible_sum_test --states F   for each line of F (values as 16 hex digits of their bits), prints
//                                      the canonical state and the value, in hex bits, on one line; the
//                                      lane forms must give the same (test/reproducible-sum-native.test.ts
//                                      compares the lines with lib/reduce/reproducible-sum.ts)
//   reproducible_sum_test --bench      instructions per value are measured with callgrind on this mode:
//                                      2^22 deposits, scalar (argument "scalar"), 8 lanes ("lanes") or
//                                      8 lanes from float ("float"),
//                                      or the same values summed plainly ("plain": the setup to subtract)
// Only C headers and <string>/<vector>: the TypeScript test compiles this file, on a busy machine.
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "../reduce/reproducible_sum.hpp"

using focal::repro::ReproducibleSum;
using focal::repro::ReproLanes;

namespace {

int failures = 0;

// splitmix64: a small, good, seeded generator.
struct Rng {
  uint64_t s;
  uint64_t operator()() {
    uint64_t z = (s += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * static_cast<double>((*this)() >> 11) * 0x1p-53; }
  size_t below(size_t n) { return static_cast<size_t>((*this)() % n); }
};

uint64_t bits_of(double x) {
  uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}
double from_bits(uint64_t b) {
  double x;
  std::memcpy(&x, &b, sizeof b);
  return x;
}

std::string state_line(const ReproducibleSum& acc) {
  ReproducibleSum s = acc;
  s.renormalize();
  const double nf = s.non_finite;
  const char* non_finite = nf == 0.0 ? "none" : nf != nf ? "NaN" : nf > 0 ? "Infinity" : "-Infinity";
  char buf[512];
  int n = std::snprintf(buf, sizeof buf, "%d", s.index);
  for (int k = 0; k < focal::repro::kK; ++k)
    n += std::snprintf(buf + n, sizeof buf - n, " %016" PRIx64, bits_of(s.primary[k]));
  for (int k = 0; k < focal::repro::kK; ++k) n += std::snprintf(buf + n, sizeof buf - n, " %.0f", s.carry[k]);
  const double v = acc.to_double();
  std::snprintf(buf + n, sizeof buf - n, " %s %016" PRIx64, non_finite,
                v != v ? uint64_t{0x7ff8000000000000} : bits_of(v));
  return buf;
}

ReproducibleSum scalar_sum(const std::vector<double>& v) {
  ReproducibleSum acc;
  for (double x : v) acc.add(x);
  return acc;
}

template <int L, typename T>
ReproducibleSum lane_sum(const std::vector<double>& v) {
  std::vector<T> x(v.begin(), v.end());
  ReproLanes<L> lanes;
  focal::repro::lanes_reset(lanes, focal::repro::kMinIndex);
  ReproducibleSum rest;
  focal::repro::lanes_add(lanes, rest, x.data(), static_cast<int64_t>(x.size()));
  focal::repro::lanes_flush(lanes, rest);
  return rest;
}

void check_same(const std::string& got, const std::string& want, const char* what) {
  if (got != want) {
    ++failures;
    std::printf("FAIL %s:\n  got  %s\n  want %s\n", what, got.c_str(), want.c_str());
  }
}

// Every lane form of v against the scalar sum; returns the scalar sum's line.
std::string all_forms(const std::vector<double>& v) {
  const std::string want = state_line(scalar_sum(v));
  check_same(state_line(lane_sum<1, double>(v)), want, "1 lane");
  check_same(state_line(lane_sum<4, double>(v)), want, "4 lanes");
  check_same(state_line(lane_sum<8, double>(v)), want, "8 lanes");
  bool floats = true;
  for (double x : v) floats = floats && (x != x || static_cast<double>(static_cast<float>(x)) == x);
  if (floats) check_same(state_line(lane_sum<8, float>(v)), want, "8 lanes from float");
  return want;
}

// A random order, a random cut into chunks, a random merge tree.
ReproducibleSum shuffled_merged(std::vector<double> v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
  std::vector<ReproducibleSum> parts;
  size_t i = 0;
  while (i < v.size() || parts.empty()) {
    const size_t n = rng.below(v.size() - i + 1);
    std::vector<double> chunk(v.begin() + i, v.begin() + i + n);
    parts.push_back(rng() % 2 ? scalar_sum(chunk) : lane_sum<4, double>(chunk));
    i += n;
  }
  while (parts.size() > 1) {
    const size_t a = rng() % parts.size();
    ReproducibleSum taken = parts[a];
    parts.erase(parts.begin() + a);
    parts[rng() % parts.size()].merge(taken);
  }
  return parts[0];
}

double random_value(Rng& rng) {
  switch (rng() % 6) {
    case 0:
      return from_bits(rng() & 0x7fefffffffffffff) * (rng() % 2 ? 1 : -1);  // any finite double
    case 1:
      return rng.uniform(-1e3, 1e3);
    case 2:
      return std::ldexp(rng.uniform(-1, 1), -1040);  // subnormal
    case 3:
      return std::ldexp(rng.uniform(-1, 1), 1024);  // huge
    case 4:
      return static_cast<double>(static_cast<int64_t>(rng() % 4096) - 2048);
    default:
      return rng.uniform(0, 1) * std::pow(10.0, static_cast<int>(rng() % 40) - 20);
  }
}

void check_order_free() {
  Rng rng{20261202};
  for (int t = 0; t < 300; ++t) {
    std::vector<double> v(rng() % (t < 250 ? 64 : 20000));
    for (double& x : v) x = random_value(rng);
    const std::string want = all_forms(v);
    for (int r = 0; r < 3; ++r) check_same(state_line(shuffled_merged(v, rng)), want, "shuffled, chunked, merged");
  }
  std::printf("order-free: %s\n", failures ? "FAIL" : "ok");
}

void expect_value(const std::vector<double>& v, double want, const char* what) {
  all_forms(v);
  const double got = scalar_sum(v).to_double();
  if (got == got ? !(got == want && std::signbit(got) == std::signbit(want)) : want == want) {
    ++failures;
    std::printf("FAIL %s: got %.17g, want %.17g\n", what, got, want);
  }
}

void check_values() {
  const double max = std::numeric_limits<double>::max(), inf = std::numeric_limits<double>::infinity();
  const double sub = std::numeric_limits<double>::denorm_min();
  expect_value({}, 0.0, "empty");
  expect_value({-0.0}, 0.0, "-0");
  expect_value({1e16, 1, -1e16}, 1.0, "cancellation");
  expect_value({sub, 3 * sub, -sub}, 3 * sub, "subnormals");
  expect_value({max}, max, "DBL_MAX");
  expect_value({max, max, -max}, max, "DBL_MAX twice, minus once");
  expect_value({max, max}, inf, "overflow");
  expect_value({-max, -max}, -inf, "negative overflow");
  expect_value({max, std::ldexp(1.0, 970)}, inf, "DBL_MAX + half its ulp rounds to Infinity");
  expect_value({max, std::ldexp(1.0, 970), -std::ldexp(1.0, 940)}, max, "just below the rounding point");
  expect_value({1, inf, 2}, inf, "Infinity");
  expect_value({inf, -inf}, std::nan(""), "both infinities");
  expect_value({1, std::nan("")}, std::nan(""), "NaN");
  std::printf("values: %s\n", failures ? "FAIL" : "ok");
}

int states(const char* path) {
  FILE* in = std::fopen(path, "r");
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path);
    return 2;
  }
  std::vector<double> v;
  char word[32];
  int c = 0;
  while (c != EOF) {  // words of hex digits; a newline ends a case
    int n = 0;
    while ((c = std::fgetc(in)) != EOF && c != ' ' && c != '\n')
      if (n < 31) word[n++] = static_cast<char>(c);
    word[n] = 0;
    if (n > 0) v.push_back(from_bits(std::strtoull(word, nullptr, 16)));
    if (c == '\n') {
      std::printf("%s\n", all_forms(v).c_str());
      v.clear();
    }
  }
  std::fclose(in);
  return failures ? 1 : 0;
}

int bench(const char* form) {
  std::vector<double> v(1 << 22);
  Rng rng{1};
  for (double& x : v) x = rng.uniform(0, 2);
  if (std::strcmp(form, "plain") == 0) {  // the setup and a plain sum: subtracted from the others
    double s = 0;
    for (double x : v) s += x;
    std::printf("%.17g\n", s);
    return 0;
  }
  const ReproducibleSum s = std::strcmp(form, "scalar") == 0  ? scalar_sum(v)
                            : std::strcmp(form, "float") == 0 ? lane_sum<8, float>(v)
                                                              : lane_sum<8, double>(v);
  std::printf("%.17g\n", s.to_double());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--states") == 0) return states(argv[2]);
  if (argc == 3 && std::strcmp(argv[1], "--bench") == 0) return bench(argv[2]);
  check_values();
  check_order_free();
  std::printf("%s\n", failures ? "reproducible_sum_test: FAILED" : "reproducible_sum_test: all passed");
  return failures ? 1 : 0;
}
