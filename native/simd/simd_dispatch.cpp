#include <cstdint>
#include <initializer_list>

#include "simd.hpp"

namespace focal {

// The per-instruction-set copies of the kernels (defined in simd_sigmoid.inc and simd_softmax.inc).
#define FOCAL_DECLARE_ISA(isa)                                                                                        \
  namespace isa {                                                                                                     \
  template <typename T, typename L>                                                                                   \
  KernelResult sigmoid_block(const T*, const L*, const T*, const SigmoidOptions&, T*, T*, int64_t, int64_t);          \
  template <typename T, typename L>                                                                                   \
  KernelResult softmax_labels_block(const T*, const L*, const T*, const SoftmaxShape&, const SoftmaxOptions&, double, \
                                    T*, T*, int64_t, int64_t);                                                        \
  }
FOCAL_DECLARE_ISA(scalar)
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FOCAL_HAVE_X86_SIMD 1
FOCAL_DECLARE_ISA(avx2)
FOCAL_DECLARE_ISA(avx512)
#endif
#if defined(__aarch64__)
#define FOCAL_HAVE_NEON 1
FOCAL_DECLARE_ISA(neon)
#endif
#undef FOCAL_DECLARE_ISA

bool simd_level_supported(SimdLevel level) {
  switch (level) {
    case SimdLevel::kScalar:
      return true;
#if defined(FOCAL_HAVE_X86_SIMD)
    case SimdLevel::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SimdLevel::kAvx512:
      // Exactly the features of simd_avx512.cpp's target pragma.
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
#if defined(FOCAL_HAVE_NEON)
    case SimdLevel::kNeon:
      return true;
#endif
    default:
      return false;
  }
}

SimdLevel best_simd_level() {
  for (SimdLevel level : {SimdLevel::kAvx512, SimdLevel::kAvx2, SimdLevel::kNeon}) {
    if (simd_level_supported(level)) return level;
  }
  return SimdLevel::kScalar;
}

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::kAvx512:
      return "avx512";
    case SimdLevel::kAvx2:
      return "avx2";
    case SimdLevel::kNeon:
      return "neon";
    default:
      return "scalar";
  }
}

SimdLevel resolve_simd_level(int requested) {
  if (requested < 0) return best_simd_level();
  const auto level = static_cast<SimdLevel>(requested);
  return simd_level_supported(level) ? level : SimdLevel::kScalar;
}

template <typename T, typename L>
SigmoidBlockFn<T, L> sigmoid_block_for(SimdLevel level) {
  switch (level) {
#if defined(FOCAL_HAVE_X86_SIMD)
    case SimdLevel::kAvx512:
      return avx512::sigmoid_block<T, L>;
    case SimdLevel::kAvx2:
      return avx2::sigmoid_block<T, L>;
#endif
#if defined(FOCAL_HAVE_NEON)
    case SimdLevel::kNeon:
      return neon::sigmoid_block<T, L>;
#endif
    default:
      return scalar::sigmoid_block<T, L>;
  }
}

template <typename T, typename L>
SoftmaxLabelsBlockFn<T, L> softmax_labels_block_for(SimdLevel level) {
  switch (level) {
#if defined(FOCAL_HAVE_X86_SIMD)
    case SimdLevel::kAvx512:
      return avx512::softmax_labels_block<T, L>;
    case SimdLevel::kAvx2:
      return avx2::softmax_labels_block<T, L>;
#endif
#if defined(FOCAL_HAVE_NEON)
    case SimdLevel::kNeon:
      return neon::softmax_labels_block<T, L>;
#endif
    default:
      return scalar::softmax_labels_block<T, L>;
  }
}

#define FOCAL_INSTANTIATE(T, L) template SigmoidBlockFn<T, L> sigmoid_block_for<T, L>(SimdLevel);
#define FOCAL_INSTANTIATE_SOFTMAX(T, L) template SoftmaxLabelsBlockFn<T, L> softmax_labels_block_for<T, L>(SimdLevel);
#define FOCAL_INSTANTIATE_LABEL(name, L) FOCAL_INSTANTIATE(float, L) FOCAL_INSTANTIATE(double, L)
#define FOCAL_INSTANTIATE_SOFTMAX_LABEL(name, L) \
  FOCAL_INSTANTIATE_SOFTMAX(float, L) FOCAL_INSTANTIATE_SOFTMAX(double, L)
FOCAL_INSTANTIATE(float, float)
FOCAL_INSTANTIATE(double, double)
FOCAL_LABEL_TYPES(FOCAL_INSTANTIATE_LABEL)
FOCAL_LABEL_TYPES(FOCAL_INSTANTIATE_SOFTMAX_LABEL)
#undef FOCAL_INSTANTIATE_SOFTMAX_LABEL
#undef FOCAL_INSTANTIATE_LABEL
#undef FOCAL_INSTANTIATE_SOFTMAX
#undef FOCAL_INSTANTIATE

}  // namespace focal
