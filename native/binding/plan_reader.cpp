#include "plan_reader.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace focal {

void throw_type_error(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, "focal-loss (native): " + message);
}

const char* typed_array_name(napi_typedarray_type type) {
  switch (type) {
#define FOCAL_TYPED_ARRAY_NAME(napi_type, name, bytes) \
  case napi_type:                                      \
    return name;
    FOCAL_TYPED_ARRAYS(FOCAL_TYPED_ARRAY_NAME)
#undef FOCAL_TYPED_ARRAY_NAME
    default:
      return "typed array";
  }
}

size_t ArrayView::byte_length() const {
  switch (type) {
#define FOCAL_TYPED_ARRAY_BYTES(napi_type, name, bytes) \
  case napi_type:                                       \
    return length * bytes;
    FOCAL_TYPED_ARRAYS(FOCAL_TYPED_ARRAY_BYTES)
#undef FOCAL_TYPED_ARRAY_BYTES
    default:
      return length;
  }
}

std::string describe(Napi::Env env, napi_value value) {
  napi_valuetype kind;
  if (napi_typeof(env, value, &kind) != napi_ok) return "a value";
  switch (kind) {
    case napi_undefined:
      return "undefined";
    case napi_null:
      return "null";
    case napi_boolean: {
      bool b = false;
      napi_get_value_bool(env, value, &b);
      return b ? "true" : "false";
    }
    case napi_number: {
      double d = 0;
      napi_get_value_double(env, value, &d);
      char text[40];
      std::snprintf(text, sizeof text, "%.17g", d);
      return std::string("the number ") + text;
    }
    case napi_string:
      return "a string";
    case napi_symbol:
      return "a symbol";
    case napi_bigint:
      return "a bigint";
    case napi_function:
      return "a function";
    default:
      break;
  }
  bool is = false;
  if (napi_is_typedarray(env, value, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t length = 0;
    napi_get_typedarray_info(env, value, &type, &length, nullptr, nullptr, nullptr);
    return std::string("a ") + typed_array_name(type) + " of length " + std::to_string(length);
  }
  if (napi_is_dataview(env, value, &is) == napi_ok && is) return "a DataView";
  if (napi_is_array(env, value, &is) == napi_ok && is) return "an Array";
  if (napi_is_arraybuffer(env, value, &is) == napi_ok && is) return "an ArrayBuffer";
  return "an object";
}

namespace {

// A typed array's view from one napi_get_typedarray_info call, which fails (running no JavaScript)
// for any value that is not a typed array; false then.
bool view_of_typed_array(napi_env env, napi_value value, ArrayView& view) {
  size_t offset;
  view.present =
      napi_get_typedarray_info(env, value, &view.type, &view.length, &view.data, &view.buffer, &offset) == napi_ok;
  return view.present;
}

}  // namespace

// The slower checks (and the message, which needs `name`) only when the one call fails.
ArrayView typed_array(Napi::Env env, Napi::Value value, const char* name, bool nullable) {
  ArrayView view{};
  if (view_of_typed_array(env, value, view)) return view;
  if (nullable && (value.IsNull() || value.IsUndefined())) return {false, napi_float64_array, 0, nullptr, nullptr};
  if (!value.IsTypedArray()) {
    throw_type_error(env, std::string(name) + " must be a typed array" + (nullable ? " or null" : "") + ", received " +
                              describe(env, value));
  }
  throw_type_error(env, std::string("cannot read the typed array ") + name);
}

namespace {

// The values of a plan: the export's arguments, one per key, in the generated order (Key is the
// plan's key enum, plan_protocol.hpp). Values, not an object's properties: reading them runs no
// JavaScript, so nothing can detach or shrink a buffer while the plan is read.
template <typename Key, size_t N>
class PlanValues {
 public:
  PlanValues(const Napi::CallbackInfo& info, const char* kind, const char* const (&names)[N])
      : info_(info), names_(names) {
    if (info.Length() != N + 1) {
      std::string list;
      for (size_t i = 0; i < N; ++i) list += std::string(names[i]) + ", ";
      throw_type_error(info.Env(), std::string("expected the ") + std::to_string(N) + " values of a " + kind +
                                       " plan and a result array as arguments (" + list + "result), received " +
                                       std::to_string(info.Length()) + " argument(s)");
    }
  }

  Napi::Env Env() const { return info_.Env(); }
  Napi::Value Get(Key key) const { return info_[key]; }
  const char* Name(Key key) const { return names_[key]; }
  Napi::Value Result() const { return info_[N]; }

 private:
  const Napi::CallbackInfo& info_;
  const char* const (&names_)[N];
};

using SigmoidValues = PlanValues<sigmoid_plan::Key, sigmoid_plan::kKeyCount>;
using SoftmaxValues = PlanValues<softmax_plan::Key, softmax_plan::kKeyCount>;

std::string field(const char* name) {
  return std::string("plan.") + name;
}

template <typename Plan, typename Key>
std::string received(const Plan& plan, Key key) {
  return ", received " + describe(plan.Env(), plan.Get(key));
}

template <typename Plan, typename Key>
ArrayView array_property(const Plan& plan, Key key, bool nullable) {
  ArrayView view{};
  if (view_of_typed_array(plan.Env(), plan.Get(key), view)) return view;  // without building the name
  return typed_array(plan.Env(), plan.Get(key), field(plan.Name(key)).c_str(), nullable);
}

// Points the job's `role` pointer at a checked array (null when absent) and, when present, notes
// it among the arrays the job uses.
template <typename Plan, typename Key>
void use_array(ReadPlan& out, const Plan& plan, Key key, JobArray role, const ArrayView& view) {
  set_job_array(out.job, role, view.data);
  if (view.present) out.arrays.push_back(PlanArray{plan.Name(key), role, is_output(role), plan.Get(key), view});
}

template <typename Plan, typename Key>
double number_property(const Plan& plan, Key key) {
  double v = 0;
  if (napi_get_value_double(plan.Env(), plan.Get(key), &v) != napi_ok) {
    throw_type_error(plan.Env(), field(plan.Name(key)) + " must be a number" + received(plan, key));
  }
  return v;
}

template <typename Plan, typename Key>
bool bool_property(const Plan& plan, Key key) {
  bool v = false;
  if (napi_get_value_bool(plan.Env(), plan.Get(key), &v) != napi_ok) {
    throw_type_error(plan.Env(), field(plan.Name(key)) + " must be a boolean" + received(plan, key));
  }
  return v;
}

std::string integer_text(double v) {
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

// A whole number in its range (threads, shape dimensions, ignore index).
template <typename Plan, typename Key>
int64_t integer_property(const Plan& plan, Key key, IntegerRange range) {
  const double v = number_property(plan, key);
  if (!(v >= range.min && v <= range.max) || std::floor(v) != v) {
    throw_type_error(plan.Env(), field(plan.Name(key)) + " must be an integer in [" + integer_text(range.min) + ", " +
                                     integer_text(range.max) + "]" + received(plan, key));
  }
  return static_cast<int64_t>(v);
}

napi_typedarray_type float_type(DType dtype) {
  return dtype == DType::kFloat32 ? napi_float32_array : napi_float64_array;
}

// An optional array of the logits' float type with exactly `length` elements.
template <typename Plan, typename Key>
ArrayView optional_float_array(const Plan& plan, Key key, DType dtype, size_t length, const char* what) {
  const ArrayView view = array_property(plan, key, true);
  if (view.present && (view.type != float_type(dtype) || view.length != length)) {
    throw_type_error(plan.Env(), field(plan.Name(key)) + " must be null or a " + typed_array_name(float_type(dtype)) +
                                     " (the logits' type) of length " + std::to_string(length) + " (" + what + ")" +
                                     received(plan, key));
  }
  return view;
}

// The same, used by the job as `role`.
template <typename Plan, typename Key>
void use_optional_float_array(ReadPlan& out, const Plan& plan, Key key, JobArray role, size_t length,
                              const char* what) {
  use_array(out, plan, key, role, optional_float_array(plan, key, out.job.dtype, length, what));
}

template <typename Plan, typename Key>
LabelType label_type(const Plan& plan, const ArrayView& v, DType dtype, bool allow_float, Key key) {
  switch (v.type) {
#define FOCAL_LABEL_ARRAY_CASE(napi_type, label_type) \
  case napi_type:                                     \
    return LabelType::label_type;
    FOCAL_LABEL_ARRAYS(FOCAL_LABEL_ARRAY_CASE)
#undef FOCAL_LABEL_ARRAY_CASE
    default:
      if (allow_float && v.type == float_type(dtype)) return LabelType::kFloat;
      throw_type_error(plan.Env(), field(plan.Name(key)) + " must be " + kLabelArrayText +
                                       (allow_float ? std::string(" or a ") + typed_array_name(float_type(dtype)) +
                                                          " (the logits' type)"
                                                    : std::string()) +
                                       received(plan, key));
  }
}

// The logits, which decide the float type of everything else.
template <typename Plan, typename Key>
ArrayView read_logits(const Plan& plan, Key key, ReadPlan& out) {
  const ArrayView logits = array_property(plan, key, false);
  Job& job = out.job;
  if (logits.type == napi_float32_array)
    job.dtype = DType::kFloat32;
  else if (logits.type == napi_float64_array)
    job.dtype = DType::kFloat64;
  else
    throw_type_error(plan.Env(), "plan.logits must be a Float32Array or a Float64Array" + received(plan, key));
  job.n = static_cast<int64_t>(logits.length);
  use_array(out, plan, key, JobArray::kLogits, logits);
  return logits;
}

// The result array (the last argument), read after the plan: a Float64Array of the result slots.
template <typename Plan>
void read_result(const Plan& plan, ReadPlan& out) {
  ArrayView view{};
  if (!view_of_typed_array(plan.Env(), plan.Result(), view) || view.type != napi_float64_array ||
      view.length != result_slots::kSlotCount) {
    throw_type_error(plan.Env(), "result must be a Float64Array of length " +
                                     std::to_string(static_cast<int>(result_slots::kSlotCount)) + ", received " +
                                     describe(plan.Env(), plan.Result()));
  }
  out.result_array = plan.Result();
  out.result = static_cast<double*>(view.data);
}

}  // namespace

ReadPlan read_sigmoid_plan(const Napi::CallbackInfo& info) {
  using namespace sigmoid_plan;  // NOLINT(build/namespaces): the keys, kLogits...
  const SigmoidValues plan(info, "sigmoid", kKeys);
  Napi::Env env = plan.Env();
  ReadPlan out;
  out.arrays.reserve(5);
  Job& job = out.job;
  job.kind = JobKind::kSigmoid;
  const ArrayView logits = read_logits(plan, kLogits, out);
  const size_t n = logits.length;
  const ArrayView targets = array_property(plan, kTargets, false);
  if (targets.length != n) {
    throw_type_error(env, "plan.targets must have the logits' length " + std::to_string(n) + received(plan, kTargets));
  }
  job.label_type = label_type(plan, targets, job.dtype, true, kTargets);
  use_array(out, plan, kTargets, JobArray::kTargets, targets);
  use_optional_float_array(out, plan, kWeights, JobArray::kWeights, n, "one per element");
  use_optional_float_array(out, plan, kLossOut, JobArray::kLossOut, n, "one per element");
  use_optional_float_array(out, plan, kGradOut, JobArray::kGradOut, n, "one per element");

  SigmoidOptions& o = job.sigmoid;
  o.gamma = number_property(plan, kGamma);
  o.has_alpha = !plan.Get(kAlpha).IsNull();
  o.alpha = o.has_alpha ? number_property(plan, kAlpha) : 1.0;
  o.label_smoothing = number_property(plan, kLabelSmoothing);
  o.from_probabilities = bool_property(plan, kProbabilities);
  o.probability_epsilon = number_property(plan, kProbabilityEpsilon);
  o.grad_scale = number_property(plan, kGradScale);
  o.threads = static_cast<int>(integer_property(plan, kThreads, kThreadsRange));
  o.simd = static_cast<int>(integer_property(plan, kSimd, kSimdRange));
  read_result(plan, out);
  return out;
}

ReadPlan read_softmax_plan(const Napi::CallbackInfo& info) {
  using namespace softmax_plan;  // NOLINT(build/namespaces): the keys, kLogits...
  const SoftmaxValues plan(info, "softmax", kKeys);
  Napi::Env env = plan.Env();
  ReadPlan out;
  out.arrays.reserve(5);
  Job& job = out.job;
  const ArrayView logits = read_logits(plan, kLogits, out);
  SoftmaxShape& shape = job.shape;
  shape.outer = integer_property(plan, kOuter, kOuterRange);
  shape.classes = integer_property(plan, kClasses, kClassesRange);
  shape.inner = integer_property(plan, kInner, kInnerRange);  // 0: an empty batch
  const double product =
      static_cast<double>(shape.outer) * static_cast<double>(shape.classes) * static_cast<double>(shape.inner);
  if (product != static_cast<double>(logits.length)) {
    throw_type_error(env, "plan.outer * plan.classes * plan.inner (" + std::to_string(shape.outer) + " * " +
                              std::to_string(shape.classes) + " * " + std::to_string(shape.inner) +
                              ") must equal the length of plan.logits, " + std::to_string(logits.length));
  }
  const size_t samples = static_cast<size_t>(shape.samples());
  use_optional_float_array(out, plan, kWeights, JobArray::kWeights, samples, "one per sample");
  use_optional_float_array(out, plan, kLossOut, JobArray::kLossOut, samples, "one per sample");
  use_optional_float_array(out, plan, kGradOut, JobArray::kGradOut, logits.length, "like the logits");

  SoftmaxOptions& o = job.softmax;
  o.gamma = number_property(plan, kGamma);
  const ArrayView alpha = array_property(plan, kAlpha, true);
  if (alpha.present) {
    if (alpha.type != napi_float64_array || alpha.length != static_cast<size_t>(shape.classes)) {
      throw_type_error(env, "plan.alpha must be null or a Float64Array of length " + std::to_string(shape.classes) +
                                " (one weight per class)" + received(plan, kAlpha));
    }
    // Copied now, on the calling thread: the job never reads the caller's alpha again.
    const double* a = static_cast<const double*>(alpha.data);
    job.alpha.assign(a, a + alpha.length);
  }
  o.alpha_scale = number_property(plan, kAlphaScale);
  o.label_smoothing = number_property(plan, kLabelSmoothing);
  o.ignore_index = integer_property(plan, kIgnoreIndex, kIgnoreIndexRange);
  o.grad_scale = number_property(plan, kGradScale);
  o.grad_scale_by_count = bool_property(plan, kGradScaleByCount);
  o.threads = static_cast<int>(integer_property(plan, kThreads, kThreadsRange));
  o.simd = static_cast<int>(integer_property(plan, kSimd, kSimdRange));

  const ArrayView labels = array_property(plan, kLabels, true);
  if (labels.present) {
    if (labels.length != samples) {
      throw_type_error(env, "plan.labels must have one entry per sample (" + std::to_string(samples) + ")" +
                                received(plan, kLabels));
    }
    job.kind = JobKind::kSoftmaxLabels;
    job.label_type = label_type(plan, labels, job.dtype, false, kLabels);
    use_array(out, plan, kLabels, JobArray::kTargets, labels);
    read_result(plan, out);
    return out;
  }
  const ArrayView targets = array_property(plan, kTargets, true);
  if (!targets.present) throw_type_error(env, "plan.labels or plan.targets is required: both are null or undefined");
  job.kind = JobKind::kSoftmaxTargets;
  job.label_type = LabelType::kFloat;
  use_optional_float_array(out, plan, kTargets, JobArray::kTargets, logits.length, "like the logits");
  read_result(plan, out);
  return out;
}

}  // namespace focal
