// Types shared by the kernels and the binding. No N-API here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../reduce/reproducible_sum.hpp"

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>  // _ReadWriteBarrier
#endif

namespace focal {

// A bad element found while computing. Kernels report it instead of throwing, so the caller can
// name the argument in its own words; the first bad element (lowest index) is reported.
enum class InputError { kNone = 0, kTarget, kWeight, kLabel, kProbability };

struct KernelResult {
  // The (weighted) losses, summed so that the bits depend only on the multiset of losses: not on the
  // block partition, the thread count, the lanes or the order (native/reduce/reproducible_sum.hpp).
  repro::ReproducibleSum sum;
  int64_t count = 0;  // elements (sigmoid) or non-ignored samples (softmax) counted
  InputError error = InputError::kNone;
  int64_t error_index = -1;
  double error_value = 0.0;

  void report(InputError kind, int64_t index, double value) {
    if (error == InputError::kNone || index < error_index) {
      error = kind;
      error_index = index;
      error_value = value;
    }
  }
};

// Inputs may lie on a SharedArrayBuffer that another thread writes while a kernel runs (such
// arrays are supported). A kernel must therefore read each label, target, weight or probability
// exactly once: read it, check it, and use that same value. Where a value is checked in one pass
// and used in another, or might be re-read by the compiler (which assumes that no other thread
// writes ordinary memory, so may load an element again instead of keeping it in a register),
// the kernel first copies the elements into private memory with read_once and works on the copy.
//
// Why memcpy and a compiler barrier rather than relaxed atomic loads (__atomic_load_n): the copy
// vectorizes (an atomic load is one scalar load per element), works for float elements
// (__atomic_load_n takes integers only) and with MSVC. The barrier is what makes it a single read:
// after it the compiler must assume the source changed, so it can neither drop the copy and read
// the source where the copy is used, nor read the source again later. A torn element (a writer
// midway) is just another value, and is checked like any other.
inline void compiler_barrier() {
#if defined(_MSC_VER) && !defined(__clang__)
  _ReadWriteBarrier();
#else
  __asm__ __volatile__("" ::: "memory");
#endif
}

template <typename T>
inline void read_once(T* to, const T* from, int64_t n) {
  if (n > 0) std::memcpy(to, from, static_cast<size_t>(n) * sizeof(T));
  compiler_barrier();
}

// The same for elements `stride` apart (a sample's classes in an [outer, classes, inner] layout).
template <typename T, typename U>
inline void read_once_strided(T* to, const U* from, int64_t n, int64_t stride) {
  for (int64_t j = 0; j < n; ++j) to[j] = static_cast<T>(from[j * stride]);
  compiler_barrier();
}

}  // namespace focal
