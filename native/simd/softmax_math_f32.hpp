// Float32 pieces of the float32 softmax kernels (simd_softmax.inc): the difference z - M kept exact
// as a two-part value, and exp of such a two-part non-positive argument, in float arithmetic with
// 16 lanes per AVX-512 vector.
//
// Why a two-part argument: z - M rounded to float is off by up to |z - M| * 2^-24, and exp turns
// that absolute error into a relative one (2.4e-6 at a gap of 40, beyond float32's 1e-6 contract).
// TwoSum gives the rounding error exactly, and the exp below adds it to its reduced argument.
//
// Accuracy (through the kernels, against the exact reference: test/softmax-float32.test.ts):
// exp_two_part is within about 1.5 float ulps of exp(hi + lo) for hi in [-87.5, 0]; below it
// returns 0 (the result would be under FLT_MIN; the kernels handle the rows where that matters).
//
// Included inside namespace focal::FOCAL_ISA by simd_softmax.inc (after the instruction set's target
// pragma), and static: each instruction set gets its own copy (see simd_isa.inc). Uses
// fast_math_f32.hpp's bit casts (simd_isa.inc includes it first).
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define FOCAL_F32_INLINE static inline __attribute__((always_inline))
#else
#define FOCAL_F32_INLINE static inline
#endif

namespace f32 {

// The rounding error of a + b: a + b = fl(a + b) + two_sum_error(a, b, fl(a + b)) exactly (Knuth's
// TwoSum; no assumption on the magnitudes). Additions only, so no contraction can change it.
FOCAL_F32_INLINE float two_sum_error(float a, float b, float s) {
  const float bb = s - a;
  return (a - (s - bb)) + (b - bb);
}

// Below this the float exp is under FLT_MIN (e^-87.34): exp_two_part returns 0 there.
constexpr float kExpFlushBelow = -87.5f;

// e^(hi + lo) for hi <= 0 (or -inf) with |lo| <= ulp(hi): hi = k ln2 + r, with ln2_hi of 15
// significant bits so that k*ln2_hi is exact for |k| < 2^9 and hi - k*ln2_hi is exact (both are
// multiples of ulp(hi) and the difference is below ln2); then r = that - k*ln2_lo + lo, and e^r by its
// Taylor polynomial to degree 7 (truncation below 6e-9 for |r| <= 0.36), times 2^k in the exponent
// bits (k >= -126 above the flush point, so 2^k is a normal float).
FOCAL_F32_INLINE float exp_two_part(float hi, float lo) {
  const float shift = 0x1.8p23f;  // adding it rounds to an integer held in the low mantissa bits
  const float kd = hi * 1.44269504f + shift;
  const float k = kd - shift;
  float r = hi - k * 0x1.62e4p-1f;  // exact
  r = (r - k * 1.42860682e-06f) + lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // k + 127 as an unsigned integer (the low bits of kd), without a conversion; garbage only where
  // the result is flushed.
  const std::uint32_t biased = fast32::bits(kd) - fast32::bits(shift) + 127u;
  const float two_k = fast32::from_bits(biased << 23);
  return hi < kExpFlushBelow ? 0.0f : p * two_k;
}

}  // namespace f32

#undef FOCAL_F32_INLINE
