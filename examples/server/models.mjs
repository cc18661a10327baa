/**
 * The models the example serves: each name is a URL (`POST /v1/models/<name>/loss`) and a running
 * total, with the loss options every batch of that model is computed with.
 */
export const MODELS = {
  /** A RetinaNet-style head: one sigmoid per anchor and class, the paper's gamma and alpha. */
  detector: { kind: 'sigmoid', gamma: 2, alpha: 0.25 },
  /** A 10-class classifier: logits [N, 10], one int32 label per sample, -100 = ignored. */
  classifier: { kind: 'softmax', numClasses: 10, gamma: 2, ignoreIndex: -100 },
};
