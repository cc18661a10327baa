// Memory the addon owns and lends to JavaScript as external ArrayBuffers (allocate(), and
// allocateResult() for the arrays a call returns), and the registry that tells the async exports
// whether an array lies in such memory. No N-API here.
//
// A block has a reference count: the JavaScript buffer over it holds one (dropped by its
// finalizer), and every async job that reads or writes the block holds one for its duration. So
// a caller who detaches, transfers or drops the buffer while a job runs cannot free memory the job
// uses: the block lives until the last of them lets go. The registry is one for the process
// (worker threads are separate environments in one process, and a job may outlive the
// environment that created the buffer), guarded by a mutex.
#pragma once

#include <cstddef>

namespace focal {

struct MemoryBlock;

// Byte alignment of every block (a cache line; also what AVX-512 loads like best).
constexpr size_t kBlockAlignment = 64;

// A reference to a block, dropped when the object goes away (on any thread).
class BlockHold {
 public:
  BlockHold() = default;
  BlockHold(BlockHold&& other) noexcept : block_(other.block_) { other.block_ = nullptr; }
  BlockHold& operator=(BlockHold&& other) noexcept;
  BlockHold(const BlockHold&) = delete;
  BlockHold& operator=(const BlockHold&) = delete;
  ~BlockHold();

  // A new registered block of `bytes` bytes, aligned to kBlockAlignment, with one reference (this
  // one). Empty when the memory is not available.
  static BlockHold allocate(size_t bytes);
  // The same for a result array: a large region from result_pool.hpp (huge pages, recycled: its
  // contents are whatever the last user left), given back to that pool when the last reference
  // goes. At least `bytes` bytes, aligned to 2 MiB. Empty when the memory is not available.
  static BlockHold allocate_result(size_t bytes);
  // A new reference to the registered block that holds all of [data, data + bytes); empty when
  // no block does.
  static BlockHold find(const void* data, size_t bytes);

  explicit operator bool() const { return block_ != nullptr; }
  void* data() const;
  MemoryBlock* block() const { return block_; }
  // Gives up this reference without dropping it: the JavaScript buffer's finalizer will, with
  // release_block(block()).
  void release_to_finalizer() { block_ = nullptr; }

 private:
  explicit BlockHold(MemoryBlock* block) : block_(block) {}
  static BlockHold register_block(MemoryBlock* block);
  MemoryBlock* block_ = nullptr;
};

// Drops one reference (the finalizer's); the last one frees the block (a result block goes back
// to its pool). Until then no other block can be handed out over the same memory.
void release_block(MemoryBlock* block);

}  // namespace focal
