// The N-API binding: the only C++ file that knows about JavaScript. It reads a plan that the
// TypeScript facade has already validated (lib/kernels.ts), checks again everything that could
// make a kernel read or write out of bounds, and calls the kernels.
#include <napi.h>

#include <cstdint>
#include <string>
#include <type_traits>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "sigmoid_focal.hpp"
#include "softmax_focal.hpp"

namespace {

// Bumped whenever the plan layout changes; the loader refuses an addon with another value.
constexpr int32_t kAbiVersion = 1;

struct ArrayView {
  bool present;  // false when the property is null or undefined
  napi_typedarray_type type;
  size_t length;
  void* data;  // already offset by the view's byteOffset
};

[[noreturn]] void throw_type_error(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, "focal-loss (native): " + message);
}

// A typed array property of the plan, or {length 0, data null} when it is null/undefined and allowed.
ArrayView array_property(const Napi::Object& plan, const char* name, bool nullable) {
  Napi::Env env = plan.Env();
  Napi::Value value = plan.Get(name);
  if (nullable && (value.IsNull() || value.IsUndefined())) return {false, napi_float64_array, 0, nullptr};
  if (!value.IsTypedArray()) throw_type_error(env, std::string("expected a typed array for ") + name);
  ArrayView view{};
  view.present = true;
  napi_value buffer;
  size_t offset;
  napi_status status = napi_get_typedarray_info(env, value, &view.type, &view.length, &view.data, &buffer, &offset);
  if (status != napi_ok) throw_type_error(env, std::string("cannot read the typed array ") + name);
  return view;
}

double number_property(const Napi::Object& plan, const char* name) {
  Napi::Value value = plan.Get(name);
  if (!value.IsNumber()) throw_type_error(plan.Env(), std::string("expected a number for ") + name);
  return value.As<Napi::Number>().DoubleValue();
}

bool bool_property(const Napi::Object& plan, const char* name) {
  Napi::Value value = plan.Get(name);
  if (!value.IsBoolean()) throw_type_error(plan.Env(), std::string("expected a boolean for ") + name);
  return value.As<Napi::Boolean>().Value();
}

template <typename T>
constexpr napi_typedarray_type float_array_type() {
  return sizeof(T) == 4 ? napi_float32_array : napi_float64_array;
}

// An optional array of the logits' type with exactly `length` elements.
template <typename T>
T* optional_float_array(const Napi::Object& plan, const char* name, size_t length) {
  const ArrayView view = array_property(plan, name, true);
  if (!view.present) return nullptr;
  if (view.type != float_array_type<T>() || view.length != length) {
    throw_type_error(plan.Env(), std::string(name) + " must be a float array of the logits' type and length " +
                                     std::to_string(length));
  }
  return static_cast<T*>(view.data);
}

// Calls fn(typed pointer) for an integer typed array, or for a float array of type T.
template <typename T, typename Fn>
focal::KernelResult with_label_type(Napi::Env env, const ArrayView& v, const char* name, Fn&& fn, bool allow_float) {
  switch (v.type) {
    case napi_uint8_array:
    case napi_uint8_clamped_array: return fn(static_cast<const uint8_t*>(v.data));
    case napi_int8_array: return fn(static_cast<const int8_t*>(v.data));
    case napi_uint16_array: return fn(static_cast<const uint16_t*>(v.data));
    case napi_int16_array: return fn(static_cast<const int16_t*>(v.data));
    case napi_uint32_array: return fn(static_cast<const uint32_t*>(v.data));
    case napi_int32_array: return fn(static_cast<const int32_t*>(v.data));
    default:
      if (allow_float && v.type == float_array_type<T>()) return fn(static_cast<const T*>(v.data));
      throw_type_error(env, std::string("unsupported array type for ") + name);
  }
}

const char* error_kind(focal::InputError e) {
  switch (e) {
    case focal::InputError::kTarget: return "target";
    case focal::InputError::kWeight: return "weight";
    case focal::InputError::kLabel: return "label";
    case focal::InputError::kProbability: return "probability";
    default: return "none";
  }
}

Napi::Object to_js(Napi::Env env, const focal::KernelResult& r) {
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

template <typename T>
focal::KernelResult run_sigmoid(const Napi::Object& plan, const ArrayView& logits) {
  Napi::Env env = plan.Env();
  const size_t n = logits.length;
  const ArrayView targets = array_property(plan, "targets", false);
  if (targets.length != n) throw_type_error(env, "targets must have the logits' length");
  const T* weights = optional_float_array<T>(plan, "weights", n);
  T* loss_out = optional_float_array<T>(plan, "lossOut", n);
  T* grad_out = optional_float_array<T>(plan, "gradOut", n);

  focal::SigmoidOptions o;
  o.gamma = number_property(plan, "gamma");
  const Napi::Value alpha = plan.Get("alpha");
  o.has_alpha = !alpha.IsNull();
  o.alpha = o.has_alpha ? number_property(plan, "alpha") : 1.0;
  o.label_smoothing = number_property(plan, "labelSmoothing");
  o.from_probabilities = bool_property(plan, "probabilities");
  o.probability_epsilon = number_property(plan, "probabilityEpsilon");
  o.grad_scale = number_property(plan, "gradScale");

  const T* x = static_cast<const T*>(logits.data);
  return with_label_type<T>(
      env, targets, "targets",
      [&](const auto* t) {
        return focal::sigmoid_focal_loss(x, t, weights, static_cast<int64_t>(n), o, loss_out, grad_out);
      },
      true);
}

template <typename T>
focal::KernelResult run_softmax(const Napi::Object& plan, const ArrayView& logits) {
  Napi::Env env = plan.Env();
  focal::SoftmaxShape shape;
  shape.outer = static_cast<int64_t>(number_property(plan, "outer"));
  shape.classes = static_cast<int64_t>(number_property(plan, "classes"));
  shape.inner = static_cast<int64_t>(number_property(plan, "inner"));
  if (shape.outer < 0 || shape.classes < 1 || shape.inner < 1 ||
      static_cast<double>(shape.outer) * static_cast<double>(shape.classes) * static_cast<double>(shape.inner) !=
          static_cast<double>(logits.length)) {
    throw_type_error(env, "outer * classes * inner must equal the logits' length");
  }
  const size_t samples = static_cast<size_t>(shape.samples());
  const T* weights = optional_float_array<T>(plan, "weights", samples);
  T* loss_out = optional_float_array<T>(plan, "lossOut", samples);
  T* grad_out = optional_float_array<T>(plan, "gradOut", logits.length);

  focal::SoftmaxOptions o;
  o.gamma = number_property(plan, "gamma");
  o.alpha = optional_float_array<double>(plan, "alpha", static_cast<size_t>(shape.classes));
  o.alpha_scale = number_property(plan, "alphaScale");
  o.label_smoothing = number_property(plan, "labelSmoothing");
  o.ignore_index = static_cast<int64_t>(number_property(plan, "ignoreIndex"));
  o.grad_scale = number_property(plan, "gradScale");
  o.grad_scale_by_count = bool_property(plan, "gradScaleByCount");

  const T* x = static_cast<const T*>(logits.data);
  const ArrayView labels = array_property(plan, "labels", true);
  if (labels.present) {
    if (labels.length != samples) throw_type_error(env, "labels must have one entry per sample");
    return with_label_type<T>(
        env, labels, "labels",
        [&](const auto* y) {
          if constexpr (std::is_floating_point_v<std::remove_pointer_t<std::decay_t<decltype(y)>>>) {
            throw_type_error(env, "labels must be integers");
            return focal::KernelResult{};
          } else {
            return focal::softmax_focal_loss_labels(x, y, weights, shape, o, loss_out, grad_out);
          }
        },
        false);
  }
  if (!array_property(plan, "targets", true).present) throw_type_error(env, "either labels or targets is required");
  const T* targets = optional_float_array<T>(plan, "targets", logits.length);
  return focal::softmax_focal_loss_targets(x, targets, weights, shape, o, loss_out, grad_out);
}

// Runs the kernel chosen by the logits' type.
Napi::Value dispatch(const Napi::CallbackInfo& info,
                     focal::KernelResult (*f32)(const Napi::Object&, const ArrayView&),
                     focal::KernelResult (*f64)(const Napi::Object&, const ArrayView&)) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsObject()) throw_type_error(env, "expected one plan object");
  const Napi::Object plan = info[0].As<Napi::Object>();
  const ArrayView logits = array_property(plan, "logits", false);
  if (logits.type == napi_float32_array) return to_js(env, f32(plan, logits));
  if (logits.type == napi_float64_array) return to_js(env, f64(plan, logits));
  throw_type_error(env, "logits must be a Float32Array or a Float64Array");
}

Napi::Value Sigmoid(const Napi::CallbackInfo& info) {
  return dispatch(info, run_sigmoid<float>, run_sigmoid<double>);
}

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  return dispatch(info, run_softmax<float>, run_softmax<double>);
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
#if defined(_OPENMP)
  out.Set("openmp", Napi::Boolean::New(env, true));
  out.Set("threads", Napi::Number::New(env, omp_get_max_threads()));
#else
  out.Set("openmp", Napi::Boolean::New(env, false));
  out.Set("threads", Napi::Number::New(env, 1));
#endif
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sigmoid", Napi::Function::New(env, Sigmoid, "sigmoid"));
  exports.Set("softmax", Napi::Function::New(env, Softmax, "softmax"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  return exports;
}

}  // namespace

NODE_API_MODULE(focal_loss, Init)
