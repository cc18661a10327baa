#include "job.hpp"

#include "parallel.hpp"  // current_stop_flag

#include <cstdint>
#include <type_traits>

namespace focal {

namespace {

// Calls fn(pointer) with the targets/labels pointer cast to its element type.
template <typename T, typename Fn>
KernelResult with_labels(LabelType type, const void* p, const Fn& fn) {
  switch (type) {
#define FOCAL_LABEL_CASE(name, type) \
  case LabelType::name:              \
    return fn(static_cast<const type*>(p));
    FOCAL_LABEL_TYPES(FOCAL_LABEL_CASE)
#undef FOCAL_LABEL_CASE
    case LabelType::kFloat:
      return fn(static_cast<const T*>(p));
  }
  return KernelResult{};
}

template <typename T>
KernelResult run_typed(const Job& job) {
  const T* x = static_cast<const T*>(job.logits);
  const T* w = static_cast<const T*>(job.weights);
  T* loss = static_cast<T*>(job.loss_out);
  T* grad = static_cast<T*>(job.grad_out);
  switch (job.kind) {
    case JobKind::kSigmoid:
      return with_labels<T>(job.label_type, job.targets,
                            [&](const auto* t) { return sigmoid_focal_loss(x, t, w, job.n, job.sigmoid, loss, grad); });
    case JobKind::kSoftmaxLabels: {
      SoftmaxOptions o = job.softmax;
      o.alpha = job.alpha.empty() ? nullptr : job.alpha.data();
      return with_labels<T>(job.label_type, job.targets, [&](const auto* y) {
        using Label = std::remove_cv_t<std::remove_pointer_t<decltype(y)>>;
        if constexpr (std::is_floating_point_v<Label>) {
          return KernelResult{};  // never: the plan reader only accepts integer labels here
        } else {
          return softmax_focal_loss_labels(x, y, w, job.shape, o, loss, grad);
        }
      });
    }
    case JobKind::kSoftmaxTargets: {
      SoftmaxOptions o = job.softmax;
      o.alpha = job.alpha.empty() ? nullptr : job.alpha.data();
      return softmax_focal_loss_targets(x, static_cast<const T*>(job.targets), w, job.shape, o, loss, grad);
    }
  }
  return KernelResult{};
}

// Makes the job's stop flag the one run_blocks sees on this thread, until the job returns or throws.
class StopFlagScope {
 public:
  explicit StopFlagScope(const std::atomic<bool>* stop) : previous_(current_stop_flag) { current_stop_flag = stop; }
  ~StopFlagScope() { current_stop_flag = previous_; }
  StopFlagScope(const StopFlagScope&) = delete;
  StopFlagScope& operator=(const StopFlagScope&) = delete;

 private:
  const std::atomic<bool>* previous_;
};

}  // namespace

KernelResult run_job(const Job& job) {
  const StopFlagScope scope(job.stop);
  return job.dtype == DType::kFloat32 ? run_typed<float>(job) : run_typed<double>(job);
}

}  // namespace focal
