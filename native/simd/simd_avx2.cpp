// The vectorized kernels compiled for AVX2 with FMA; chosen at run time.
#include "simd.hpp"  // and the standard headers: before the target pragma (see simd_isa.inc)

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#define FOCAL_ISA avx2
#define FOCAL_SIMD_LOOP(...) FOCAL_OMP_SIMD(__VA_ARGS__)
#define FOCAL_VEC_FMA 1  // this target has FMA (GCC does not say so under the pragma)
#include "simd_isa.inc"
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
