// One call of focal-loss's public API (native or JS fallback) on a data set, as a closure to time
// that returns the loss (for the cross-check).
// Forward: reduction 'mean', no output array. Forward + gradient: `gradient: true` with the
// preallocated `out: { grad }` buffer, so no allocation is timed.

/** Alpha for the sigmoid loss (focal-loss's and torchvision's default); softmax uses none. */
export const SIGMOID_ALPHA = 0.25;

export function focalCall(api, data, { gamma, gradient }, extra = {}) {
  const out = gradient ? { grad: data.grad } : undefined;
  if (data.size.kind === 'sigmoid') {
    const options = { gamma, alpha: SIGMOID_ALPHA, gradient, ...(out && { out }), ...extra };
    return () => api.sigmoidFocalLoss(data.logits, data.targets, options).loss;
  }
  const options = { numClasses: data.size.classes, gamma, gradient, ...(out && { out }), ...extra };
  return () => api.softmaxFocalLoss(data.logits, data.labels, options).loss;
}
