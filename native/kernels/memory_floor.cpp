#include "memory_floor.hpp"

#include <cstdint>

#include "parallel.hpp"

namespace focal {

template <typename L>
void memory_floor(const float* logits, const L* targets, float* out, int64_t n, int threads) {
  run_blocks(Blocks(n, 1), threads, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = logits[i] * static_cast<float>(targets[i]);
    return KernelResult{};
  });
}

template void memory_floor<uint8_t>(const float*, const uint8_t*, float*, int64_t, int);
template void memory_floor<int32_t>(const float*, const int32_t*, float*, int64_t, int);
template void memory_floor<float>(const float*, const float*, float*, int64_t, int);

}  // namespace focal
