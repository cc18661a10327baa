#include "owned_memory.hpp"

#include "result_pool.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <new>

namespace focal {

struct MemoryBlock {
  void* data;
  size_t bytes;
  size_t references;  // guarded by the registry's mutex
  bool pooled;        // a result region (result_pool.hpp): given back to the pool, not deleted
};

namespace {

struct Registry {
  std::mutex mutex;
  std::map<uintptr_t, MemoryBlock*> blocks;  // by start address
};

// Never destroyed: a finalizer or a job may release a block while the process exits.
Registry& registry() {
  static Registry* const instance = new Registry;
  return *instance;
}

constexpr std::align_val_t kAlignment{kBlockAlignment};

}  // namespace

void release_block(MemoryBlock* block) {
  Registry& r = registry();
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    if (--block->references > 0) return;
    // Unregistered before the memory can be reused: find() never returns a block that is free.
    r.blocks.erase(reinterpret_cast<uintptr_t>(block->data));
  }
  if (block->pooled) {
    give_region(Region{block->data, block->bytes});
  } else {
    ::operator delete(block->data, kAlignment);
  }
  delete block;
}

BlockHold BlockHold::register_block(MemoryBlock* block) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.blocks.emplace(reinterpret_cast<uintptr_t>(block->data), block);
  return BlockHold(block);
}

BlockHold& BlockHold::operator=(BlockHold&& other) noexcept {
  if (this != &other) {
    if (block_) release_block(block_);
    block_ = other.block_;
    other.block_ = nullptr;
  }
  return *this;
}

BlockHold::~BlockHold() {
  if (block_) release_block(block_);
}

BlockHold BlockHold::allocate(size_t bytes) {
  // At least one byte, so that every block has an address of its own (and Node does not treat an
  // empty external buffer as a null one).
  const size_t size = bytes == 0 ? 1 : bytes;
  void* data = ::operator new(size, kAlignment, std::nothrow);
  if (!data) return BlockHold();
  auto* block = new (std::nothrow) MemoryBlock{data, size, 1, false};
  if (!block) {
    ::operator delete(data, kAlignment);
    return BlockHold();
  }
  return register_block(block);
}

BlockHold BlockHold::allocate_result(size_t bytes) {
  const Region region = take_region(bytes);
  if (!region.data) return BlockHold();
  auto* block = new (std::nothrow) MemoryBlock{region.data, region.bytes, 1, true};
  if (!block) {
    give_region(region);
    return BlockHold();
  }
  return register_block(block);
}

BlockHold BlockHold::find(const void* data, size_t bytes) {
  const auto address = reinterpret_cast<uintptr_t>(data);
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.blocks.upper_bound(address);
  if (it == r.blocks.begin()) return BlockHold();
  --it;
  MemoryBlock* block = it->second;
  const uintptr_t offset = address - it->first;
  if (offset > block->bytes || bytes > block->bytes - offset) return BlockHold();
  ++block->references;
  return BlockHold(block);
}

void* BlockHold::data() const {
  return block_ ? block_->data : nullptr;
}

}  // namespace focal
