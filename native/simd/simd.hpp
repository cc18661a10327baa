// SIMD levels and run-time dispatch. The vectorized kernels (native/simd/simd_sigmoid.inc, simd_softmax.inc) are
// compiled once per instruction set, each copy in a namespace of its own (focal::avx512, focal::avx2, focal::neon,
// focal::scalar), and the level is chosen at run time from the CPU, so one binary is fast on new x86-64 machines and
// correct on old ones. No -march=native anywhere.
#pragma once

// Every standard header the per-ISA code (simd_isa.inc) uses, here so that each simd_<isa>.cpp has
// them before its target pragma: a library template first declared under the pragma would be compiled
// for that instruction set as a weak symbol, and the linker might keep that copy for every caller.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "../kernels/kernel_types.hpp"
#include "../kernels/protocol.hpp"  // FOCAL_LABEL_TYPES, for the explicit instantiations
#include "../kernels/sigmoid_focal.hpp"
#include "../kernels/softmax_focal.hpp"

// `#pragma omp simd <clauses>` for the vectorized builds of the simd_*.inc kernels (needs -fopenmp-simd
// or -fopenmp; without either the compiler ignores it and may still vectorize on its own).
#define FOCAL_PRAGMA(x) _Pragma(#x)
#define FOCAL_OMP_SIMD(...) FOCAL_PRAGMA(omp simd __VA_ARGS__)

namespace focal {

enum class SimdLevel : int { kScalar = 0, kNeon = 1, kAvx2 = 2, kAvx512 = 3 };

// The best level this CPU runs (and this build has).
SimdLevel best_simd_level();
bool simd_level_supported(SimdLevel level);
const char* simd_level_name(SimdLevel level);

// The level a call runs at: `requested` < 0 means the best one.
SimdLevel resolve_simd_level(int requested);

// One block [begin, end) of a sigmoid batch with logits as input (not probabilities).
template <typename T, typename L>
using SigmoidBlockFn = KernelResult (*)(const T* logits, const L* targets, const T* weights,
                                        const SigmoidOptions& options, T* loss_out, T* grad_out, int64_t begin,
                                        int64_t end);

// Samples [begin, end) of a softmax batch with hard labels, class last (inner = 1), no label smoothing.
// `scale` is the gradient scale (already divided by the count for 'mean').
template <typename T, typename L>
using SoftmaxLabelsBlockFn = KernelResult (*)(const T* logits, const L* labels, const T* weights,
                                              const SoftmaxShape& shape, const SoftmaxOptions& options, double scale,
                                              T* loss_out, T* grad_out, int64_t begin, int64_t end);

template <typename T, typename L>
SigmoidBlockFn<T, L> sigmoid_block_for(SimdLevel level);

template <typename T, typename L>
SoftmaxLabelsBlockFn<T, L> softmax_labels_block_for(SimdLevel level);

}  // namespace focal
