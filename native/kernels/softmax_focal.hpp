// Softmax (multi-class) focal loss over a batch of samples.
#pragma once

#include <cstdint>

#include "kernel_types.hpp"

namespace focal {

// Logits are laid out [outer, classes, inner]: class last is inner = 1; [N, C, H, W] is
// outer = N, inner = H*W. A sample is one (outer, inner) pair, indexed o*inner + i.
struct SoftmaxShape {
  int64_t outer = 0;
  int64_t classes = 0;
  int64_t inner = 1;
  int64_t samples() const { return outer * inner; }
};

struct SoftmaxOptions {
  double gamma = 2.0;
  const double* alpha = nullptr;  // per-class weights (length classes), or null...
  double alpha_scale = 1.0;       // ...in which case every class is weighted by this
  double label_smoothing = 0.0;
  int64_t ignore_index = -100;
  double grad_scale = 1.0;
  bool grad_scale_by_count = false;  // 'mean': also divide the gradient by the counted samples
  int threads = 1;                   // the most threads to use; the result does not depend on it
  int simd = -1;                     // SimdLevel to use (simd.hpp); -1: the best this CPU has
};

// Hard labels: one integer class per sample. weights (per sample), loss_out (per sample) and
// grad_out (like logits) may be null. Labels are checked before anything is written.
template <typename T, typename L>
KernelResult softmax_focal_loss_labels(const T* logits, const L* labels, const T* weights, const SoftmaxShape& shape,
                                       const SoftmaxOptions& options, T* loss_out, T* grad_out);

// Soft (or one-hot) targets shaped like the logits.
template <typename T>
KernelResult softmax_focal_loss_targets(const T* logits, const T* targets, const T* weights, const SoftmaxShape& shape,
                                        const SoftmaxOptions& options, T* loss_out, T* grad_out);

}  // namespace focal
