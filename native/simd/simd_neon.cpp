// The vectorized kernels for arm64, where NEON is part of the base instruction set.
#include "simd.hpp"  // and the standard headers: before the target pragma (see simd_isa.inc)

#if defined(__aarch64__)
#define FOCAL_ISA neon
#define FOCAL_SIMD_LOOP(...) FOCAL_OMP_SIMD(__VA_ARGS__)
#include "simd_isa.inc"
#endif
