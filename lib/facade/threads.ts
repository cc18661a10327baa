/** The per-call `threads` option: how many threads the native kernels may use. */
import { MAX_THREADS } from '../backends/protocol.js';
import { numThreadsSetting } from '../environment.js';
import { rangeError, typeError } from './validate.js';

/** The option; when absent, FOCAL_LOSS_NUM_THREADS or the number of cores (lib/environment.ts). */
export function readThreads(value: unknown): number {
  if (value === undefined) return numThreadsSetting();
  if (typeof value !== 'number') throw typeError(`an integer in [1, ${MAX_THREADS}]`, 'options.threads', value);
  if (!Number.isInteger(value) || value < 1 || value > MAX_THREADS) {
    throw rangeError(`an integer in [1, ${MAX_THREADS}]`, 'options.threads', value);
  }
  return value;
}
