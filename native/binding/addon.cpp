// The module: sync and async entry points, info() and the benchmark's memory floor. The plan is
// read into a plain C++ Job on the main thread; the kernels never see a JavaScript value.
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "../kernels/job.hpp"
#include "../kernels/memory_floor.hpp"
#include "owned_memory.hpp"
#include "plan_reader.hpp"
#include "result_pool.hpp"
#include "../simd/simd.hpp"

namespace {

using focal::Job;
using focal::KernelResult;

focal::ResultError result_error(focal::InputError e) {
  switch (e) {
    case focal::InputError::kTarget:
      return focal::ResultError::kTarget;
    case focal::InputError::kWeight:
      return focal::ResultError::kWeight;
    case focal::InputError::kLabel:
      return focal::ResultError::kLabel;
    case focal::InputError::kProbability:
      return focal::ResultError::kProbability;
    default:
      return focal::ResultError::kNone;
  }
}

// The result into the caller's result array (plan_protocol.hpp: result_slots), instead of a new
// object: a few stores rather than an object and its properties per call.
void write_result(double* slots, const KernelResult& r) {
  using namespace focal::result_slots;  // NOLINT(build/namespaces): kSum...
  const focal::ResultError error = result_error(r.error);
  slots[kSum] = r.sum.to_double();
  focal::repro::ReproducibleSum state = r.sum;  // canonical, for the sum* slots
  state.renormalize();
  slots[kSumIndex] = static_cast<double>(state.index);
  const size_t primaries[] = {kSumPrimary0, kSumPrimary1, kSumPrimary2};
  const size_t carries[] = {kSumCarry0, kSumCarry1, kSumCarry2};
  static_assert(focal::repro::kK == 3, "one sum* slot per fold (native/protocol.json)");
  for (int k = 0; k < focal::repro::kK; ++k) {
    slots[primaries[k]] = state.primary[k];
    slots[carries[k]] = state.carry[k];
  }
  slots[kSumNonFinite] = state.non_finite;
  slots[kCount] = static_cast<double>(r.count);
  slots[kErrorKind] = static_cast<double>(static_cast<int>(error));
  slots[kErrorIndex] = error == focal::ResultError::kNone ? -1.0 : static_cast<double>(r.error_index);
  slots[kErrorValue] = error == focal::ResultError::kNone ? 0.0 : r.error_value;
}

// Per environment (the main thread and each worker thread load the addon in an environment of
// their own): can this runtime wrap addon-owned memory in an ArrayBuffer? Electron, for one,
// refuses (napi_no_external_buffers_allowed).
struct AddonState {
  bool external_buffers = true;
};

AddonState& state(Napi::Env env) {
  return *env.GetInstanceData<AddonState>();
}

// The JavaScript buffer over a block was collected (or its environment is shutting down): drop
// its reference. A job that still uses the block keeps it alive.
void finalize_block(napi_env, void*, void* hint) {
  focal::release_block(static_cast<focal::MemoryBlock*>(hint));
}

[[noreturn]] void throw_range_error(Napi::Env env, const std::string& message) {
  throw Napi::RangeError::New(env, "focal-loss (native): " + message);
}

// The byteLength argument of allocate() and allocateResult().
size_t byte_length_argument(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) {
    focal::throw_type_error(env, std::string(fn) + "(byteLength) takes one number, received " +
                                     (info.Length() == 0 ? std::string("nothing") : focal::describe(env, info[0])));
  }
  const double requested = info[0].As<Napi::Number>().DoubleValue();
  if (!(requested >= 0 && requested <= 9007199254740991.0) || std::floor(requested) != requested) {
    throw_range_error(env, std::string(fn) + ": byteLength must be an integer in [0, 9007199254740991], received " +
                               focal::describe(env, info[0]));
  }
  if (requested > static_cast<double>(SIZE_MAX)) throw_range_error(env, std::string(fn) + ": byteLength too large");
  return static_cast<size_t>(requested);
}

// An external ArrayBuffer of `bytes` bytes over `block`, whose reference passes to the buffer's
// finalizer; a plain ArrayBuffer where this runtime refuses external ones (the block is then
// dropped here: nothing else refers to it).
Napi::Value wrap_block(Napi::Env env, focal::BlockHold block, size_t bytes, const char* fn) {
  napi_value result;
  const napi_status status =
      napi_create_external_arraybuffer(env, block.data(), bytes, finalize_block, block.block(), &result);
  if (status == napi_no_external_buffers_allowed) {
    state(env).external_buffers = false;
    return Napi::ArrayBuffer::New(env, bytes);
  }
  if (status != napi_ok)
    throw_range_error(env, std::string(fn) + ": cannot create a buffer of " + std::to_string(bytes) + " bytes");
  block.release_to_finalizer();  // the finalizer (its hint is the block) drops this reference
  return Napi::Value(env, result);
}

// allocate(byteLength): an ArrayBuffer of byteLength bytes (contents unspecified) that the async
// exports accept. Normally an external buffer over a 64-byte aligned block the addon owns and
// counts references to (native/binding/owned_memory.hpp), so that detaching or dropping it while a job
// uses it cannot free the job's memory. Where external buffers are not allowed, a plain
// ArrayBuffer: the async exports then copy (see FocalWorker).
Napi::Value Allocate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t bytes = byte_length_argument(info, "allocate");
  if (!state(env).external_buffers) return Napi::ArrayBuffer::New(env, bytes);
  focal::BlockHold block = focal::BlockHold::allocate(bytes);
  if (!block) throw_range_error(env, "allocate: cannot allocate " + std::to_string(bytes) + " bytes");
  return wrap_block(env, std::move(block), bytes, "allocate");
}

// allocateResult(byteLength): the buffer of a large array a call returns (a new gradient, a
// 'none' loss), contents unspecified (the kernels write every element). An external buffer over a
// block from the result pool (native/binding/result_pool.hpp: huge pages, recycled), which the
// async exports accept like allocate()'s. The block goes back to the pool when its last reference
// goes: the buffer's finalizer (Node runs it on the event loop once the buffer's memory is freed,
// never while JavaScript can reach it) and any job using it. Where external buffers are not
// allowed (Electron: napi_no_external_buffers_allowed), or the pool's bound on memory out is
// reached (a loop that never yields gets no block back), a plain ArrayBuffer: zeroed by the
// runtime and paying its page faults, as `new Float32Array(n)` does.
Napi::Value AllocateResult(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t bytes = byte_length_argument(info, "allocateResult");
  if (!state(env).external_buffers || bytes == 0) return Napi::ArrayBuffer::New(env, bytes);
  focal::BlockHold block = focal::BlockHold::allocate_result(bytes);
  if (!block) return Napi::ArrayBuffer::New(env, bytes);
  return wrap_block(env, std::move(block), bytes, "allocateResult");
}

// resultMemory(trim?): what the result pool holds and lends, in bytes and regions; with trim true,
// first unmaps the pooled regions (for tests and bench/result-memory.mjs).
Napi::Value ResultMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() > 0 && info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value()) focal::trim_regions();
  const focal::RegionStats stats = focal::region_stats();
  Napi::Object out = Napi::Object::New(env);
  out.Set("pooledBytes", Napi::Number::New(env, static_cast<double>(stats.pooled_bytes)));
  out.Set("pooledRegions", Napi::Number::New(env, static_cast<double>(stats.pooled_regions)));
  out.Set("bytesOut", Napi::Number::New(env, static_cast<double>(stats.bytes_out)));
  out.Set("regionsOut", Napi::Number::New(env, static_cast<double>(stats.regions_out)));
  return out;
}

// Runs a job on the libuv thread pool, holding every array it reads or writes until it settles:
// a reference to each typed array and to its buffer (so that dropping the plan's arrays cannot
// let the collector free them), and
//   - with external buffers, a reference to the addon block each array lies in (arrays elsewhere
//     are refused): detaching, transferring or dropping the buffer cannot free the block;
//   - without them, private copies: every input is copied here, on the calling thread, and each
//     output is written back when the job is done, only into an array that is still live with the
//     same type and length (else the promise rejects with a TypeError naming it).
// A job can be stopped (stopAsync): its flag, shared with the result array it was given, is checked
// before each block; a job stopped before it settles writes neither outputs nor result and
// rejects with an Error of code 'ABORT_ERR'.
class FocalWorker : public Napi::AsyncWorker {
 public:
  using StopFlag = std::shared_ptr<std::atomic<bool>>;

  FocalWorker(Napi::Env env, Job job, Napi::Value result)
      : Napi::AsyncWorker(env, "focal-loss"),
        deferred_(Napi::Promise::Deferred::New(env)),
        job_(std::move(job)),
        result_array_(Napi::Persistent(result)),
        stop_(std::make_shared<std::atomic<bool>>(false)) {
    job_.stop = stop_.get();
  }

  const StopFlag& Stop() const { return stop_; }

  Napi::Promise Promise() const { return deferred_.Promise(); }

  // Takes hold of one array of the plan (may throw: the worker is then deleted, never queued).
  void Hold(const focal::PlanArray& a, bool external_buffers) {
    Napi::Env env = Env();
    references_.push_back(Napi::Persistent(a.array));
    references_.push_back(Napi::Persistent(Napi::Value(env, a.view.buffer)));
    const size_t bytes = a.view.byte_length();
    if (bytes == 0) return;  // an empty array: the job is empty and reads nothing
    if (external_buffers) {
      focal::BlockHold block = focal::BlockHold::find(a.view.data, bytes);
      if (!block) {
        focal::throw_type_error(env, std::string("plan.") + a.field +
                                         ": async plans take arrays on buffers from allocate(), received " +
                                         focal::describe(env, a.array) + " on another buffer");
      }
      blocks_.push_back(std::move(block));
      return;
    }
    focal::BlockHold copy = focal::BlockHold::allocate(bytes);
    if (!copy) {
      throw Napi::RangeError::New(env, std::string("focal-loss (native): cannot allocate ") + std::to_string(bytes) +
                                           " bytes to copy plan." + a.field);
    }
    if (a.output) {
      outputs_.push_back(Output{a.field, references_.size() - 2, a.view.type, a.view.length, copy.data(), bytes});
    } else {
      std::memcpy(copy.data(), a.view.data, bytes);
    }
    focal::set_job_array(job_, a.role, copy.data());
    blocks_.push_back(std::move(copy));
  }

  // On a pool thread: no N-API calls here.
  void Execute() override {
    try {
      result_ = focal::run_job(job_);
    } catch (const std::bad_alloc&) {
      out_of_memory_ = true;
      SetError("out of memory");
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (stop_->load()) {
      Napi::Error stopped = Napi::Error::New(env, "focal-loss (native): the async call was stopped");
      stopped.Set("code", Napi::String::New(env, "ABORT_ERR"));
      deferred_.Reject(stopped.Value());
      return;
    }
    if (result_.error == focal::InputError::kNone && !outputs_.empty()) {
      // Every output is checked before any is written: all are delivered, or none.
      for (const Output& o : outputs_) {
        napi_value array = references_[o.reference].Value();
        napi_typedarray_type type;
        size_t length = 0;
        void* data = nullptr;
        if (napi_get_typedarray_info(env, array, &type, &length, &data, nullptr, nullptr) != napi_ok ||
            type != o.type || length != o.length || data == nullptr) {
          deferred_.Reject(Napi::TypeError::New(env, std::string("focal-loss (native): plan.") + o.field +
                                                         " was detached or resized while the async call ran: "
                                                         "expected a " +
                                                         focal::typed_array_name(o.type) + " of length " +
                                                         std::to_string(o.length) + ", received " +
                                                         focal::describe(env, array))
                               .Value());
          return;
        }
      }
      for (const Output& o : outputs_) {
        void* data = nullptr;
        napi_get_typedarray_info(env, references_[o.reference].Value(), nullptr, nullptr, &data, nullptr, nullptr);
        std::memcpy(data, o.copy, o.bytes);
      }
    }
    // The result array, like an output, must still be what it was.
    napi_value result = result_array_.Value();
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (napi_get_typedarray_info(env, result, &type, &length, &data, nullptr, nullptr) != napi_ok ||
        type != napi_float64_array || length != focal::result_slots::kSlotCount || data == nullptr) {
      deferred_.Reject(Napi::TypeError::New(env,
                                            "focal-loss (native): result was detached or resized while the "
                                            "async call ran, received " +
                                                focal::describe(env, result))
                           .Value());
      return;
    }
    write_result(static_cast<double*>(data), result_);
    deferred_.Resolve(env.Undefined());
  }

  void OnError(const Napi::Error& error) override {
    if (out_of_memory_) {
      deferred_.Reject(
          Napi::RangeError::New(Env(), "focal-loss (native): out of memory for the copies of the labels and weights")
              .Value());
    } else {
      deferred_.Reject(error.Value());
    }
  }

 private:
  struct Output {
    const char* field;
    size_t reference;  // index in references_ of the typed array
    napi_typedarray_type type;
    size_t length;
    void* copy;
    size_t bytes;
  };

  Napi::Promise::Deferred deferred_;
  Job job_;
  Napi::Reference<Napi::Value> result_array_;
  std::vector<Napi::Reference<Napi::Value>> references_;
  std::vector<focal::BlockHold> blocks_;
  std::vector<Output> outputs_;
  KernelResult result_;
  bool out_of_memory_ = false;
  StopFlag stop_;  // job_.stop points into it; stopAsync holds it too, through the result array
};

// The result array of an async call carries (napi_wrap) a reference to its job's stop flag, so that
// stopAsync(result) can find it: dropped when the array is collected, never before the job ends.
void finalize_stop_flag(napi_env, void* data, void*) {
  delete static_cast<FocalWorker::StopFlag*>(data);
}

void attach_stop_flag(Napi::Env env, napi_value result, const FocalWorker::StopFlag& stop) {
  auto* held = new FocalWorker::StopFlag(stop);
  if (napi_wrap(env, result, held, finalize_stop_flag, nullptr, nullptr) != napi_ok) {
    delete held;
    focal::throw_type_error(env, "an async call needs a result array of its own, received one already used");
  }
}

// stopAsync(result): asks the async call that was given `result` to stop before its next block
// (nothing happens if it has settled). A TypeError for any other value.
Napi::Value StopAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  void* data = nullptr;
  if (info.Length() != 1 || !info[0].IsObject() || napi_unwrap(env, info[0], &data) != napi_ok || data == nullptr) {
    focal::throw_type_error(env, "stopAsync(result) takes the result array of an async call, received " +
                                     (info.Length() == 0 ? std::string("nothing") : focal::describe(env, info[0])));
  }
  static_cast<FocalWorker::StopFlag*>(data)->get()->store(true);
  return env.Undefined();
}

KernelResult run_on_this_thread(Napi::Env env, const Job& job) {
  try {
    return focal::run_job(job);
  } catch (const std::bad_alloc&) {
    throw_range_error(env, "out of memory for the copies of the labels and weights");
  }
}

using PlanReader = focal::ReadPlan (*)(const Napi::CallbackInfo&);

template <PlanReader Read>
Napi::Value RunSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // No JavaScript runs between reading the plan and the end of the kernel: the arrays (the result
  // array too) stay as read.
  const focal::ReadPlan plan = Read(info);
  write_result(plan.result, run_on_this_thread(env, plan.job));
  return env.Undefined();
}

template <PlanReader Read>
Napi::Value RunAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  focal::ReadPlan plan = Read(info);
  // Between Read and Queue no JavaScript runs, so the pointers just taken are still what they were.
  auto worker = std::make_unique<FocalWorker>(env, std::move(plan.job), plan.result_array);
  const bool external_buffers = state(env).external_buffers;
  for (const focal::PlanArray& a : plan.arrays) worker->Hold(a, external_buffers);
  attach_stop_flag(env, plan.result_array, worker->Stop());
  Napi::Promise promise = worker->Promise();
  worker.release()->Queue();  // deletes itself when done
  return promise;
}

// memoryFloor(logits: Float32Array, targets: Uint8Array | Int32Array | Float32Array, out: Float32Array, threads)
Napi::Value MemoryFloor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 4 || !info[3].IsNumber())
    focal::throw_type_error(env, "memoryFloor(logits, targets, out, threads)");
  const focal::ArrayView x = focal::typed_array(env, info[0], "logits", false);
  const focal::ArrayView t = focal::typed_array(env, info[1], "targets", false);
  const focal::ArrayView out = focal::typed_array(env, info[2], "out", false);
  if (x.type != napi_float32_array || out.type != napi_float32_array || t.length != x.length ||
      out.length != x.length) {
    focal::throw_type_error(env, "memoryFloor needs float32 logits and out, and targets of the same length");
  }
  const int threads = std::max(1, info[3].As<Napi::Number>().Int32Value());
  const auto* xs = static_cast<const float*>(x.data);
  auto* o = static_cast<float*>(out.data);
  const auto n = static_cast<int64_t>(x.length);
  switch (t.type) {
    case napi_uint8_array:
      focal::memory_floor(xs, static_cast<const uint8_t*>(t.data), o, n, threads);
      break;
    case napi_int32_array:
      focal::memory_floor(xs, static_cast<const int32_t*>(t.data), o, n, threads);
      break;
    case napi_float32_array:
      focal::memory_floor(xs, static_cast<const float*>(t.data), o, n, threads);
      break;
    default:
      focal::throw_type_error(env, "memoryFloor targets must be Uint8Array, Int32Array or Float32Array");
  }
  return env.Undefined();
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("planVersion", Napi::Number::New(env, focal::kPlanVersion));
  // false: allocate() returns plain ArrayBuffers and the async exports copy their arrays.
  out.Set("externalBuffers", Napi::Boolean::New(env, state(env).external_buffers));
  // The instruction sets this CPU runs, by the numbers of focal::SimdLevel.
  Napi::Object levels = Napi::Object::New(env);
  for (auto level :
       {focal::SimdLevel::kScalar, focal::SimdLevel::kNeon, focal::SimdLevel::kAvx2, focal::SimdLevel::kAvx512}) {
    if (focal::simd_level_supported(level)) {
      levels.Set(focal::simd_level_name(level), Napi::Number::New(env, static_cast<int>(level)));
    }
  }
  out.Set("simdLevels", levels);
  out.Set("simd", Napi::String::New(env, focal::simd_level_name(focal::best_simd_level())));
#if defined(_OPENMP)
  out.Set("openmp", Napi::Boolean::New(env, true));
  out.Set("maxThreads", Napi::Number::New(env, omp_get_num_procs()));
#else
  out.Set("openmp", Napi::Boolean::New(env, false));
  out.Set("maxThreads", Napi::Number::New(env, 1));
#endif
  return out;
}

// Whether this runtime allows external buffers, found by making one. FOCAL_LOSS_TEST_NO_EXTERNAL_BUFFERS=1
// makes the addon behave as if it did not (for test/binding-lifetime.test.ts, which tests the
// copying path on runtimes that have external buffers).
bool external_buffers_allowed(Napi::Env env) {
  const char* test_switch = std::getenv("FOCAL_LOSS_TEST_NO_EXTERNAL_BUFFERS");
  if (test_switch && std::strcmp(test_switch, "1") == 0) return false;
  focal::BlockHold block = focal::BlockHold::allocate(focal::kBlockAlignment);
  if (!block) return true;  // no memory now; allocate() will find out
  napi_value probe;
  const napi_status status = napi_create_external_arraybuffer(env, block.data(), focal::kBlockAlignment, finalize_block,
                                                              block.block(), &probe);
  if (status == napi_ok) block.release_to_finalizer();
  return status != napi_no_external_buffers_allowed;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* addon_state = new AddonState;
  addon_state->external_buffers = external_buffers_allowed(env);
  env.SetInstanceData(addon_state);  // deleted with the environment
  exports.Set("allocate", Napi::Function::New(env, Allocate, "allocate"));
  exports.Set("allocateResult", Napi::Function::New(env, AllocateResult, "allocateResult"));
  exports.Set("resultMemory", Napi::Function::New(env, ResultMemory, "resultMemory"));
  exports.Set("sigmoid", Napi::Function::New(env, RunSync<focal::read_sigmoid_plan>, "sigmoid"));
  exports.Set("softmax", Napi::Function::New(env, RunSync<focal::read_softmax_plan>, "softmax"));
  exports.Set("sigmoidAsync", Napi::Function::New(env, RunAsync<focal::read_sigmoid_plan>, "sigmoidAsync"));
  exports.Set("softmaxAsync", Napi::Function::New(env, RunAsync<focal::read_softmax_plan>, "softmaxAsync"));
  exports.Set("stopAsync", Napi::Function::New(env, StopAsync, "stopAsync"));
  exports.Set("memoryFloor", Napi::Function::New(env, MemoryFloor, "memoryFloor"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  return exports;
}

}  // namespace

NODE_API_MODULE(focal_loss, Init)
