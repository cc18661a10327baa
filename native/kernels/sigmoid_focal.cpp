#include "sigmoid_focal.hpp"

#include <algorithm>
#include <cstdint>

#include "focal_math.hpp"
#include "parallel.hpp"
#include "../simd/simd.hpp"

namespace focal {

namespace {

// One block [begin, end) of the batch when the inputs are probabilities, element by element with
// focal_math.hpp (logits go to the vectorized kernels of simd_kernels.inc). Stops at the first bad
// target, weight or probability. Targets, weights and probabilities are read once (read_once,
// kernel_types.hpp), a chunk at a time, then checked and used from the copy.
template <typename T, typename L>
KernelResult probability_block(const T* probabilities, const L* targets, const T* weights, const SigmoidOptions& o,
                               T* loss_out, T* grad_out, int64_t begin, int64_t end) {
  constexpr int64_t kChunk = 256;
  KernelResult result;
  const double eps = o.probability_epsilon;
  repro::ReproBlockSum sum;
  repro::block_sum_init(sum);
  L target_chunk[kChunk];
  T weight_chunk[kChunk];
  T input_chunk[kChunk];
  for (int64_t start = begin; start < end && result.error == InputError::kNone; start += kChunk) {
    const int64_t len = std::min(kChunk, end - start);
    read_once(target_chunk, targets + start, len);
    if (weights) read_once(weight_chunk, weights + start, len);
    read_once(input_chunk, probabilities + start, len);
    for (int64_t k = 0; k < len; ++k) {
      const int64_t i = start + k;
      const L raw_target = target_chunk[k];
      if (!sigmoid_target_is_valid(raw_target)) {
        result.report(InputError::kTarget, i, static_cast<double>(raw_target));
        break;
      }
      const double w = weights ? static_cast<double>(weight_chunk[k]) : 1.0;
      if (weights && !weight_is_valid(w)) {
        result.report(InputError::kWeight, i, w);
        break;
      }
      const double x = static_cast<double>(input_chunk[k]);
      if (x < 0.0 || x > 1.0) {  // NaN passes through and yields NaN
        result.report(InputError::kProbability, i, x);
        break;
      }
      const double p = std::min(std::max(x, eps), 1.0 - eps);
      const SmoothedTarget st = smooth_target(static_cast<double>(raw_target), o.label_smoothing);
      const double a = sigmoid_class_weight(o.has_alpha, o.alpha, st.t, st.u);
      // w and the gradient scale are applied inside (a zero weight silences the element even when its
      // loss is infinite; products too small for a double are formed in scaled form there).
      const LossAndGrad lg = sigmoid_focal_from_probability(p, st.t, st.u, a, w, o.gamma, o.grad_scale);
      repro::block_sum_add(sum, lg.loss);
      if (loss_out) loss_out[i] = static_cast<T>(lg.loss);
      if (grad_out) grad_out[i] = static_cast<T>(lg.grad);
    }
  }
  result.sum = repro::block_sum_finish(sum);
  result.count = end - begin;
  return result;
}

}  // namespace

template <typename T, typename L>
KernelResult sigmoid_focal_loss(const T* logits, const L* targets, const T* weights, int64_t n, const SigmoidOptions& o,
                                T* loss_out, T* grad_out) {
  if (o.from_probabilities) {
    return run_blocks(Blocks(n, 1), o.threads, [&](int64_t begin, int64_t end) {
      return probability_block(logits, targets, weights, o, loss_out, grad_out, begin, end);
    });
  }
  // Logits: the vectorized kernel for the chosen instruction set.
  const SigmoidBlockFn<T, L> block = sigmoid_block_for<T, L>(resolve_simd_level(o.simd));
  return run_blocks(Blocks(n, 1), o.threads, [&](int64_t begin, int64_t end) {
    return block(logits, targets, weights, o, loss_out, grad_out, begin, end);
  });
}

#define FOCAL_INSTANTIATE_SIGMOID(T, L) \
  template KernelResult sigmoid_focal_loss<T, L>(const T*, const L*, const T*, int64_t, const SigmoidOptions&, T*, T*);
#define FOCAL_INSTANTIATE_SIGMOID_LABEL(name, L) \
  FOCAL_INSTANTIATE_SIGMOID(float, L) FOCAL_INSTANTIATE_SIGMOID(double, L)
FOCAL_INSTANTIATE_SIGMOID(float, float)
FOCAL_INSTANTIATE_SIGMOID(double, double)
FOCAL_LABEL_TYPES(FOCAL_INSTANTIATE_SIGMOID_LABEL)
#undef FOCAL_INSTANTIATE_SIGMOID_LABEL
#undef FOCAL_INSTANTIATE_SIGMOID

}  // namespace focal
