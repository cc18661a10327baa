#include "result_pool.hpp"

#include <cstdint>
#include <deque>
#include <iterator>
#include <mutex>
#include <new>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#define FOCAL_HAVE_MMAP 1
#endif

namespace focal {

namespace {

struct Pool {
  std::mutex mutex;
  std::deque<Region> free;  // oldest first
  size_t pooled_bytes = 0;
  size_t regions_out = 0;
  size_t bytes_out = 0;
};

// Never destroyed: blocks may be freed while the process exits.
Pool& pool() {
  static Pool* const instance = new Pool;
  return *instance;
}

#if defined(FOCAL_HAVE_MMAP)

// Maps `bytes` (a multiple of kHugePageBytes) on a kHugePageBytes boundary: maps one huge page
// more and unmaps the ends, since mmap only promises 4 KiB alignment and a huge page needs both.
void* map_region(size_t bytes) {
  const size_t span = bytes + kHugePageBytes;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePageBytes - 1) & ~(uintptr_t{kHugePageBytes} - 1);
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = start + span;
  if (end > aligned + bytes) munmap(reinterpret_cast<void*>(aligned + bytes), end - (aligned + bytes));
  void* data = reinterpret_cast<void*>(aligned);
#if defined(MADV_HUGEPAGE)
  // Advice only: where transparent huge pages are off (or 'always'), this changes nothing.
  madvise(data, bytes, MADV_HUGEPAGE);
#endif
  return data;
}

void unmap_region(Region region) {
  munmap(region.data, region.bytes);
}

#else

void* map_region(size_t bytes) {
  return ::operator new(bytes, std::align_val_t{kHugePageBytes}, std::nothrow);
}

void unmap_region(Region region) {
  ::operator delete(region.data, std::align_val_t{kHugePageBytes});
}

#endif

}  // namespace

Region take_region(size_t bytes) {
  if (bytes == 0 || bytes > SIZE_MAX - 2 * kHugePageBytes) return Region{};
  const size_t rounded = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    if (rounded > kMaxBytesOut - p.bytes_out) return Region{};
    for (auto it = p.free.rbegin(); it != p.free.rend(); ++it) {
      if (it->bytes != rounded) continue;
      const Region region = *it;
      p.free.erase(std::next(it).base());
      p.pooled_bytes -= region.bytes;
      ++p.regions_out;
      p.bytes_out += region.bytes;
      return region;
    }
    // Counted as out before mapping (outside the lock), so that two threads cannot both pass
    // the bound.
    ++p.regions_out;
    p.bytes_out += rounded;
  }
  void* data = map_region(rounded);
  if (data) return Region{data, rounded};
  std::lock_guard<std::mutex> lock(p.mutex);
  --p.regions_out;
  p.bytes_out -= rounded;
  return Region{};
}

void give_region(Region region) {
  if (!region.data) return;
  std::deque<Region> evicted;
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    --p.regions_out;
    p.bytes_out -= region.bytes;
    if (region.bytes <= kPoolMaxBytes) {
      while (!p.free.empty() && (p.free.size() >= kPoolMaxRegions || p.pooled_bytes + region.bytes > kPoolMaxBytes)) {
        evicted.push_back(p.free.front());
        p.pooled_bytes -= p.free.front().bytes;
        p.free.pop_front();
      }
      p.free.push_back(region);
      p.pooled_bytes += region.bytes;
      region = Region{};
    }
  }
  // Unmapped outside the lock: munmap of a large region takes a while.
  for (const Region& r : evicted) unmap_region(r);
  if (region.data) unmap_region(region);
}

RegionStats region_stats() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return RegionStats{p.pooled_bytes, p.free.size(), p.regions_out, p.bytes_out};
}

void trim_regions() {
  std::deque<Region> all;
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    all.swap(p.free);
    p.pooled_bytes = 0;
  }
  for (const Region& r : all) unmap_region(r);
}

}  // namespace focal
