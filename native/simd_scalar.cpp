// The same kernels without vectorization: the portable path, and the reference the vectorized
// builds are tested against (FOCAL_LOSS_SIMD=scalar or the `simd: 'scalar'` option selects it).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "simd.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("no-tree-vectorize")
#endif
#define FOCAL_ISA scalar
#define FOCAL_SIMD_LOOP(...)
#include "fast_math.hpp"  // after the target pragma: compiled for this instruction set
#include "vec_math.hpp"
#include "simd_kernels.inc"
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif
