// One call's work, described with plain C++ types so that it can run on any thread (the sync
// binding runs it at once, the async binding on the libuv pool). No N-API here.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "kernel_types.hpp"
#include "protocol.hpp"  // FOCAL_LABEL_TYPES (generated from native/protocol.json)
#include "sigmoid_focal.hpp"
#include "softmax_focal.hpp"

namespace focal {

enum class JobKind { kSigmoid, kSoftmaxLabels, kSoftmaxTargets };
enum class DType { kFloat32, kFloat64 };
// The element type of targets or labels: one of the integer label types, or kFloat, "the logits'
// float type".
enum class LabelType {
#define FOCAL_LABEL_ENUMERATOR(name, type) name,
  FOCAL_LABEL_TYPES(FOCAL_LABEL_ENUMERATOR)
#undef FOCAL_LABEL_ENUMERATOR
      kFloat
};

struct Job {
  JobKind kind = JobKind::kSigmoid;
  DType dtype = DType::kFloat64;
  LabelType label_type = LabelType::kFloat;
  const void* logits = nullptr;
  const void* targets = nullptr;  // targets (sigmoid, soft softmax) or labels (hard softmax)
  const void* weights = nullptr;
  void* loss_out = nullptr;
  void* grad_out = nullptr;
  int64_t n = 0;  // elements of the logits
  SoftmaxShape shape;
  SigmoidOptions sigmoid;
  SoftmaxOptions softmax;     // its alpha pointer is set from `alpha` when the job runs
  std::vector<double> alpha;  // per-class alpha, owned (empty: none)
  // Set (from any thread) to stop the job between blocks; null: runs to the end. Its owner keeps
  // it alive until run_job returns.
  const std::atomic<bool>* stop = nullptr;
};

// The arrays of a job, by the part they play (the binding holds each for as long as the job runs).
enum class JobArray { kLogits, kTargets, kWeights, kLossOut, kGradOut };

inline bool is_output(JobArray which) {
  return which == JobArray::kLossOut || which == JobArray::kGradOut;
}

inline void set_job_array(Job& job, JobArray which, void* data) {
  switch (which) {
    case JobArray::kLogits:
      job.logits = data;
      break;
    case JobArray::kTargets:
      job.targets = data;
      break;
    case JobArray::kWeights:
      job.weights = data;
      break;
    case JobArray::kLossOut:
      job.loss_out = data;
      break;
    case JobArray::kGradOut:
      job.grad_out = data;
      break;
  }
}

// Runs the kernel; with job.stop set meanwhile, the blocks not yet started are skipped and the
// result is meaningless. Throws std::bad_alloc when the kernel's private copies of the labels and
// weights (read once: see read_once in kernel_types.hpp) do not fit in memory.
KernelResult run_job(const Job& job);

}  // namespace focal
