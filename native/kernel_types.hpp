// Types shared by the kernels and the binding. No N-API here.
#pragma once

#include <cstdint>

namespace focal {

// A bad element found while computing. Kernels report it instead of throwing, so the caller can
// name the argument in its own words; the first bad element (lowest index) is reported.
enum class InputError { kNone = 0, kTarget, kWeight, kLabel, kProbability };

struct KernelResult {
  double sum = 0.0;   // sum of the (weighted) losses, accumulated in double
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

// Targets and weights are validated as they are read, in the same pass as the loss.
inline bool is_valid_target(double t) {
  return t >= 0.0 && t <= 1.0;
}  // false for NaN
inline bool is_valid_weight(double w) {
  return w >= 0.0 && w <= 1.7976931348623157e308;
}

}  // namespace focal
