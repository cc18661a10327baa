/** How many threads the native kernels use by default, and the per-call `threads` option. */
import { availableParallelism } from 'node:os';
import { rangeError, typeError } from './validate.js';

export const MAX_THREADS = 1024;

/** FOCAL_LOSS_NUM_THREADS when set (a positive integer), else the number of cores. */
export function threadsFromEnvironment(value = process.env.FOCAL_LOSS_NUM_THREADS): number {
  if (value === undefined || value === '') return availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new Error(`focal-loss: FOCAL_LOSS_NUM_THREADS must be an integer in [1, ${MAX_THREADS}], but is '${value}'`);
  }
  return n;
}

export const defaultThreads = threadsFromEnvironment();

export function readThreads(value: unknown): number {
  if (value === undefined) return defaultThreads;
  if (typeof value !== 'number') throw typeError(`an integer in [1, ${MAX_THREADS}]`, 'options.threads', value);
  if (!Number.isInteger(value) || value < 1 || value > MAX_THREADS) {
    throw rangeError(`an integer in [1, ${MAX_THREADS}]`, 'options.threads', value);
  }
  return value;
}
