// Threads without changing the answer: the work is cut into blocks by a rule that depends only on
// the size of the work, never on the number of threads, and each block's losses go into a
// reproducible sum (native/reduce/reproducible_sum.hpp), whose merge is exact. So 'sum' and 'mean'
// are the same bits for 1, 2, 3 or 8 threads, and for any other cut of the same losses. The blocks
// still decide which thread does what, and which error is reported first. No N-API here.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "kernel_types.hpp"
#include "protocol.hpp"  // kMaxBlocks, kMinBlockWork: shared with lib/backends/js/blocks.ts (native/protocol.json)

namespace focal {

class Blocks {
 public:
  // `items` units of work (elements or samples), each touching `work_per_item` elements.
  Blocks(int64_t items, int64_t work_per_item) : items_(items) {
    const int64_t min_items = std::max<int64_t>(1, kMinBlockWork / std::max<int64_t>(1, work_per_item));
    count_ = std::clamp<int64_t>(items / min_items, 1, kMaxBlocks);
  }
  int64_t count() const { return count_; }
  int64_t begin(int64_t b) const {
    const int64_t size = items_ / count_, extra = items_ % count_;
    return b * size + std::min(b, extra);
  }
  int64_t end(int64_t b) const { return begin(b + 1); }

 private:
  int64_t items_;
  int64_t count_;
};

// The stop flag of the job running on this thread (set by run_job for its duration, null when the
// job cannot be stopped): an aborted async call sets it from the main thread, and run_blocks skips
// every block not yet started. A thread-local rather than a parameter so that the kernels between
// run_job and run_blocks need not pass it on; run_blocks reads it on the calling thread, before
// any OpenMP thread starts.
inline thread_local const std::atomic<bool>* current_stop_flag = nullptr;

inline bool stop_requested(const std::atomic<bool>* stop) {
  return stop != nullptr && stop->load(std::memory_order_relaxed);
}

// Runs block(begin, end) -> KernelResult for every block on up to `threads` threads and merges the
// results: sums merged (exactly: any order gives the same bits), counts added, the lowest-index
// error kept. One block (any call below kMinBlockWork, whatever `threads` says) runs inline on the
// calling thread: no parallel region, no table of partial results.
// A block that starts after the job's stop flag was set is skipped (its part stays empty): the job's
// result is then meaningless, and the binding discards it (see FocalWorker in addon.cpp).
template <typename BlockFn>
KernelResult run_blocks(const Blocks& blocks, int threads, const BlockFn& block) {
  const int64_t n = blocks.count();
  const std::atomic<bool>* const stop = current_stop_flag;
  if (stop_requested(stop)) return KernelResult{};
  if (n == 1) {
    return block(blocks.begin(0), blocks.end(0));
  }
  KernelResult parts[kMaxBlocks];
  const int team = static_cast<int>(std::min<int64_t>(std::max(threads, 1), n));
#if defined(_OPENMP)
#pragma omp parallel for num_threads(team) schedule(static) if (team > 1)
#endif
  for (int64_t b = 0; b < n; ++b) {
    if (!stop_requested(stop)) parts[b] = block(blocks.begin(b), blocks.end(b));
  }
  (void)team;
  KernelResult total;
  for (int64_t b = 0; b < n; ++b) {
    total.sum.merge(parts[b].sum);
    total.count += parts[b].count;
    if (parts[b].error != InputError::kNone) total.report(parts[b].error, parts[b].error_index, parts[b].error_value);
  }
  return total;
}

}  // namespace focal
