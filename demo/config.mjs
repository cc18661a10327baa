// The demo's whole configuration, fixed before any result was looked at (see docs/DEMO.md). Changing a
// number here changes the experiment: keep DEMO.md's configuration section in step with it.

/**
 * The data: "anchors" of a dense detector, reduced to 8 features each.
 *   x0        objectness: positives and hard negatives look like objects, easy negatives (background)
 *             do not, but the classes overlap in the tails;
 *   x1, x2    appearance: positives in a blob at the origin, hard negatives on a ring around it (near
 *             misses: shifted or partly overlapping boxes look like the object, slightly off), easy
 *             negatives spread widely;
 *   x3 .. x7  nuisance features, the same distribution for every kind, which the model must learn
 *             to ignore.
 * The proportions are those of one image in RetinaNet: a handful of positive anchors among
 * thousands, most of the rest plainly background.
 */
export const DISTRIBUTION = Object.freeze({
  features: 8,
  perThousand: Object.freeze({ positive: 1, hard: 10, easy: 989 }),
  objectness: Object.freeze({ object: 1.5, background: -2.5, sd: 1 }),
  positive: Object.freeze({ appearanceSd: 0.5 }),
  hard: Object.freeze({ ringRadius: 1.8, ringSd: 0.35 }),
  easy: Object.freeze({ appearanceSd: 2 }),
});

/**
 * The classifier and its training, identical for both runs: only the loss differs.
 * Adam makes "the same learning rate" a fair comparison: it rescales each parameter's step by
 * the gradient's running magnitude, so the focal loss's smaller overall scale (gamma 2 and
 * alpha 0.25 shrink it) does not by itself turn into a smaller step, as it would with plain SGD.
 * Each batch is a run of consecutive anchors (an "image", always the same anchors); the loss is
 * the sum over the batch divided by its number of positives, as in RetinaNet, for both runs.
 */
export const TRAINING = Object.freeze({
  hidden: 16,
  // RetinaNet's prior: the output bias starts at -log((1 - pi) / pi), so every anchor starts at
  // p = 0.01. Used for both runs: the paper found it stabilizes training for CE as well as FL.
  priorProbability: 0.01,
  // RetinaNet's init for the final layer's weights (Gaussian, sigma 0.01); He init for the hidden
  // layer, which stands in for the pretrained backbone's features.
  outputWeightSd: 0.01,
  learningRate: 0.005,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  batchSize: 10_000,
});

/** Dataset sizes and epochs: the full demo (1e6 training anchors) and the quick one used by the test. */
export const SIZES = Object.freeze({
  full: Object.freeze({ train: 1_000_000, test: 1_000_000, epochs: 12 }),
  quick: Object.freeze({ train: 200_000, test: 100_000, epochs: 6 }),
});

/** The two runs. CE is the library's loss at gamma 0 with no alpha: exactly the binary cross-entropy. */
export const RUNS = Object.freeze([
  Object.freeze({ key: 'ce', name: 'cross-entropy', short: 'CE (γ=0, α=none)', gamma: 0, alpha: null }),
  Object.freeze({ key: 'focal', name: 'focal loss', short: 'focal (γ=2, α=0.25)', gamma: 2, alpha: 0.25 }),
]);

/** p >= 0.5, i.e. logit >= 0: the threshold for precision and recall. */
export const THRESHOLD_LOGIT = 0;

export const DEFAULT_SEED = 1;
