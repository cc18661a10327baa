// Large regions of memory for the arrays a call returns (allocateResult): mapped on 2 MiB
// boundaries with transparent huge pages advised, and kept for reuse when their block is freed.
// Fresh 4 KiB pages cost a page fault each on first touch (about 0.35 ms per MB on the VM this was
// measured on, more than a fast kernel spends computing a float32 gradient); a huge page costs one
// fault per 2 MiB (0.06-0.09 ms per MB there), and a region taken back from the pool costs none.
//
// The pool is one for the process, guarded by a mutex (blocks are freed on any thread, see
// owned_memory.hpp), and bounded: at most kPoolMaxBytes in at most kPoolMaxRegions regions; a
// region given back beyond that evicts the oldest pooled ones (unmapped). Regions are kept by
// their exact mapped size: a training loop asks for the same sizes again and again.
//
// Regions out (lent, not yet given back) are bounded too, by kMaxBytesOut: a region comes back
// only when the finalizer of its JavaScript buffer runs, and Node runs those on the event loop
// after the collector found the buffer dead, so a synchronous loop of calls gets none back until
// it yields. Beyond the bound take_region() says no and the caller falls back to ordinary memory
// (which the collector frees by itself): such a loop then costs what it did before, never more.
//
// No N-API here. Where there is no mmap (Windows), regions come from aligned operator new.
#pragma once

#include <cstddef>

namespace focal {

// What a region's size and address are rounded to.
constexpr size_t kHugePageBytes = size_t{2} << 20;
constexpr size_t kPoolMaxBytes = size_t{256} << 20;
constexpr size_t kPoolMaxRegions = 16;
constexpr size_t kMaxBytesOut = size_t{256} << 20;

struct Region {
  void* data = nullptr;
  size_t bytes = 0;  // a multiple of kHugePageBytes
};

// A region of at least `bytes` bytes (contents unspecified: a pooled region holds old data):
// pooled when one of that size is free, else newly mapped. {nullptr, 0} when none can be had or
// kMaxBytesOut would be exceeded.
Region take_region(size_t bytes);
// Gives a region back to the pool (or unmaps it, when the pool is full or the region too large).
void give_region(Region region);

// What the pool holds, and how many regions are out (for tests and the memory benchmark).
struct RegionStats {
  size_t pooled_bytes;
  size_t pooled_regions;
  size_t regions_out;
  size_t bytes_out;
};
RegionStats region_stats();
// Unmaps every pooled region (for tests; the pool refills as regions come back).
void trim_regions();

}  // namespace focal
