/**
 * Parsers of option values for commander. A bad value throws InvalidArgumentError, which commander
 * reports as "option '--gamma <list>' argument 'x' is invalid. <our reason>"; main.ts makes it exit 2.
 */
import { InvalidArgumentError } from 'commander';

function number(text: string, what: string): number {
  // Number('') is 0 and Number(' 1 ') is 1: refuse both, a typo should not become a value.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text.trim()) || text.trim() !== text) {
    throw new InvalidArgumentError(`Expected ${what}.`);
  }
  return Number(text);
}

/** gamma >= 0, finite. */
export function parseGamma(text: string): number {
  const v = number(text, 'a number >= 0');
  if (!(v >= 0) || !Number.isFinite(v)) throw new InvalidArgumentError('Expected a number >= 0.');
  return v;
}

/** A comma-separated list of gammas, e.g. 0,0.5,1,2,5. */
export function parseGammaList(text: string): number[] {
  const parts = text.split(',');
  if (parts.some((p) => p === '')) {
    throw new InvalidArgumentError('Expected comma-separated numbers >= 0, e.g. 0,0.5,1,2,5.');
  }
  return parts.map((p) => {
    const v = number(p, 'comma-separated numbers >= 0, e.g. 0,0.5,1,2,5');
    if (!(v >= 0) || !Number.isFinite(v)) throw new InvalidArgumentError(`Expected numbers >= 0, got ${p}.`);
    return v;
  });
}

/**
 * 'none', one number in [0, 1], or a comma-separated list (softmax per-class weights). 'none' stays a
 * string here: commander turns a parser's null into ''.
 */
export function parseAlpha(text: string): number | number[] | 'none' {
  if (text === 'none' || text === 'null') return 'none';
  const values = text.split(',').map((p) => {
    const v = number(p, "'none', a number in [0, 1], or comma-separated per-class numbers in [0, 1]");
    if (!(v >= 0 && v <= 1)) throw new InvalidArgumentError(`Expected numbers in [0, 1], got ${p}.`);
    return v;
  });
  return values.length === 1 && !text.includes(',') ? values[0]! : values;
}

/** A 32-bit signed integer, as label values are. */
export function parseInt32(text: string): number {
  const v = number(text, 'an integer');
  if (!Number.isInteger(v) || v < -(2 ** 31) || v > 2 ** 31 - 1) {
    throw new InvalidArgumentError('Expected a 32-bit integer.');
  }
  return v;
}

/** A positive integer (counts such as rows or digits). */
export function parsePositiveInt(text: string): number {
  const v = number(text, 'a positive integer');
  if (!Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError('Expected a positive integer.');
  return v;
}
