#include "plan_reader.hpp"

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace focal {

void throw_type_error(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, "focal-loss (native): " + message);
}

ArrayView typed_array(Napi::Env env, Napi::Value value, const char* name, bool nullable) {
  if (nullable && (value.IsNull() || value.IsUndefined())) return {false, napi_float64_array, 0, nullptr};
  if (!value.IsTypedArray()) throw_type_error(env, std::string("expected a typed array for ") + name);
  ArrayView view{};
  view.present = true;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &view.type, &view.length, &view.data, &buffer, &offset) != napi_ok) {
    throw_type_error(env, std::string("cannot read the typed array ") + name);
  }
  return view;
}

namespace {

// Every property of the plan, read (running any getter) before a single data pointer is taken: a
// getter that ran later could detach or shrink a buffer whose pointer we already hold.
class PlanValues {
 public:
  PlanValues(const Napi::Object& plan, std::initializer_list<const char*> keys) : env_(plan.Env()) {
    for (const char* key : keys) values_.emplace_back(key, plan.Get(key));
  }

  Napi::Env Env() const { return env_; }

  Napi::Value Get(const char* key) const {
    for (const auto& [name, value] : values_) {
      if (name == key) return value;
    }
    throw_type_error(env_, std::string("internal: plan property not read: ") + key);
  }

 private:
  Napi::Env env_;
  std::vector<std::pair<std::string, Napi::Value>> values_;
};

ArrayView array_property(const PlanValues& plan, const char* name, bool nullable) {
  return typed_array(plan.Env(), plan.Get(name), name, nullable);
}

double number_property(const PlanValues& plan, const char* name) {
  Napi::Value value = plan.Get(name);
  if (!value.IsNumber()) throw_type_error(plan.Env(), std::string("expected a number for ") + name);
  return value.As<Napi::Number>().DoubleValue();
}

bool bool_property(const PlanValues& plan, const char* name) {
  Napi::Value value = plan.Get(name);
  if (!value.IsBoolean()) throw_type_error(plan.Env(), std::string("expected a boolean for ") + name);
  return value.As<Napi::Boolean>().Value();
}

// A whole number in [min, max] (threads, shape dimensions, ignore index).
int64_t integer_property(const PlanValues& plan, const char* name, double min, double max) {
  const double v = number_property(plan, name);
  if (!(v >= min && v <= max) || std::floor(v) != v) {
    throw_type_error(plan.Env(), std::string("expected an integer in range for ") + name);
  }
  return static_cast<int64_t>(v);
}

napi_typedarray_type float_type(DType dtype) {
  return dtype == DType::kFloat32 ? napi_float32_array : napi_float64_array;
}

// An optional array of the logits' float type with exactly `length` elements.
void* optional_float_array(const PlanValues& plan, const char* name, DType dtype, size_t length) {
  const ArrayView view = array_property(plan, name, true);
  if (!view.present) return nullptr;
  if (view.type != float_type(dtype) || view.length != length) {
    throw_type_error(plan.Env(), std::string(name) + " must be a float array of the logits' type and length " +
                                     std::to_string(length));
  }
  return view.data;
}

LabelType label_type(Napi::Env env, const ArrayView& v, DType dtype, bool allow_float, const char* name) {
  switch (v.type) {
    case napi_uint8_array:
    case napi_uint8_clamped_array:
      return LabelType::kUint8;
    case napi_int8_array:
      return LabelType::kInt8;
    case napi_uint16_array:
      return LabelType::kUint16;
    case napi_int16_array:
      return LabelType::kInt16;
    case napi_uint32_array:
      return LabelType::kUint32;
    case napi_int32_array:
      return LabelType::kInt32;
    default:
      if (allow_float && v.type == float_type(dtype)) return LabelType::kFloat;
      throw_type_error(env, std::string("unsupported array type for ") + name);
  }
}

// The logits, which decide the float type of everything else.
ArrayView read_logits(const PlanValues& plan, Job& job) {
  const ArrayView logits = array_property(plan, "logits", false);
  if (logits.type == napi_float32_array)
    job.dtype = DType::kFloat32;
  else if (logits.type == napi_float64_array)
    job.dtype = DType::kFloat64;
  else
    throw_type_error(plan.Env(), "logits must be a Float32Array or a Float64Array");
  job.logits = logits.data;
  job.n = static_cast<int64_t>(logits.length);
  return logits;
}

}  // namespace

Job read_sigmoid_plan(const Napi::Object& plan_object) {
  const PlanValues plan(plan_object,
                        {"logits", "targets", "weights", "lossOut", "gradOut", "gamma", "alpha", "labelSmoothing",
                         "probabilities", "probabilityEpsilon", "gradScale", "threads", "simd"});
  Napi::Env env = plan.Env();
  Job job;
  job.kind = JobKind::kSigmoid;
  const ArrayView logits = read_logits(plan, job);
  const size_t n = logits.length;
  const ArrayView targets = array_property(plan, "targets", false);
  if (targets.length != n) throw_type_error(env, "targets must have the logits' length");
  job.label_type = label_type(env, targets, job.dtype, true, "targets");
  job.targets = targets.data;
  job.weights = optional_float_array(plan, "weights", job.dtype, n);
  job.loss_out = optional_float_array(plan, "lossOut", job.dtype, n);
  job.grad_out = optional_float_array(plan, "gradOut", job.dtype, n);

  SigmoidOptions& o = job.sigmoid;
  o.gamma = number_property(plan, "gamma");
  o.has_alpha = !plan.Get("alpha").IsNull();
  o.alpha = o.has_alpha ? number_property(plan, "alpha") : 1.0;
  o.label_smoothing = number_property(plan, "labelSmoothing");
  o.from_probabilities = bool_property(plan, "probabilities");
  o.probability_epsilon = number_property(plan, "probabilityEpsilon");
  o.grad_scale = number_property(plan, "gradScale");
  o.threads = static_cast<int>(integer_property(plan, "threads", 1, 1024));
  o.simd = static_cast<int>(integer_property(plan, "simd", -1, 3));
  return job;
}

Job read_softmax_plan(const Napi::Object& plan_object) {
  const PlanValues plan(plan_object, {"logits", "labels", "targets", "weights", "outer", "classes", "inner", "gamma",
                                      "alpha", "alphaScale", "labelSmoothing", "ignoreIndex", "gradScale",
                                      "gradScaleByCount", "lossOut", "gradOut", "threads", "simd"});
  Napi::Env env = plan.Env();
  Job job;
  const ArrayView logits = read_logits(plan, job);
  SoftmaxShape& shape = job.shape;
  shape.outer = integer_property(plan, "outer", 0, 9007199254740991.0);
  shape.classes = integer_property(plan, "classes", 1, 9007199254740991.0);
  shape.inner = integer_property(plan, "inner", 0, 9007199254740991.0);  // 0: an empty batch
  const double product =
      static_cast<double>(shape.outer) * static_cast<double>(shape.classes) * static_cast<double>(shape.inner);
  if (product != static_cast<double>(logits.length)) {
    throw_type_error(env, "outer * classes * inner must equal the logits' length");
  }
  const size_t samples = static_cast<size_t>(shape.samples());
  job.weights = optional_float_array(plan, "weights", job.dtype, samples);
  job.loss_out = optional_float_array(plan, "lossOut", job.dtype, samples);
  job.grad_out = optional_float_array(plan, "gradOut", job.dtype, logits.length);

  SoftmaxOptions& o = job.softmax;
  o.gamma = number_property(plan, "gamma");
  const ArrayView alpha = array_property(plan, "alpha", true);
  if (alpha.present) {
    if (alpha.type != napi_float64_array || alpha.length != static_cast<size_t>(shape.classes)) {
      throw_type_error(env, "alpha must be a Float64Array with one weight per class");
    }
    const double* a = static_cast<const double*>(alpha.data);
    job.alpha.assign(a, a + alpha.length);
  }
  o.alpha_scale = number_property(plan, "alphaScale");
  o.label_smoothing = number_property(plan, "labelSmoothing");
  o.ignore_index = integer_property(plan, "ignoreIndex", -9007199254740991.0, 9007199254740991.0);
  o.grad_scale = number_property(plan, "gradScale");
  o.grad_scale_by_count = bool_property(plan, "gradScaleByCount");
  o.threads = static_cast<int>(integer_property(plan, "threads", 1, 1024));
  o.simd = static_cast<int>(integer_property(plan, "simd", -1, 3));

  const ArrayView labels = array_property(plan, "labels", true);
  if (labels.present) {
    if (labels.length != samples) throw_type_error(env, "labels must have one entry per sample");
    job.kind = JobKind::kSoftmaxLabels;
    job.label_type = label_type(env, labels, job.dtype, false, "labels");
    job.targets = labels.data;
    return job;
  }
  const ArrayView targets = array_property(plan, "targets", true);
  if (!targets.present) throw_type_error(env, "either labels or targets is required");
  job.kind = JobKind::kSoftmaxTargets;
  job.label_type = LabelType::kFloat;
  job.targets = optional_float_array(plan, "targets", job.dtype, logits.length);
  return job;
}

}  // namespace focal
