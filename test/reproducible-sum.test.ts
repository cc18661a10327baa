/**
 * The reproducible sum (lib/reduce/reproducible-sum.ts): its state and its value depend only on the
 * multiset of values added, checked against an exact reference (BigInt: every double is an integer
 * times 2^-1074; rounded by decimal.js, an independent implementation). The C++ twin is checked for the
 * same state bits in test/reproducible-sum-native.test.ts.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import DecimalImport from 'decimal.js';
import { ReproducibleSum, TOP_BIN, binOf, pow2, unitExponent } from '../lib/reduce/reproducible-sum.js';
import { readReproducibleSumState } from '../lib/reduce/reproducible-state.js';
import { mulberry32 } from './helpers.js';

const DBL_MAX = Number.MAX_VALUE;
const MIN_SUB = 5e-324;
const SEED = 20_261_202;

/** x as an exact integer count of 2^-1074. */
export function units(x: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exp = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const mag = exp === 0 ? frac : (frac | (1n << 52n)) << BigInt(exp - 1);
  return bits >> 63n ? -mag : mag;
}

// decimal.mjs's default export is the constructor (see test/reference.ts). 2000 digits: every product
// below is exact, and toNumber() then rounds once, correctly (through a decimal string).
const Decimal = (DecimalImport as unknown as typeof DecimalImport.Decimal).clone({ precision: 2000 });
const TWO_M1074 = new Decimal(2).pow(-1074);
/** n * 2^-1074 correctly rounded to a double. */
function roundUnits(n: bigint): number {
  return new Decimal(n.toString()).times(TWO_M1074).toNumber();
}

function sumOf(values: readonly number[]): ReproducibleSum {
  const acc = new ReproducibleSum();
  for (const x of values) acc.add(x);
  return acc;
}

/** The exact sum of the values, and the most the accumulator may drop (half a lowest-fold unit per value). */
function exact(values: readonly number[], acc: ReproducibleSum): { sum: bigint; drop: bigint } {
  const lowest = unitExponent(acc.index - 2) + 1074;
  return {
    sum: values.reduce((s, x) => s + units(x), 0n),
    drop: (BigInt(values.length) << BigInt(lowest)) / 2n,
  };
}

/** Asserts toDouble is the correctly rounded exact sum, up to what the folds may drop. */
function expectNearExact(values: readonly number[]): void {
  const acc = sumOf(values);
  const got = acc.toDouble();
  const { sum, drop } = exact(values, acc);
  if (drop === 0n || values.every((x) => units(x) % (drop * 2n) === 0n)) {
    expect(got).toBe(roundUnits(sum));
  } else {
    const lo = roundUnits(sum - drop);
    const hi = roundUnits(sum + drop);
    expect(got >= lo && got <= hi, `${got} in [${lo}, ${hi}]`).toBe(true);
  }
}

/** A double from a few kinds: any finite, near-equal magnitudes, subnormal, huge, integers. */
const anyDouble = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.double({ min: -1e3, max: 1e3, noNaN: true }),
  fc.double({ min: -1e-300, max: 1e-300, noNaN: true }),
  fc.double({ min: 1e300, max: DBL_MAX, noNaN: true }).map((x) => -x),
  fc.double({ min: 1e300, max: DBL_MAX, noNaN: true }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.constantFrom(0, -0, MIN_SUB, -MIN_SUB, DBL_MAX, -DBL_MAX, 2.2250738585072014e-308, 1, 2 ** 53 + 2),
);

/** A random order, a random cut into chunks and a random merge tree of the chunks' accumulators. */
function shuffledMerged(values: readonly number[], rng: () => number): ReproducibleSum {
  const order = values.slice();
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const parts: ReproducibleSum[] = [];
  let i = 0;
  while (i < order.length || parts.length === 0) {
    const n = Math.floor(rng() * (order.length - i + 1));
    parts.push(sumOf(order.slice(i, i + n)));
    i += n;
  }
  while (parts.length > 1) {
    const a = parts.splice(Math.floor(rng() * parts.length), 1)[0]!;
    const b = parts[Math.floor(rng() * parts.length)]!;
    if (rng() < 0.5) b.merge(a);
    else {
      a.merge(b);
      parts[parts.indexOf(b)] = a;
    }
  }
  return parts[0]!;
}

describe('reproducible sum: order-free', () => {
  it('the same multiset in any order, chunking and merge tree gives the same state and value', () => {
    fc.assert(
      fc.property(fc.array(anyDouble, { maxLength: 60 }), fc.integer(), (values, seed) => {
        const rng = mulberry32(seed);
        const one = sumOf(values);
        const state = one.state();
        for (let t = 0; t < 3; t++) {
          const other = shuffledMerged(values, rng);
          expect(other.state()).toStrictEqual(state);
          expect(Object.is(other.toDouble(), one.toDouble())).toBe(true);
        }
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('stays order-free past many renormalizations (thousands of values of one sign and mixed)', () => {
    const rng = mulberry32(SEED + 1);
    const values = Array.from({ length: 5000 }, (_, i) =>
      i % 3 === 0 ? rng() * 1e-3 : (rng() - 0.3) * 10 ** Math.floor(rng() * 20 - 10),
    );
    const state = sumOf(values).state();
    for (let t = 0; t < 3; t++) expect(shuffledMerged(values, rng).state()).toStrictEqual(state);
    expectNearExact(values);
  });

  it('a value half-way between two units of the lowest fold rounds the same in any order', () => {
    // c puts the top bin at 5, so the lowest fold is bin 3, of unit u. a = u/2 is a tie there: rounded
    // to even it would go down or up depending on whether b (one unit) came first.
    const u = pow2(unitExponent(3));
    const [a, b, c] = [u / 2, u, pow2(unitExponent(5) + 10)];
    expect(binOf(c)).toBe(5);
    const state = sumOf([c, a, b]).state();
    expect(sumOf([c, b, a]).state()).toStrictEqual(state);
    expect(sumOf([c, a, b, b, a]).state()).toStrictEqual(sumOf([c, b, a, a, b]).state());
  });
});

describe('reproducible sum: exact', () => {
  it('is the correctly rounded exact sum (within what the lowest fold drops)', () => {
    fc.assert(
      fc.property(fc.array(anyDouble, { maxLength: 40 }), (values) => expectNearExact(values)),
      { seed: SEED + 2, numRuns: 400 },
    );
  });

  it('values within 80 bits of each other are summed exactly, then rounded once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -(2 ** 50), max: 2 ** 50 }), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: -1074, max: 900 }),
        (ints, e) => {
          const values = ints.map((n) => n * pow2(e));
          expect(sumOf(values).toDouble()).toBe(roundUnits(values.reduce((s, x) => s + units(x), 0n)));
        },
      ),
      { seed: SEED + 3, numRuns: 300 },
    );
  });

  it('cancellation leaves exactly what is left', () => {
    expect(sumOf([1e16, 1, -1e16]).toDouble()).toBe(1);
    expect(sumOf([2 ** 60, 2 ** -20, -(2 ** 60), 3]).toDouble()).toBe(3 + 2 ** -20);
    expect(sumOf([0.1, 0.2, -0.3]).toDouble()).toBe(roundUnits(units(0.1) + units(0.2) - units(0.3)));
    expect(Object.is(sumOf([]).toDouble(), 0)).toBe(true);
    expect(Object.is(sumOf([-0]).toDouble(), 0)).toBe(true);
  });

  it('subnormals are summed exactly', () => {
    const values = [MIN_SUB, 3 * MIN_SUB, -MIN_SUB, 2.225e-308, 1e-310, -2e-315];
    expect(sumOf(values).toDouble()).toBe(roundUnits(values.reduce((s, x) => s + units(x), 0n)));
    expect(sumOf([MIN_SUB, MIN_SUB]).toDouble()).toBe(2 * MIN_SUB);
  });

  it('handles the top of the range: DBL_MAX in the top bin, overflow to Infinity', () => {
    expect(binOf(DBL_MAX)).toBe(TOP_BIN);
    expect(sumOf([DBL_MAX]).toDouble()).toBe(DBL_MAX);
    expect(sumOf([DBL_MAX, DBL_MAX, -DBL_MAX]).toDouble()).toBe(DBL_MAX);
    expect(sumOf([DBL_MAX, DBL_MAX]).toDouble()).toBe(Infinity);
    expect(sumOf([-DBL_MAX, -DBL_MAX]).toDouble()).toBe(-Infinity);
    expect(sumOf([DBL_MAX, -DBL_MAX / 2, 1e300]).toDouble()).toBe(
      roundUnits(units(DBL_MAX) - units(DBL_MAX / 2) + units(1e300)),
    );
    const big = [1e308, 1e308, -1e308, 8e307, 2 ** 1000, -(2 ** 990)];
    expect(sumOf(big).toDouble()).toBe(roundUnits(big.reduce((s, x) => s + units(x), 0n)));
    // Just below the rounding point to Infinity: DBL_MAX + half an ulp of it, minus a little.
    const ulp = 2 ** 971;
    expect(sumOf([DBL_MAX, ulp / 2]).toDouble()).toBe(Infinity);
    expect(sumOf([DBL_MAX, ulp / 2, -(2 ** 940)]).toDouble()).toBe(DBL_MAX);
  });

  it('non-finite values decide the result as an IEEE sum would, in any order', () => {
    expect(sumOf([1, Infinity, 2]).toDouble()).toBe(Infinity);
    expect(sumOf([-Infinity, 1]).toDouble()).toBe(-Infinity);
    expect(sumOf([Infinity, -Infinity]).toDouble()).toBeNaN();
    expect(sumOf([1, NaN]).toDouble()).toBeNaN();
    expect(sumOf([Infinity, 1]).state().nonFinite).toBe('Infinity');
    expect(sumOf([NaN, Infinity]).state()).toStrictEqual(sumOf([Infinity, NaN]).state());
  });
});

describe('reproducible sum: state', () => {
  it('round-trips through JSON and reads back to the same accumulator', () => {
    fc.assert(
      fc.property(fc.array(anyDouble, { maxLength: 30 }), fc.array(anyDouble, { maxLength: 30 }), (a, b) => {
        const acc = sumOf(a);
        const state = acc.state();
        const back = readReproducibleSumState(JSON.parse(JSON.stringify(state)), 'state');
        expect(back.state()).toStrictEqual(state);
        // And goes on as the original would.
        for (const x of b) {
          back.add(x);
          acc.add(x);
        }
        expect(back.state()).toStrictEqual(acc.state());
        expect(Object.is(back.toDouble(), sumOf([...a, ...b]).toDouble())).toBe(true);
      }),
      { seed: SEED + 4, numRuns: 200 },
    );
  });

  it('refuses states that are not one (untrusted JSON)', () => {
    const good = sumOf([1, 2, 3e100]).state();
    const bad = (change: Record<string, unknown>): unknown => ({ ...good, ...change });
    const read = (s: unknown) => () => readReproducibleSumState(s, 'state');
    expect(read(null)).toThrow(TypeError);
    expect(read([1, 2])).toThrow(TypeError);
    expect(read(bad({ version: 2 }))).toThrow(/version/);
    expect(read(bad({ index: 1 }))).toThrow(RangeError);
    expect(read(bad({ index: TOP_BIN + 1 }))).toThrow(RangeError);
    expect(read(bad({ index: 2.5 }))).toThrow(RangeError);
    expect(read(bad({ primaries: good.primaries.slice(0, 2) }))).toThrow(RangeError);
    expect(read(bad({ primaries: [NaN, ...good.primaries.slice(1)] }))).toThrow(RangeError);
    expect(read(bad({ primaries: [good.primaries[0]! * 1.2, ...good.primaries.slice(1)] }))).toThrow(RangeError);
    expect(read(bad({ primaries: 'x' }))).toThrow(TypeError);
    expect(read(bad({ carries: [0.5, 0, 0] }))).toThrow(RangeError);
    expect(read(bad({ carries: [2 ** 53, 0, 0] }))).toThrow(RangeError);
    expect(read(bad({ nonFinite: 'inf' }))).toThrow(RangeError);
    expect(read(bad({ extra: 1 }))).toThrow(TypeError);
    // Each property is read once: a getter that changes its answer cannot slip a bad value past the check.
    let reads = 0;
    const tricky = {
      ...good,
      get index() {
        reads++;
        return reads === 1 ? good.index : 99;
      },
    };
    expect(readReproducibleSumState(tricky, 'state').state()).toStrictEqual(good);
    expect(reads).toBe(1);
  });
});
