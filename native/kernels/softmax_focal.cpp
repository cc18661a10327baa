#include "softmax_focal.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "focal_math.hpp"
#include "parallel.hpp"
#include "../simd/simd.hpp"

namespace focal {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One sample's logits: class j is at z[j * stride].
template <typename T>
struct Row {
  const T* z;
  int64_t stride;
  int64_t classes;
  double at(int64_t j) const { return static_cast<double>(z[j * stride]); }
};

// The log-sum-exp of one sample in the form of docs/NUMERICS.md:
//   M = max_j z_j (at index m), rest = sum_{j != m} exp(z_j - M), S = 1 + rest.
struct SoftmaxStats {
  double max = 0.0;
  int64_t argmax = 0;
  double rest = 0.0;
  double log1p_rest = 0.0;
  bool has_nan = false;

  // z - M; a logit equal to the maximum (even an infinite one) is 0 away from it.
  double shifted(double z) const { return z == max ? 0.0 : z - max; }
  // log p_j = (z_j - M) - log1p(rest): accurate even when p_m rounds to 1.
  double log_p(double z) const { return shifted(z) - log1p_rest; }
  // q_j = 1 - p_j, never as a difference with 1: rest / S for the maximum, else the sum of the
  // other classes' probabilities (1 + rest - e_j) / S, where rest >= e_j term by term.
  double q(int64_t j, double e_j) const {
    return j == argmax ? rest / (1.0 + rest) : (1.0 + (rest - e_j)) / (1.0 + rest);
  }
  double p(double e_j) const { return e_j / (1.0 + rest); }
};

template <typename T>
SoftmaxStats softmax_stats(const Row<T>& row) {
  SoftmaxStats s;
  s.max = row.at(0);
  for (int64_t j = 0; j < row.classes; ++j) {
    const double z = row.at(j);
    if (std::isnan(z)) s.has_nan = true;
    if (z > s.max) {
      s.max = z;
      s.argmax = j;
    }
  }
  if (s.has_nan) return s;
  double rest = 0.0;
  for (int64_t j = 0; j < row.classes; ++j) {
    if (j != s.argmax) rest += std::exp(s.shifted(row.at(j)));
  }
  s.rest = rest;
  s.log1p_rest = std::log1p(rest);
  return s;
}

// The g_j of one soft-target sample, kept in double until the totals are known (one per thread).
double* scratch_for(int64_t classes) {
  thread_local std::vector<double> scratch;
  if (scratch.size() < static_cast<size_t>(classes)) scratch.resize(static_cast<size_t>(classes));
  return scratch.data();
}

// One soft-target sample's targets, read once from the caller's array (one per thread).
double* targets_for(int64_t classes) {
  thread_local std::vector<double> targets;
  if (targets.size() < static_cast<size_t>(classes)) targets.resize(static_cast<size_t>(classes));
  return targets.data();
}

// Private copies of the per-sample labels and weights: they are checked (and counted) in one pass
// and used in the next, so both passes must see the same values (read_once, kernel_types.hpp).
// Allocated before any parallel region (an allocation failure throws std::bad_alloc to the binding).
template <typename V>
std::unique_ptr<V[]> private_copy_of(const V* values, int64_t n) {
  return values ? std::unique_ptr<V[]>(new V[static_cast<size_t>(n)]) : nullptr;
}

template <typename T>
void fill_row(T* grad, const Row<T>& row, double value) {
  for (int64_t j = 0; j < row.classes; ++j) grad[j * row.stride] = static_cast<T>(value);
}

// Checks labels and weights of samples [begin, end) before anything is written, and counts the
// samples that are not ignored (the denominator of 'mean').
template <typename T, typename L>
KernelResult check_labels_and_weights(const L* labels, const T* weights, int64_t classes, int64_t ignore_index,
                                      int64_t begin, int64_t end) {
  KernelResult result;
  for (int64_t s = begin; s < end; ++s) {
    const int64_t y = static_cast<int64_t>(labels[s]);
    if (y == ignore_index) continue;
    if (y < 0 || y >= classes) {
      result.report(InputError::kLabel, s, static_cast<double>(y));
      break;
    }
    if (weights && !weight_is_valid(static_cast<double>(weights[s]))) {
      result.report(InputError::kWeight, s, static_cast<double>(weights[s]));
      break;
    }
    ++result.count;
  }
  return result;
}

template <typename T>
KernelResult check_weights(const T* weights, int64_t begin, int64_t end) {
  KernelResult result;
  for (int64_t s = begin; weights && s < end; ++s) {
    if (!weight_is_valid(static_cast<double>(weights[s]))) {
      result.report(InputError::kWeight, s, static_cast<double>(weights[s]));
      break;
    }
  }
  result.count = end - begin;
  return result;
}

// Where sample s = outer * inner_size + inner starts in the logits: outer * C * inner_size + inner.
inline int64_t sample_base(const SoftmaxShape& shape, int64_t s) {
  return (s / shape.inner) * shape.classes * shape.inner + s % shape.inner;
}

double gradient_scale(const SoftmaxOptions& o, int64_t count) {
  if (!o.grad_scale_by_count) return o.grad_scale;
  return count > 0 ? o.grad_scale / static_cast<double>(count) : 0.0;
}

// The first steps of every sample: a silenced one is 0 (even where its logits are NaN), and a NaN
// logit makes the loss and the gradient NaN. Returns true with the statistics in `s` when the sample
// is to be computed; otherwise writes its gradient (when not null), sets `loss` and returns false.
template <typename T>
bool start_sample(const Row<T>& row, bool silenced, T* grad, SoftmaxStats& s, double& loss) {
  if (silenced) {
    if (grad) fill_row(grad, row, 0.0);
    loss = 0.0;
    return false;
  }
  s = softmax_stats(row);
  if (s.has_nan) {
    if (grad) fill_row(grad, row, kNaN);
    loss = kNaN;
    return false;
  }
  return true;
}

// One sample with hard label y and weight a = alpha[y] * w (hard_label_probs and the functions
// after it in focal_math.hpp). Returns the loss; writes scale * gradient into grad (when not null).
template <typename T>
double hard_label_sample(const Row<T>& row, int64_t y, double a, double gamma, double scale, T* grad) {
  SoftmaxStats s;
  double done = 0.0;
  if (!start_sample(row, a == 0.0, grad, s, done)) return done;
  const double z_y = row.at(y);
  const double e_y = y == s.argmax ? 1.0 : std::exp(s.shifted(z_y));
  const HardLabelProbs pr = hard_label_probs(s.shifted(z_y), y == s.argmax, e_y, s.rest, s.log1p_rest);
  const double u = std::pow(pr.q_y, gamma);
  if (grad) {
    const HardLabelGrad g = hard_label_grad(a * u, gamma, pr);
    for (int64_t k = 0; k < row.classes; ++k) {
      const double g_k = k == y ? g.own : g.other * (std::exp(s.shifted(row.at(k))) * pr.inv_s);
      grad[k * row.stride] = static_cast<T>(scale * g_k);
    }
  }
  return hard_label_loss(a, u, pr.log_p_y);
}

// One sample with soft targets, w_j = t_j * alpha_j * weight (docs/NUMERICS.md, soft targets):
//   L = -sum_j w_j * q_j^gamma * log p_j
//   g_j = w_j * q_j^gamma * (gamma * p_j * log(p_j) / q_j - 1)
//   dL/dz_k = g_k - p_k * sum_j g_j = g_k * q_k - p_k * sum_{j != k} g_j
// The last form avoids the cancellation of g_k - p_k * g_k when p_k -> 1. The sum over the other
// classes is taken as (total - g_k), except for the class with the largest |g|, whose complement
// is accumulated separately: subtracting the dominant term from the total would lose its digits.
// `target(j)` returns the smoothed target of class j. Returns the loss.
template <typename T, typename Target>
double soft_target_sample(const Row<T>& row, const Target& target, const double* alpha, double alpha_scale,
                          double weight, double gamma, double scale, T* grad) {
  SoftmaxStats s;
  double done = 0.0;
  if (!start_sample(row, weight == 0.0, grad, s, done)) return done;  // a zero weight silences the sample
  double loss = 0.0;
  double total = 0.0;     // sum_j g_j
  int64_t dominant = -1;  // the class with the largest |g_j| so far...
  double dominant_g = 0.0;
  double others = 0.0;  // ...and the sum of all the other g_j
  double* g_of = grad ? scratch_for(row.classes) : nullptr;
  for (int64_t j = 0; j < row.classes; ++j) {
    const double w = target(j) * (alpha ? alpha[j] : alpha_scale) * weight;
    double g = 0.0;
    if (w != 0.0) {
      const double d = s.shifted(row.at(j));
      const double e = std::exp(d);
      const double p = s.p(e);
      const double log_p = d - s.log1p_rest;
      const double q = s.q(j, e);
      const double u = std::pow(q, gamma);
      loss -= w * u * log_p;
      g = w * u * (gamma * times_unless_zero(p, log_p_over_q(log_p, q)) - 1.0);
    }
    if (!grad) continue;
    g_of[j] = g;
    total += g;
    if (std::fabs(g) > std::fabs(dominant_g) || dominant < 0) {
      if (dominant >= 0) others += dominant_g;
      dominant = j;
      dominant_g = g;
    } else {
      others += g;
    }
  }
  if (grad) {
    for (int64_t k = 0; k < row.classes; ++k) {
      const double g = g_of[k];
      const double e = std::exp(s.shifted(row.at(k)));
      const double sum_others = k == dominant ? others : total - g;
      grad[k * row.stride] = static_cast<T>(scale * (g * s.q(k, e) - s.p(e) * sum_others));
    }
  }
  return loss;
}

}  // namespace

template <typename T, typename L>
KernelResult softmax_focal_loss_labels(const T* logits, const L* caller_labels, const T* caller_weights,
                                       const SoftmaxShape& shape, const SoftmaxOptions& o, T* loss_out, T* grad_out) {
  if (shape.samples() == 0) return KernelResult{};  // nothing to read, whatever the number of classes
  const int64_t C = shape.classes;
  const Blocks blocks(shape.samples(), C);
  const std::unique_ptr<L[]> label_copy = private_copy_of(caller_labels, shape.samples());
  const std::unique_ptr<T[]> weight_copy = private_copy_of(caller_weights, shape.samples());
  const L* const labels = label_copy.get();
  const T* const weights = weight_copy.get();
  const KernelResult checked = run_blocks(blocks, o.threads, [&](int64_t begin, int64_t end) {
    read_once(label_copy.get() + begin, caller_labels + begin, end - begin);
    if (weights) read_once(weight_copy.get() + begin, caller_weights + begin, end - begin);
    return check_labels_and_weights(labels, weights, C, o.ignore_index, begin, end);
  });
  if (checked.error != InputError::kNone) return checked;
  const double scale = gradient_scale(o, checked.count);
  const double smoothing = o.label_smoothing;
  if (shape.inner == 1 && smoothing == 0.0) {
    // Class last, hard labels: the vectorized kernel for the chosen instruction set.
    const SoftmaxLabelsBlockFn<T, L> block = softmax_labels_block_for<T, L>(resolve_simd_level(o.simd));
    KernelResult result = run_blocks(blocks, o.threads, [&](int64_t begin, int64_t end) {
      return block(logits, labels, weights, shape, o, scale, loss_out, grad_out, begin, end);
    });
    result.count = checked.count;
    return result;
  }
  KernelResult result = run_blocks(blocks, o.threads, [&](int64_t begin, int64_t end) {
    KernelResult part;
    repro::ReproBlockSum sum;
    repro::block_sum_init(sum);
    for (int64_t sample = begin; sample < end; ++sample) {
      const int64_t base = sample_base(shape, sample);
      const Row<T> row{logits + base, shape.inner, C};
      T* grad = grad_out ? grad_out + base : nullptr;
      const int64_t y = static_cast<int64_t>(labels[sample]);
      const double w = weights ? static_cast<double>(weights[sample]) : 1.0;
      double loss = 0.0;
      if (y == o.ignore_index) {
        if (grad) fill_row(grad, row, 0.0);
      } else if (smoothing == 0.0) {
        const double a = (o.alpha ? o.alpha[y] : o.alpha_scale) * w;
        loss = hard_label_sample(row, y, a, o.gamma, scale, grad);
      } else {
        // Label smoothing turns the hard label into the soft target (1 - s)*[j = y] + s/C.
        const auto target = [&](int64_t j) { return (j == y ? 1.0 - smoothing : 0.0) + smoothing / C; };
        loss = soft_target_sample(row, target, o.alpha, o.alpha_scale, w, o.gamma, scale, grad);
      }
      repro::block_sum_add(sum, loss);
      if (loss_out) loss_out[sample] = static_cast<T>(loss);
    }
    part.sum = repro::block_sum_finish(sum);
    return part;
  });
  result.count = checked.count;
  return result;
}

template <typename T>
KernelResult softmax_focal_loss_targets(const T* logits, const T* targets, const T* caller_weights,
                                        const SoftmaxShape& shape, const SoftmaxOptions& o, T* loss_out, T* grad_out) {
  if (shape.samples() == 0) return KernelResult{};
  const int64_t C = shape.classes;
  const Blocks blocks(shape.samples(), C);
  const std::unique_ptr<T[]> weight_copy = private_copy_of(caller_weights, shape.samples());
  const T* const weights = weight_copy.get();
  const KernelResult checked = run_blocks(blocks, o.threads, [&](int64_t begin, int64_t end) {
    if (weights) read_once(weight_copy.get() + begin, caller_weights + begin, end - begin);
    return check_weights(weights, begin, end);
  });
  if (checked.error != InputError::kNone) return checked;
  const double scale = gradient_scale(o, checked.count);
  const double smoothing = o.label_smoothing;
  KernelResult result = run_blocks(blocks, o.threads, [&](int64_t begin, int64_t end) {
    KernelResult part;
    repro::ReproBlockSum sum;
    repro::block_sum_init(sum);
    for (int64_t sample = begin; sample < end; ++sample) {
      const int64_t base = sample_base(shape, sample);
      // The sample's targets, read once, are checked before it is computed: a bad one stops the block.
      double* const t = targets_for(C);
      read_once_strided(t, targets + base, C, shape.inner);
      for (int64_t j = 0; j < C; ++j) {
        if (!target_is_valid(t[j])) part.report(InputError::kTarget, base + j * shape.inner, t[j]);
      }
      if (part.error != InputError::kNone) break;
      const Row<T> row{logits + base, shape.inner, C};
      const auto target = [&](int64_t j) { return t[j] * (1.0 - smoothing) + smoothing / C; };
      const double w = weights ? static_cast<double>(weights[sample]) : 1.0;
      const double loss = soft_target_sample(row, target, o.alpha, o.alpha_scale, w, o.gamma, scale,
                                             grad_out ? grad_out + base : nullptr);
      repro::block_sum_add(sum, loss);
      if (loss_out) loss_out[sample] = static_cast<T>(loss);
    }
    part.sum = repro::block_sum_finish(sum);
    return part;
  });
  result.count = checked.count;
  return result;
}

#define FOCAL_INSTANTIATE_LABELS(T, L)                                                                     \
  template KernelResult softmax_focal_loss_labels<T, L>(const T*, const L*, const T*, const SoftmaxShape&, \
                                                        const SoftmaxOptions&, T*, T*);
#define FOCAL_INSTANTIATE_LABELS_FOR(name, L) FOCAL_INSTANTIATE_LABELS(float, L) FOCAL_INSTANTIATE_LABELS(double, L)
#define FOCAL_INSTANTIATE_TARGETS(T)                                                                     \
  template KernelResult softmax_focal_loss_targets<T>(const T*, const T*, const T*, const SoftmaxShape&, \
                                                      const SoftmaxOptions&, T*, T*);
FOCAL_LABEL_TYPES(FOCAL_INSTANTIATE_LABELS_FOR)
FOCAL_INSTANTIATE_TARGETS(float)
FOCAL_INSTANTIATE_TARGETS(double)
#undef FOCAL_INSTANTIATE_TARGETS
#undef FOCAL_INSTANTIATE_LABELS_FOR
#undef FOCAL_INSTANTIATE_LABELS

}  // namespace focal
