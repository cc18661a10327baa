// One call of focal-loss's public API (native or JS fallback) on a data set, as a closure to time
// that returns the loss (for the cross-check), or a promise of it for the async API.
// Forward: reduction 'mean', no output array. Forward + gradient: `gradient: true` with the
// preallocated `out: { grad }` buffer, so no allocation is timed, unless the variant says otherwise.

/** Alpha for the sigmoid loss (focal-loss's and torchvision's default); softmax uses none. */
export const SIGMOID_ALPHA = 0.25;

/**
 * The ways of calling that the targets compare (row id suffix, label, where it applies):
 * - out: the main call: float32 logits, Uint8 targets (sigmoid), the gradient into `out`;
 * - new: the default call, a new gradient array each time (its forward-only call is the main one's);
 * - f32t: float32 targets instead of Uint8 (sigmoid);
 * - f64: float64 logits and gradient (sigmoid), for the float64 kernels;
 * - sum: the main call with reduction 'sum' (the one-shot sum, whose reproducible summation issue 13
 *   added: timed in turns with the --sum-baseline checkout's same call).
 */
export const VARIANTS = {
  out: { suffix: '', label: '' },
  new: { suffix: '-new', label: ', new gradient array', gradientOnly: true },
  f32t: { suffix: '-f32t', label: ', float32 targets', sigmoidOnly: true },
  f64: { suffix: '-f64', label: ', float64 logits', sigmoidOnly: true },
  sum: { suffix: '-sum', label: ", reduction 'sum'", needsSumBaseline: true },
};

/** Does `variant` have a figure for this data set and column? */
export function variantApplies(variant, data, { gradient }) {
  const { gradientOnly, sigmoidOnly } = VARIANTS[variant];
  return !(gradientOnly && !gradient) && !(sigmoidOnly && data.size.kind !== 'sigmoid');
}

function inputsFor(data, gradient, variant) {
  const f64 = variant === 'f64';
  const grad = f64 ? data.gradF64 : data.grad;
  const out = gradient && variant !== 'new' ? { out: { grad } } : {};
  if (data.size.kind === 'sigmoid') {
    const logits = f64 ? data.logitsF64 : data.logits;
    return { logits, targets: variant === 'f32t' ? data.targetsF32 : data.targets, out };
  }
  return { logits: data.logits, targets: data.labels, out };
}

/** `extra`: more options (threads); `async`: call the *Async function (the closure returns a promise). */
export function focalCall(api, data, { gamma, gradient }, { extra = {}, variant = 'out', async = false } = {}) {
  const { logits, targets, out } = inputsFor(data, gradient, variant);
  const sigmoid = data.size.kind === 'sigmoid';
  const reduction = variant === 'sum' ? { reduction: 'sum' } : {};
  const options = sigmoid
    ? { gamma, alpha: SIGMOID_ALPHA, gradient, ...reduction, ...out, ...extra }
    : { numClasses: data.size.classes, gamma, gradient, ...reduction, ...out, ...extra };
  const name = `${sigmoid ? 'sigmoid' : 'softmax'}FocalLoss${async ? 'Async' : ''}`;
  const fn = api[name];
  if (async) return () => fn(logits, targets, options).then((r) => r.loss);
  return () => fn(logits, targets, options).loss;
}

/** The loss and a new gradient array of one call (for the gradient cross-check). */
export function lossAndGradient(api, data, { gamma }) {
  const { logits, targets } = inputsFor(data, true, 'new');
  const r =
    data.size.kind === 'sigmoid'
      ? api.sigmoidFocalLoss(logits, targets, { gamma, alpha: SIGMOID_ALPHA, gradient: true })
      : api.softmaxFocalLoss(logits, targets, { numClasses: data.size.classes, gamma, gradient: true });
  return { loss: r.loss, grad: r.grad };
}
