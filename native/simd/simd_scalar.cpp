// The same kernels without vectorization: the portable path, and the reference the vectorized
// builds are tested against (FOCAL_LOSS_SIMD=scalar or the `simd: 'scalar'` option selects it).
#include "simd.hpp"  // and the standard headers: before the target pragma (see simd_isa.inc)

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("no-tree-vectorize")
#endif
#define FOCAL_ISA scalar
#define FOCAL_SIMD_LOOP(...)
#include "simd_isa.inc"
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif
