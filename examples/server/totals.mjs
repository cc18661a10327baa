/**
 * The running total of each model: every batch's loss sum and count, added as the batches finish.
 *
 * This is the one place the server accumulates, so that the library's streaming meter can take its
 * place without touching the rest of the server. Until then it is a plain float64 sum: batches
 * finish in whatever order the thread pool completes them, and float addition is not associative,
 * so two runs with the same batches can differ in the last bits of `sum` (each batch's own loss is
 * exact to the library's contract; only the total depends on arrival order).
 */
export class RunningTotals {
  /** @type {Map<string, { sum: number, count: number, batches: number }>} */
  #totals = new Map();

  /**
   * @param {readonly string[]} models the model names, fixed when the server starts
   */
  constructor(models) {
    for (const name of models) this.#totals.set(name, { sum: 0, count: 0, batches: 0 });
  }

  /**
   * Adds one batch's loss sum over `count` elements (sigmoid) or non-ignored samples (softmax).
   *
   * @param {string} model
   * @param {number} sum
   * @param {number} count
   */
  add(model, sum, count) {
    const total = this.#totals.get(model);
    if (!total) throw new Error(`no model '${model}'`);
    total.sum += sum;
    total.count += count;
    total.batches += 1;
  }

  /**
   * The total of one model so far, with its mean (0 before anything counted, as the library's 'mean').
   *
   * @param {string} model
   */
  read(model) {
    const total = this.#totals.get(model);
    if (!total) throw new Error(`no model '${model}'`);
    return { ...total, mean: total.count > 0 ? total.sum / total.count : 0 };
  }
}
