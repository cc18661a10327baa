// The vectorized kernels compiled for AVX-512 (F, DQ, VL, BW) with AVX2 and FMA; chosen at run time.
// BW for the byte and word vectors of Uint8 / Int16 targets (without it GCC widens them 4 or 8 at a time).
#include "simd.hpp"  // and the standard headers: before the target pragma (see simd_isa.inc)

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#if defined(__clang__)
#pragma clang attribute push(                                                                       \
    __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma,prefer-vector-width=512"))), \
    apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma,prefer-vector-width=512")
#endif
#define FOCAL_ISA avx512
#define FOCAL_SIMD_LOOP(...) FOCAL_OMP_SIMD(__VA_ARGS__)
#define FOCAL_VEC_FMA 1  // this target has FMA (GCC does not say so under the pragma)
#include "simd_isa.inc"
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
