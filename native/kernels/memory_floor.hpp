// The benchmark's floor: a pass that reads the logits and the targets and writes one array, with
// the same blocks and threads as the kernels. It shows how close the kernels are to memory speed.
#pragma once

#include <cstdint>

namespace focal {

template <typename L>
void memory_floor(const float* logits, const L* targets, float* out, int64_t n, int threads);

}  // namespace focal
