// A sum of doubles whose bits depend only on the multiset of the values added: not on their order,
// on how they were cut into blocks, on the thread count or on the tree in which partial sums were
// merged. The C++ twin of lib/reduce/reproducible-sum.ts (the same algorithm, the same state bits);
// docs/NUMERICS.md ("Reproducible sums") gives the design and why it is exact. No N-API here.
//
// A fixed global grid of bins kReproBinWidth (W) bits wide: bin b has unit u_b = 2^(-1074 + W*b).
// The accumulator keeps kReproFolds (K) consecutive bins, the top one (the index) chosen from the
// largest |x| seen. Fold k (bin index - k) is a primary P_k near 1.5 U_k (U_k = 2^52 u_k) and a
// carry c_k in units of U_k / 4; its value is (P_k - 1.5 U_k) + c_k U_k / 4. Adding x to P_k rounds
// x to a multiple of u_k exactly (its slice in bin k); the rest goes on to the next fold, and what
// is left below the last fold is dropped. The slices depend only on x and the grid, so every fold is
// an exact sum of per-element numbers, which does not depend on order.
//
// Two forms: ReproducibleSum (one accumulator, one value at a time) and ReproLanes<L> (L accumulators
// sharing one index, for a vector loop: a strip of values is deposited lane by lane and the lanes are
// merged into a ReproducibleSum at the end of a block). Their results are the same bits, as for any
// order. The lane functions are in reproducible_lanes.inc, static, and included once more per
// instruction set by native/simd/simd_isa.inc, so that each vector kernel gets a copy vectorized for
// its set.
//
// Compile without -ffast-math (the project never uses it): every step relies on IEEE rounding.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "../kernels/protocol.hpp"  // kReproBinWidth, kReproFolds, kReproRenormInterval, kReproStateVersion

#if defined(__GNUC__) || defined(__clang__)
#define FOCAL_REPRO_INLINE static inline __attribute__((always_inline))
#else
#define FOCAL_REPRO_INLINE static inline
#endif
// The lanes' loop, one vector of L lanes (needs -fopenmp-simd or -fopenmp; ignored otherwise).
#define FOCAL_REPRO_SIMD _Pragma("omp simd")

namespace focal {
namespace repro {

constexpr int kW = kReproBinWidth;
constexpr int kK = kReproFolds;
constexpr int kMinIndex = kK - 1;
// The smallest bin whose limit 2^(e_b + W - 1) exceeds every double (e_b = -1074 + W b): ceil(2099 / W) - 1.
constexpr int kTopBin = (1023 + 1076 + kW - 1) / kW - 1;
static_assert(kW >= 14 && kW <= 50, "each deposit must move a primary by less than 2^-13 U (and |x| < U)");
static_assert(kReproRenormInterval <= 1024, "1024 deposits of at most 2^-13 U each stay within U/8");

constexpr int unit_exponent(int bin) {
  return -1074 + kW * bin;
}
// The top bin's primary (and what is deposited into it) is stored times 2^-W, so that 2 U is finite.
constexpr int stored_exponent(int bin) {
  return unit_exponent(bin) + 53 > 1023 ? unit_exponent(bin) - kW : unit_exponent(bin);
}
constexpr int kTopScale = unit_exponent(kTopBin) - stored_exponent(kTopBin);

// 2^e, exactly (each step halves or doubles a power of two), at compile time.
constexpr double pow2(int e) {
  double r = 1.0;
  for (; e > 0; --e) r *= 2.0;
  for (; e < 0; ++e) r *= 0.5;
  return r;
}

struct BinTable {
  double stored_u[kTopBin + 1];  // U of each bin as stored (2^52 times its stored unit)
  double limit[kTopBin + 1];     // |x| below limit[b] belongs in bin b or lower
  constexpr BinTable() : stored_u(), limit() {
    for (int b = 0; b <= kTopBin; ++b) {
      stored_u[b] = pow2(stored_exponent(b) + 52);
      // |x| < u_{b+1} / 2, so that the slices of x in higher bins are 0; every double is below the top bin's.
      limit[b] = b == kTopBin ? std::numeric_limits<double>::infinity() : pow2(unit_exponent(b) + kW - 1);
    }
  }
};
constexpr BinTable kBins{};

inline double stored_u(int bin) {
  return kBins.stored_u[bin];
}
inline double limit(int bin) {
  return kBins.limit[bin];
}
// The lowest bin whose limit is above |x| (x finite).
inline int bin_of(double x) {
  const double a = std::fabs(x);
  int b = kMinIndex;
  while (a >= limit(b)) ++b;
  return b;
}

// x with its lowest mantissa bit or'ed with `mask` (1, or 0 for bin 0, where every double is a whole
// number of units). So deposited, x is never exactly half-way between two multiples of the fold's unit,
// and round-to-nearest-even never looks at the primary's last bit (which depends on the order).
FOCAL_REPRO_INLINE double odd(double x, uint64_t mask) {
  uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  b |= mask;
  std::memcpy(&x, &b, sizeof b);
  return x;
}

class ReproducibleSum {
 public:
  int index = kMinIndex;    // the top bin; fold k is bin index - k
  double primary[kK];       // P_k
  double carry[kK];         // c_k, whole numbers (doubles, as in the TypeScript, and exact below 2^53)
  double non_finite = 0.0;  // 0, or the IEEE sum of the non-finite values added
  int pending = 0;          // deposits since the last renormalization

  ReproducibleSum() {
    for (int k = 0; k < kK; ++k) {
      primary[k] = 1.5 * stored_u(index - k);
      carry[k] = 0.0;
    }
  }

  void add(double x) {
    if (x - x != 0.0) {  // infinite or NaN
      non_finite += x;
      return;
    }
    if (std::fabs(x) >= limit(index)) raise(bin_of(x));
    int k = 0;
    if (index == kTopBin) {
      const double xs = std::ldexp(x, -kTopScale);
      const double q = primary[0] + odd(xs, 1);
      const double r = q - primary[0];
      primary[0] = q;
      if (r != 0.0) x = std::ldexp(xs - r, kTopScale);
      k = 1;
    }
    for (; k < kK - 1; ++k) {
      const double q = primary[k] + odd(x, 1);
      x -= q - primary[k];
      primary[k] = q;
    }
    primary[kK - 1] += odd(x, index == kMinIndex ? 0 : 1);
    if (++pending == kReproRenormInterval) renormalize();
  }

  // Moves the folds up to top bin `to` (if higher): the lowest ones drop out, new ones start empty.
  void raise(int to) {
    const int shift = to - index;
    if (shift <= 0) return;
    for (int k = kK - 1; k >= 0; --k) {
      if (k - shift >= 0) {
        primary[k] = primary[k - shift];
        carry[k] = carry[k - shift];
      } else {
        primary[k] = 1.5 * stored_u(to - k);
        carry[k] = 0.0;
      }
    }
    index = to;
  }

  // Moves whole quarters of U into the carries so that P_k - 1.5 U_k is in [-U_k/8, U_k/8): the
  // canonical form. From there, kReproRenormInterval deposits or one merge stay within one step.
  void renormalize() {
    for (int k = 0; k < kK; ++k) {
      const double U = stored_u(index - k);
      if (primary[k] >= 1.625 * U) {
        primary[k] -= 0.25 * U;
        carry[k] += 1.0;
      } else if (primary[k] < 1.375 * U) {
        primary[k] += 0.25 * U;
        carry[k] -= 1.0;
      }
    }
    pending = 0;
  }

  // Adds another accumulator's values. Exact, so commutative and associative.
  void merge(ReproducibleSum other) {
    renormalize();
    other.renormalize();
    const int shift = index - other.index;
    raise(other.index);
    for (int k = 0; k < kK; ++k) {
      const int j = k - (shift > 0 ? shift : 0);  // the other's fold at this bin
      if (j < 0 || j >= kK) continue;
      primary[k] += other.primary[j] - 1.5 * stored_u(other.index - j);
      carry[k] += other.carry[j];
    }
    non_finite += other.non_finite;
    renormalize();
  }

  // The sum, rounded once (to nearest, ties to even) from the exact value of the folds; Infinity
  // beyond the double range; a non-finite value added decides it (NaN for NaN or both infinities).
  double to_double() const {
    if (non_finite != non_finite) return std::numeric_limits<double>::quiet_NaN();  // one NaN, whatever the order
    if (non_finite != 0.0) return non_finite;
    ReproducibleSum s = *this;
    s.renormalize();
    // The folds as one integer in units of the lowest fold's unit, in 32-bit limbs (signed while
    // adding): fold k is D_k + c_k 2^50 units of its own bin, W (K-1-k) bits above the lowest.
    int64_t limb[kLimbs] = {};
    for (int k = 0; k < kK; ++k) {
      const int bin = s.index - k;
      const int64_t d = static_cast<int64_t>(std::ldexp(s.primary[k] - 1.5 * stored_u(bin), -stored_exponent(bin)));
      const int at = kW * (kK - 1 - k);
      add_shifted(limb, d, at);
      add_shifted(limb, static_cast<int64_t>(s.carry[k]), at + 50);
    }
    for (int i = 0; i + 1 < kLimbs; ++i) {  // carry out: limbs 0 .. kLimbs-2 in [0, 2^32), the top one signed
      const int64_t low = limb[i] & 0xFFFFFFFF;
      limb[i + 1] += (limb[i] - low) / 4294967296;
      limb[i] = low;
    }
    const bool negative = limb[kLimbs - 1] < 0;
    if (negative) {  // two's complement to magnitude
      int64_t borrow = 1;
      for (int i = 0; i < kLimbs; ++i) {
        const int64_t v = (0xFFFFFFFF - (limb[i] & 0xFFFFFFFF)) + borrow;
        limb[i] = v & 0xFFFFFFFF;
        borrow = v >> 32;
      }
    }
    auto bit = [&](int pos) { return (limb[pos >> 5] >> (pos & 31)) & 1; };
    int bits = 0;
    for (int pos = 32 * kLimbs - 1; pos >= 0; --pos)
      if (bit(pos)) {
        bits = pos + 1;
        break;
      }
    const int shift = bits > 53 ? bits - 53 : 0;
    uint64_t m = 0;
    for (int pos = bits - 1; pos >= shift; --pos) m = (m << 1) | static_cast<uint64_t>(bit(pos));
    if (shift > 0) {  // round the dropped bits [0, shift) to nearest, ties to even
      const bool half = bit(shift - 1) != 0;
      bool sticky = false;
      for (int pos = 0; pos < shift - 1 && !sticky; ++pos) sticky = bit(pos) != 0;
      if (half && (sticky || (m & 1))) ++m;
    }
    // m <= 2^53 and the exponent >= -1074: ldexp is exact, or overflows to Infinity.
    const double value = std::ldexp(static_cast<double>(m), unit_exponent(s.index - kK + 1) + shift);
    return negative ? -value : value;
  }

 private:
  static constexpr int kLimbs = 8;  // 256 bits: the folds span at most 2^(50 + 53 + W (K-1) + 3)
  static_assert(50 + 53 + kW * (kK - 1) + 4 < 32 * kLimbs, "the integer of to_double must fit its limbs");

  // limb += v * 2^at, v split in 32-bit halves so that no product overflows.
  static void add_shifted(int64_t* limb, int64_t v, int at) {
    const int q = at / 32, r = at % 32;
    const int64_t low = v & 0xFFFFFFFF;           // in [0, 2^32)
    const int64_t high = (v - low) / 4294967296;  // |high| < 2^21
    limb[q] += low * (int64_t{1} << r);
    limb[q + 1] += high * (int64_t{1} << r);
  }
};

// L accumulators that share one index: lane l takes values l, l + L, l + 2L, ... of each strip.
template <int L>
struct ReproLanes {
  int index = kMinIndex;
  double primary[kK][L];
  double carry[kK][L];
};

// What a kernel sums one block into: values are buffered, deposited lane-parallel a buffer at a
// time, and the lanes merged into one accumulator at the end. block_sum_add for one value at a time
// (a sample's loss), block_sum_add_all for a strip the kernel already holds (a chunk of losses).
constexpr int kBlockLanes = 8;
constexpr int kBlockBuffer = 256;
struct ReproBlockSum {
  ReproLanes<kBlockLanes> lanes;
  ReproducibleSum rest;
  double buffer[kBlockBuffer];
  int buffered = 0;
};

// The lane functions (lanes_add, block_sum_add, ...), this copy for the baseline kernels.
#include "reproducible_lanes.inc"  // NOLINT(build/include): included again per instruction set

}  // namespace repro
}  // namespace focal
