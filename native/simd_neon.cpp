// The vectorized kernels for arm64, where NEON is part of the base instruction set.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "simd.hpp"

#if defined(__aarch64__)
#define FOCAL_ISA neon
#define FOCAL_SIMD_LOOP(...) FOCAL_OMP_SIMD(__VA_ARGS__)
#include "fast_math.hpp"  // after the target pragma: compiled for this instruction set
#include "vec_math.hpp"
#include "simd_kernels.inc"
#endif
