/**
 * What a sigmoid meter needs to report per class and to leave targets out: the class of each element
 * of a chunk laid out [N, C, ...inner] (element i is in class (i / inner) % C, the column of an
 * [N, C] batch), and the elements whose target is the ignore index. The sigmoid loss function has
 * neither: a meter keeps them because cutting the ignored elements out of a chunk before adding it
 * would shift every later element into another column.
 */
import { conflictError, rangeError, readInteger, typeError } from '../facade/validate.js';

function readOptionalInteger(value: unknown, name: string, min: number): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number') throw typeError('an integer', name, value);
  if (!Number.isSafeInteger(value) || value < min) {
    throw rangeError(min > 0 ? 'a positive integer' : 'an integer', name, value);
  }
  return value;
}

/** The sigmoid meter's numClasses (needed by perClass, and only by it) and ignoreIndex, or null. */
export function readSigmoidGrouping(
  options: Record<string, unknown>,
  perClass: boolean,
): { numClasses: number | null; ignoreIndex: number | null } {
  const numClasses = readOptionalInteger(options.numClasses, 'options.numClasses', 1);
  if (perClass && numClasses === null) {
    throw typeError('a number of classes (perClass needs it)', 'options.numClasses', options.numClasses);
  }
  if (!perClass && numClasses !== null) {
    throw conflictError('options.numClasses', 'options.numClasses needs options.perClass: true');
  }
  return { numClasses, ignoreIndex: readOptionalInteger(options.ignoreIndex, 'options.ignoreIndex', -(2 ** 53)) };
}

/**
 * The `inner` of a chunk's layout, from the add options `shape` ([N, C, ...], read once into a list)
 * and `classAxis` (default 1), or [N, C] without a shape; checked as softmaxFocalLoss checks its own.
 * `length` is the number of logits, once they are read.
 */
export function readSigmoidLayout(
  shapeArg: unknown,
  classAxisArg: unknown,
  numClasses: number | null,
): (length: number) => number {
  if (numClasses === null) {
    if (shapeArg !== undefined) throw conflictError('options.shape', 'options.shape needs a meter with perClass: true');
    if (classAxisArg !== undefined) {
      throw conflictError('options.classAxis', 'options.classAxis needs a meter with perClass: true');
    }
    return () => 1;
  }
  if (shapeArg === undefined) {
    if (classAxisArg !== undefined) throw conflictError('options.classAxis', 'options.classAxis needs options.shape');
    return (length) => {
      if (length % numClasses !== 0) {
        throw rangeError(`a multiple of numClasses (${numClasses})`, 'the length of logits', length);
      }
      return 1;
    };
  }
  if (!Array.isArray(shapeArg)) throw typeError('an array of dimensions', 'options.shape', shapeArg);
  const n = shapeArg.length;
  const dims: number[] = [];
  for (let i = 0; i < n; i++) {
    const d: unknown = shapeArg[i];
    if (typeof d !== 'number') throw typeError('a non-negative integer', 'options.shape', d, i);
    if (!Number.isSafeInteger(d) || d < 0) throw rangeError('a non-negative integer', 'options.shape', d, i);
    dims.push(d);
  }
  if (n < 2) throw rangeError('at least 2 dimensions [N, C, ...]', 'options.shape', `[${dims.join(', ')}]`);
  const product = dims.reduce((a, d) => a * (d > 0 ? d : 1), 1);
  if (!Number.isSafeInteger(product)) {
    throw rangeError('dimensions whose product is at most 2^53 - 1', 'options.shape', `[${dims.join(', ')}]`);
  }
  const axisArg = readInteger(classAxisArg, 'options.classAxis', 1);
  if (axisArg < -n || axisArg >= n) throw rangeError(`an axis in [${-n}, ${n})`, 'options.classAxis', axisArg);
  const axis = axisArg < 0 ? axisArg + n : axisArg;
  if (dims[axis] !== numClasses) {
    throw conflictError(
      'options.shape',
      `options.shape[${axis}] (${dims[axis]}) differs from the meter's numClasses (${numClasses})`,
    );
  }
  const inner = dims.slice(axis + 1).reduce((a, d) => a * d, 1);
  const total = dims.reduce((a, d) => a * d, 1);
  return (length) => {
    if (length !== total) {
      throw rangeError(`logits of length ${total} (the product of options.shape)`, 'logits', length);
    }
    return inner;
  };
}

/**
 * Marks the elements whose target is the ignore index and gives them target 0, in `targets` (the
 * meter's own copy), so that the kernel computes something valid that the meter then leaves out.
 */
export function maskIgnored(targets: ArrayLike<number> & { [i: number]: number }, ignoreIndex: number): Uint8Array {
  const mask = new Uint8Array(targets.length);
  for (let i = 0; i < targets.length; i++) {
    if (targets[i] === ignoreIndex) {
      mask[i] = 1;
      targets[i] = 0;
    }
  }
  return mask;
}
