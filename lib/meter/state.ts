/**
 * A meter's state as plain JSON: versioned, exact (every number is a double or a safe integer,
 * which JSON.stringify and JSON.parse keep to the bit), and checked when it comes back. A state
 * from outside (another process, another machine, a file) is untrusted: every property is read
 * once, checked, and only the checked values are used; anything that is not a state this version
 * wrote is a TypeError or RangeError naming the property.
 */
import { readReproducibleSumState } from '../reduce/reproducible-state.js';
import type { ReproducibleSumState } from '../reduce/reproducible-sum.js';
import { conflictError, rangeError, typeError } from '../facade/validate.js';
import type { ClassTotals, Totals } from './totals.js';

export const METER_STATE_FORMAT = 'focal-loss-meter';
export const METER_STATE_VERSION = 1;
/** The longest shard name: names are for humans and logs, not for data. */
export const MAX_SHARD_LENGTH = 1024;

/** The options that decide every element's loss: two meters merge only when theirs are equal. */
export interface SigmoidIdentity {
  gamma: number;
  alpha: number | null;
  labelSmoothing: number;
  input: 'logits' | 'probabilities';
  /** With perClass: the classes C of the layout [N, C, ...]; otherwise null. */
  numClasses: number | null;
  /** Elements whose target is this value count nowhere; null: none. */
  ignoreIndex: number | null;
  perClass: boolean;
}

export interface SoftmaxIdentity {
  numClasses: number;
  gamma: number;
  alpha: number | number[] | null;
  ignoreIndex: number;
  labelSmoothing: number;
  perClass: boolean;
}

export type MeterKind = 'sigmoid' | 'softmax';

/** The options of each kind's identity, as a state's `options` holds them (the meters take these, and more). */
export const IDENTITY_KEYS = {
  sigmoid: ['gamma', 'alpha', 'labelSmoothing', 'input', 'numClasses', 'ignoreIndex', 'perClass'],
  softmax: ['numClasses', 'gamma', 'alpha', 'ignoreIndex', 'labelSmoothing', 'perClass'],
} as const;
export type Identity = SigmoidIdentity | SoftmaxIdentity;

export interface ClassState {
  count: number;
  sum: ReproducibleSumState;
  crossEntropy: ReproducibleSumState;
}

/** The JSON form of a meter (what `state()` returns and `fromState` / `merge` take). */
export interface FocalLossMeterState {
  format: typeof METER_STATE_FORMAT;
  version: typeof METER_STATE_VERSION;
  loss: MeterKind;
  options: Identity;
  /** The shards whose data is in the state, sorted. */
  shards: string[];
  count: number;
  sum: ReproducibleSumState;
  crossEntropy: ReproducibleSumState;
  perClass: ClassState[] | null;
}

export function writeState(kind: MeterKind, identity: Identity, totals: Totals): FocalLossMeterState {
  const options = { ...identity };
  if (Array.isArray(options.alpha)) options.alpha = options.alpha.slice();
  return {
    format: METER_STATE_FORMAT,
    version: METER_STATE_VERSION,
    loss: kind,
    options,
    shards: [...totals.shards].sort(),
    count: totals.count,
    sum: totals.sum.state(),
    crossEntropy: totals.crossEntropy.state(),
    perClass:
      totals.perClass?.map((c) => ({ count: c.count, sum: c.sum.state(), crossEntropy: c.crossEntropy.state() })) ??
      null,
  };
}

// ---------------------------------------------------------------------------------------------
// Reading a state from outside

/** An object's own properties `keys`, each read once; any other own property is an error. */
function readRecord(value: unknown, name: string, keys: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw typeError('an object', name, value);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key))
      throw typeError(`an object with only the keys ${keys.join(', ')}`, `${name}.${key}`, value);
  }
  const record: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of keys) record[key] = (value as Record<string, unknown>)[key];
  return record;
}

/** A plain array read once (its length, then each entry) into a new array. */
function readList(value: unknown, name: string, length?: number): unknown[] {
  if (!Array.isArray(value)) throw typeError('an array', name, value);
  const n = value.length;
  if (length !== undefined && n !== length) throw rangeError(`an array of ${length} entries`, name, value);
  const copy: unknown[] = [];
  for (let i = 0; i < n; i++) copy.push(value[i]);
  return copy;
}

function readCount(value: unknown, name: string): number {
  if (typeof value !== 'number') throw typeError('a count', name, value);
  if (!Number.isSafeInteger(value) || value < 0) throw rangeError('a non-negative safe integer', name, value);
  return value;
}

function readNumberIn(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw typeError('a number', name, value);
  if (!(value >= min && value <= max) || !Number.isFinite(value))
    throw rangeError(`a number in [${min}, ${max}]`, name, value);
  return value;
}

export function readShard(value: unknown, name: string): string {
  if (typeof value !== 'string') throw typeError('a shard name (a string)', name, value);
  if (value.length === 0 || value.length > MAX_SHARD_LENGTH) {
    throw rangeError(`a string of 1 to ${MAX_SHARD_LENGTH} characters`, name, value);
  }
  return value;
}

function readPositiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw rangeError('a positive integer', name, value);
  }
  return value;
}

function readInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw rangeError('an integer', name, value);
  return value;
}

function readIdentity(kind: MeterKind, value: unknown, name: string): Identity {
  if (kind === 'sigmoid') {
    const o = readRecord(value, name, IDENTITY_KEYS.sigmoid);
    const alpha = o.alpha === null ? null : readNumberIn(o.alpha, `${name}.alpha`, 0, 1);
    if (o.input !== 'logits' && o.input !== 'probabilities') {
      throw rangeError("'logits' or 'probabilities'", `${name}.input`, o.input);
    }
    if (typeof o.perClass !== 'boolean') throw typeError('a boolean', `${name}.perClass`, o.perClass);
    // numClasses is there exactly when perClass is (as the meter's options have it).
    const numClasses = o.perClass ? readPositiveInteger(o.numClasses, `${name}.numClasses`) : o.numClasses;
    if (!o.perClass && numClasses !== null) {
      throw typeError('null (perClass is false)', `${name}.numClasses`, numClasses);
    }
    const ignoreIndex = o.ignoreIndex === null ? null : readInteger(o.ignoreIndex, `${name}.ignoreIndex`);
    return {
      gamma: readNumberIn(o.gamma, `${name}.gamma`, 0, Number.MAX_VALUE),
      alpha,
      labelSmoothing: readNumberIn(o.labelSmoothing, `${name}.labelSmoothing`, 0, 1),
      input: o.input,
      numClasses: numClasses as number | null,
      ignoreIndex,
      perClass: o.perClass,
    };
  }
  const o = readRecord(value, name, IDENTITY_KEYS.softmax);
  const numClasses = readPositiveInteger(o.numClasses, `${name}.numClasses`);
  let alpha: number | number[] | null = null;
  if (typeof o.alpha === 'number') alpha = readNumberIn(o.alpha, `${name}.alpha`, 0, 1);
  else if (o.alpha !== null) {
    alpha = readList(o.alpha, `${name}.alpha`, numClasses).map((a, c) => {
      if (typeof a !== 'number') throw typeError('a number', `${name}.alpha`, a, c);
      if (!(a >= 0 && a <= 1)) throw rangeError('a number in [0, 1]', `${name}.alpha`, a, c);
      return a;
    });
  }
  const ignoreIndex = readInteger(o.ignoreIndex, `${name}.ignoreIndex`);
  if (typeof o.perClass !== 'boolean') throw typeError('a boolean', `${name}.perClass`, o.perClass);
  return {
    numClasses,
    gamma: readNumberIn(o.gamma, `${name}.gamma`, 0, Number.MAX_VALUE),
    alpha,
    ignoreIndex,
    labelSmoothing: readNumberIn(o.labelSmoothing, `${name}.labelSmoothing`, 0, 1),
    perClass: o.perClass,
  };
}

function readClass(value: unknown, name: string): ClassTotals {
  const o = readRecord(value, name, ['count', 'sum', 'crossEntropy']);
  return {
    count: readCount(o.count, `${name}.count`),
    sum: readReproducibleSumState(o.sum, `${name}.sum`),
    crossEntropy: readReproducibleSumState(o.crossEntropy, `${name}.crossEntropy`),
  };
}

/** A state from outside, checked; `name` is the argument as errors name it. */
export function readState(value: unknown, name: string): { kind: MeterKind; identity: Identity; totals: Totals } {
  const o = readRecord(value, name, [
    'format',
    'version',
    'loss',
    'options',
    'shards',
    'count',
    'sum',
    'crossEntropy',
    'perClass',
  ]);
  if (o.format !== METER_STATE_FORMAT) throw rangeError(`'${METER_STATE_FORMAT}'`, `${name}.format`, o.format);
  if (o.version !== METER_STATE_VERSION)
    throw rangeError(`version ${METER_STATE_VERSION}`, `${name}.version`, o.version);
  if (o.loss !== 'sigmoid' && o.loss !== 'softmax') throw rangeError("'sigmoid' or 'softmax'", `${name}.loss`, o.loss);
  const kind = o.loss;
  const identity = readIdentity(kind, o.options, `${name}.options`);
  const shardList = readList(o.shards, `${name}.shards`).map((s, i) => readShard(s, `${name}.shards[${i}]`));
  const shards = new Set(shardList);
  if (shards.size !== shardList.length) throw rangeError('distinct shard names', `${name}.shards`, o.shards);
  if (shards.size === 0) throw rangeError('at least one shard name', `${name}.shards`, o.shards);
  const totals: Totals = {
    shards,
    count: readCount(o.count, `${name}.count`),
    sum: readReproducibleSumState(o.sum, `${name}.sum`),
    crossEntropy: readReproducibleSumState(o.crossEntropy, `${name}.crossEntropy`),
    perClass: null,
  };
  const keepsClasses = identity.perClass;
  if (!keepsClasses) {
    if (o.perClass !== null)
      throw typeError('null (the meter keeps no per-class totals)', `${name}.perClass`, o.perClass);
    return { kind, identity, totals };
  }
  const classes = identity.numClasses!;
  totals.perClass = readList(o.perClass, `${name}.perClass`, classes).map((c, i) =>
    readClass(c, `${name}.perClass[${i}]`),
  );
  // Every counted element or sample has a class: a state whose class counts do not add up to its
  // count was not written by a meter. (The sums are not compared: the totals are the kernels' sums
  // of the losses as computed, the classes' the sums of the losses as returned, which for float32
  // are rounded to float32 first.)
  const count = totals.perClass.reduce((n, c) => n + c.count, 0);
  if (count !== totals.count) {
    throw conflictError(`${name}.perClass`, `${name}.perClass does not add up to ${name}'s count`);
  }
  return { kind, identity, totals };
}
