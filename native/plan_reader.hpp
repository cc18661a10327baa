// Reads the plan object built by the TypeScript facade (lib/kernels.ts) into a Job, checking again
// every type and length that a kernel relies on, so that no call can make a kernel read or write
// out of bounds, whatever the caller passed.
#pragma once

#include <napi.h>

#include "job.hpp"

namespace focal {

// Bumped whenever the plan layout changes; the loader refuses an addon with another value.
constexpr int32_t kPlanVersion = 3;

Job read_sigmoid_plan(const Napi::Object& plan);
Job read_softmax_plan(const Napi::Object& plan);

// A typed array's element type, length and data pointer (already offset by its byteOffset).
struct ArrayView {
  bool present;  // false when the value is null or undefined
  napi_typedarray_type type;
  size_t length;
  void* data;
};

ArrayView typed_array(Napi::Env env, Napi::Value value, const char* name, bool nullable);

[[noreturn]] void throw_type_error(Napi::Env env, const std::string& message);

}  // namespace focal
