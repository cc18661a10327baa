/**
 * Backpressure: at most `maxInFlight` batches are computed at once, and at most
 * `maxInFlight + maxQueued` requests are admitted at once (receiving their body, waiting, or
 * computing). A request beyond that is refused at once (503) before its body is read into memory.
 * So the memory the server holds for bodies is bounded by (maxInFlight + maxQueued) * maxBodyBytes,
 * and a burst makes clients retry rather than making every request slower.
 */
export class Gate {
  #admitted = 0;
  #computing = 0;
  /** @type {Array<() => void>} */
  #waiting = [];

  /**
   * @param {number} maxInFlight batches computed at once
   * @param {number} maxQueued admitted requests beyond those (receiving or waiting)
   */
  constructor(maxInFlight, maxQueued) {
    this.maxInFlight = maxInFlight;
    this.maxQueued = maxQueued;
  }

  /** Admits a request if there is room; false when the server is full. Every admitted request calls leave(). */
  tryAdmit() {
    if (this.#admitted >= this.maxInFlight + this.maxQueued) return false;
    this.#admitted++;
    return true;
  }

  /**
   * Resolves when an admitted request may compute; it then calls done() when its computation ends.
   *
   * @returns {Promise<void>}
   */
  turn() {
    if (this.#computing < this.maxInFlight) {
      this.#computing++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** The computation that turn() allowed has ended: the next waiting request computes. */
  done() {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#computing--;
  }

  /** An admitted request is over (answered, refused or aborted). */
  leave() {
    this.#admitted--;
  }

  /** For /stats. */
  get counts() {
    return { admitted: this.#admitted, computing: this.#computing, waiting: this.#waiting.length };
  }
}
