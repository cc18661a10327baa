/** Turns a bad element reported by a kernel into the caller's RangeError (with `index` set). */
import type { KernelInputError } from '../backends/contract.js';
import { rangeError } from './validate.js';

export interface ErrorContext {
  targetsAreIntegers?: boolean;
  /** What the caller called the targets argument ('targets' or 'labels'). */
  targetsName?: string;
  classes?: number;
  ignoreIndex?: number;
}

export function kernelInputError(error: KernelInputError, context: ErrorContext): RangeError {
  const { index, value } = error;
  const targets = context.targetsName ?? 'targets';
  switch (error.kind) {
    case 'target':
      return context.targetsAreIntegers
        ? rangeError('a label of 0 or 1', targets, value, index)
        : rangeError('a target in [0, 1]', targets, value, index);
    case 'weight':
      return rangeError('a finite weight >= 0', 'options.weights', value, index);
    case 'label':
      return rangeError(
        `a class in [0, ${context.classes}) or the ignoreIndex (${context.ignoreIndex})`,
        'labels',
        value,
        index,
      );
    case 'probability':
      return rangeError("a probability in [0, 1] (options.input is 'probabilities')", 'logits', value, index);
  }
}
