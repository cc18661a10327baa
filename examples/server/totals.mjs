/**
 * The running total of each model: one focal-loss meter per model, shared by all its requests.
 *
 * A batch is evaluated straight into its model's meter (`addAsync`), which returns the batch's own
 * result, so a request costs one computation. The meter's sums are reproducible: the total's bits do
 * not depend on the order in which the thread pool finishes the batches, and they equal one call over
 * all the batches' data.
 */
import { sigmoidFocalLossMeter, softmaxFocalLossMeter } from 'focal-loss';

export class RunningTotals {
  /** @type {Map<string, { meter: import('focal-loss').FocalLossMeter, batches: number }>} */
  #models = new Map();

  /**
   * @param {Map<string, { kind: 'sigmoid' | 'softmax' } & Record<string, unknown>>} models the models
   *   and their loss options, fixed when the server starts
   * @param {number} threads the `threads` of every computation
   */
  constructor(models, threads) {
    for (const [name, { kind, ...options }] of models) {
      const meterOptions = { ...options, threads, shard: name };
      const meter = kind === 'sigmoid' ? sigmoidFocalLossMeter(meterOptions) : softmaxFocalLossMeter(meterOptions);
      this.#models.set(name, { meter, batches: 0 });
    }
  }

  #model(name) {
    const model = this.#models.get(name);
    if (!model) throw new Error(`no model '${name}'`);
    return model;
  }

  /**
   * Evaluates one batch into its model's total; resolves to the batch's own `{ loss, sum, count,
   * crossEntropy }`. An aborted `signal` (the client went away) stops the work and adds nothing.
   *
   * @param {string} name
   * @param {Float32Array} logits
   * @param {Float32Array | Uint8Array | Int32Array} labels
   * @param {AbortSignal} signal
   */
  async add(name, logits, labels, signal) {
    const model = this.#model(name);
    const batch = await model.meter.addAsync(logits, labels, { signal });
    model.batches += 1;
    return batch;
  }

  /**
   * The total of one model so far: sum, count, mean (0 before anything counted, as the library's
   * 'mean'), mean cross-entropy, and the number of batches.
   *
   * @param {string} name
   */
  read(name) {
    const { meter, batches } = this.#model(name);
    const r = meter.result();
    return { sum: r.sum, count: r.count, batches, mean: r.loss, crossEntropy: r.crossEntropy };
  }
}
