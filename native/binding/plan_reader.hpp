// Reads a plan built by the TypeScript facade (lib/backends/protocol.ts), passed as its values, one
// argument each (callSigmoidPlan / callSoftmaxPlan there), into a Job, checking again
// every type and length that a kernel relies on, so that no call can make a kernel read or write
// out of bounds, whatever the caller passed. Messages name the plan field and what was received
// (the binding is reachable directly: its path is public).
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "../kernels/job.hpp"
#include "plan_protocol.hpp"  // kPlanVersion and the keys each plan has (generated from native/protocol.json)

namespace focal {

// A typed array's element type, length and data pointer (already offset by its byteOffset).
struct ArrayView {
  bool present;  // false when the value is null or undefined
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value buffer;  // its ArrayBuffer (or SharedArrayBuffer)
  size_t byte_length() const;
};

// An array of the plan that the job reads or writes, as the reader found it.
struct PlanArray {
  const char* field;  // the plan property, for messages
  JobArray role;      // which pointer of the Job it is
  bool output;
  Napi::Value array;  // the typed array
  ArrayView view;
};

struct ReadPlan {
  Job job;
  std::vector<PlanArray> arrays;  // the present ones
  Napi::Value result_array;       // the last argument: where the result goes (plan_protocol.hpp, result_slots)
  double* result = nullptr;       // its data, result_slots::kSlotCount doubles
};

// A plan from the arguments of a call to the sigmoid or softmax export (sync or async): the plan's
// values, then the result array.
ReadPlan read_sigmoid_plan(const Napi::CallbackInfo& info);
ReadPlan read_softmax_plan(const Napi::CallbackInfo& info);

ArrayView typed_array(Napi::Env env, Napi::Value value, const char* name, bool nullable);

// "a Float32Array of length 3", "the number 1.5", "null"... (runs no JavaScript).
std::string describe(Napi::Env env, napi_value value);
const char* typed_array_name(napi_typedarray_type type);

// A TypeError "focal-loss (native): <message>".
[[noreturn]] void throw_type_error(Napi::Env env, const std::string& message);

}  // namespace focal
