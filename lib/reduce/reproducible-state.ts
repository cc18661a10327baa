/**
 * Reads a reproducible sum's state that came from outside (JSON from another process or machine):
 * every property is read once, checked, and only the checked values are used. A state that is not
 * one this version wrote, in canonical form, is refused with a TypeError or RangeError naming what
 * was wrong: a state out of canonical form would still sum, but its bits would no longer identify
 * its value, and a merge of it would not be order-free.
 */
import { rangeError, typeError } from '../facade/validate.js';
import { REPRO_FOLDS, REPRO_STATE_VERSION } from '../backends/protocol.js';
import { MIN_INDEX, ReproducibleSum, type ReproducibleSumState, TOP_BIN, storedU } from './reproducible-sum.js';

const KEYS = ['version', 'index', 'primaries', 'carries', 'nonFinite'] as const;
const NON_FINITE = { Infinity: Infinity, '-Infinity': -Infinity, NaN: NaN } as const;

function readArray(value: unknown, name: string): unknown[] {
  if (!Array.isArray(value)) throw typeError(`an array of ${REPRO_FOLDS} numbers`, name, value);
  const length = value.length;
  if (length !== REPRO_FOLDS) throw rangeError(`an array of ${REPRO_FOLDS} numbers`, name, value);
  const out: unknown[] = [];
  for (let k = 0; k < length; k++) out.push(value[k]);
  return out;
}

/** The accumulator a state stands for; `name` is the argument as errors name it. */
export function readReproducibleSumState(value: unknown, name: string): ReproducibleSum {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw typeError('a reproducible sum state (a plain object)', name, value);
  }
  for (const key of Object.keys(value)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw typeError(
        `a state with only ${KEYS.join(', ')}`,
        `${name}.${key}`,
        (value as Record<string, unknown>)[key],
      );
    }
  }
  const raw = value as Record<keyof ReproducibleSumState, unknown>;
  const version = raw.version;
  const index = raw.index;
  const primaries = raw.primaries;
  const carries = raw.carries;
  const nonFinite = raw.nonFinite;

  if (typeof version !== 'number') throw typeError('a number', `${name}.version`, version);
  if (version !== REPRO_STATE_VERSION)
    throw rangeError(`state version ${REPRO_STATE_VERSION}`, `${name}.version`, version);
  if (typeof index !== 'number') throw typeError('a number', `${name}.index`, index);
  if (!Number.isInteger(index) || index < MIN_INDEX || index > TOP_BIN) {
    throw rangeError(`an integer from ${MIN_INDEX} to ${TOP_BIN}`, `${name}.index`, index);
  }
  const P = readArray(primaries, `${name}.primaries`);
  const c = readArray(carries, `${name}.carries`);
  const acc = new ReproducibleSum();
  acc.index = index;
  for (let k = 0; k < REPRO_FOLDS; k++) {
    const p = P[k];
    const U = storedU(index - k);
    if (typeof p !== 'number') throw typeError('a number', `${name}.primaries`, p, k);
    // The canonical range (ReproducibleSum.renormalize); NaN fails it too.
    if (!(p >= 1.375 * U && p < 1.625 * U)) {
      throw rangeError(`a canonical primary in [${1.375 * U}, ${1.625 * U})`, `${name}.primaries`, p, k);
    }
    const carry = c[k];
    if (typeof carry !== 'number') throw typeError('a number', `${name}.carries`, carry, k);
    if (!Number.isSafeInteger(carry)) throw rangeError('a safe integer', `${name}.carries`, carry, k);
    acc.setFold(k, p, carry + 0); // -0 from JSON is the carry 0
  }
  if (nonFinite !== null) {
    if (typeof nonFinite !== 'string' || !Object.hasOwn(NON_FINITE, nonFinite)) {
      throw rangeError("null, 'Infinity', '-Infinity' or 'NaN'", `${name}.nonFinite`, nonFinite);
    }
    acc.nonFinite = NON_FINITE[nonFinite as keyof typeof NON_FINITE];
  }
  return acc;
}
