// The module: sync and async entry points, info() and the benchmark's memory floor. The plan is
// read into a plain C++ Job on the main thread; the kernels never see a JavaScript value.
#include <napi.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <algorithm>
#include <utility>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "job.hpp"
#include "memory_floor.hpp"
#include "plan_reader.hpp"
#include "simd.hpp"

namespace {

using focal::Job;
using focal::KernelResult;

const char* error_kind(focal::InputError e) {
  switch (e) {
    case focal::InputError::kTarget:
      return "target";
    case focal::InputError::kWeight:
      return "weight";
    case focal::InputError::kLabel:
      return "label";
    case focal::InputError::kProbability:
      return "probability";
    default:
      return "none";
  }
}

Napi::Object to_js(Napi::Env env, const KernelResult& r) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("sum", Napi::Number::New(env, r.sum));
  out.Set("count", Napi::Number::New(env, static_cast<double>(r.count)));
  if (r.error != focal::InputError::kNone) {
    Napi::Object error = Napi::Object::New(env);
    error.Set("kind", Napi::String::New(env, error_kind(r.error)));
    error.Set("index", Napi::Number::New(env, static_cast<double>(r.error_index)));
    error.Set("value", Napi::Number::New(env, r.error_value));
    out.Set("error", error);
  }
  return out;
}

Napi::Object plan_argument(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsObject()) focal::throw_type_error(info.Env(), "expected one plan object");
  return info[0].As<Napi::Object>();
}

// Runs a job on the libuv thread pool. The plan object, and through it every input and output
// array, is held by a persistent reference until the promise settles, so the garbage collector
// cannot free memory that the kernel is using.
class FocalWorker : public Napi::AsyncWorker {
 public:
  FocalWorker(Napi::Env env, const Napi::Object& plan, Job job)
      : Napi::AsyncWorker(env, "focal-loss"),
        deferred_(Napi::Promise::Deferred::New(env)),
        plan_(Napi::Persistent(plan)),
        job_(std::move(job)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  // On a pool thread: no N-API calls here.
  void Execute() override { result_ = focal::run_job(job_); }

  void OnOK() override {
    plan_.Reset();
    deferred_.Resolve(to_js(Env(), result_));
  }

  void OnError(const Napi::Error& error) override {
    plan_.Reset();
    deferred_.Reject(error.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference plan_;
  Job job_;
  KernelResult result_;
};

template <Job (*Read)(const Napi::Object&)>
Napi::Value RunSync(const Napi::CallbackInfo& info) {
  return to_js(info.Env(), focal::run_job(Read(plan_argument(info))));
}

template <Job (*Read)(const Napi::Object&)>
Napi::Value RunAsync(const Napi::CallbackInfo& info) {
  const Napi::Object plan = plan_argument(info);
  auto* worker = new FocalWorker(info.Env(), plan, Read(plan));  // deletes itself when done
  worker->Queue();
  return worker->Promise();
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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sigmoid", Napi::Function::New(env, RunSync<focal::read_sigmoid_plan>, "sigmoid"));
  exports.Set("softmax", Napi::Function::New(env, RunSync<focal::read_softmax_plan>, "softmax"));
  exports.Set("sigmoidAsync", Napi::Function::New(env, RunAsync<focal::read_sigmoid_plan>, "sigmoidAsync"));
  exports.Set("softmaxAsync", Napi::Function::New(env, RunAsync<focal::read_softmax_plan>, "softmaxAsync"));
  exports.Set("memoryFloor", Napi::Function::New(env, MemoryFloor, "memoryFloor"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  return exports;
}

}  // namespace

NODE_API_MODULE(focal_loss, Init)
