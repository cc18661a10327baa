// Sigmoid (binary / multi-label) focal loss over a batch: every element is its own binary problem.
#pragma once

#include <cstdint>

#include "kernel_types.hpp"

namespace focal {

struct SigmoidOptions {
  double gamma = 2.0;
  bool has_alpha = true;
  double alpha = 0.25;
  double label_smoothing = 0.0;
  bool from_probabilities = false;
  double probability_epsilon = 1e-7;
  double grad_scale = 1.0;  // every gradient element is multiplied by this (1, 1/N, 1/normalizer)
  int threads = 1;          // the most threads to use; the result does not depend on it
  int simd = -1;            // SimdLevel to use (simd.hpp); -1: the best this CPU has
};

// logits/targets/weights have n elements; weights, loss_out and grad_out may be null.
// T is float or double (logits, weights, outputs); L is the target type (integers hold 0/1 labels).
template <typename T, typename L>
KernelResult sigmoid_focal_loss(const T* logits, const L* targets, const T* weights, int64_t n,
                                const SigmoidOptions& options, T* loss_out, T* grad_out);

}  // namespace focal
