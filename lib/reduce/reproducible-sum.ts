/**
 * A sum of doubles whose bits depend only on the multiset of the values added: not on their order,
 * on how they were cut into chunks, or on the tree in which partial sums were merged. The JS twin
 * of native/reduce/reproducible_sum.hpp (the same algorithm, the same state bits); docs/NUMERICS.md
 * ("Reproducible sums") gives the design and why it is exact.
 *
 * A fixed global grid of bins, REPRO_BIN_WIDTH bits wide: bin b has unit u_b = 2^(-1074 + W*b).
 * The accumulator keeps REPRO_FOLDS consecutive bins, the top one (the index) chosen from the largest
 * |x| seen. Fold k (bin index - k) is a primary P_k, kept near 1.5 U_k (U_k = 2^52 u_k), and a carry
 * c_k in units of U_k / 4; its value is (P_k - 1.5 U_k) + c_k U_k / 4. Adding x to P_k rounds x to a
 * multiple of u_k (the slice of x in bin k, exact in P_k); the rest goes on to the next fold, and
 * what is left below the last fold is dropped. The slices depend only on x and the grid, so every
 * fold is an exact sum of per-element numbers, and exact sums do not depend on order.
 */
import { REPRO_BIN_WIDTH, REPRO_FOLDS, REPRO_RENORM_INTERVAL, REPRO_STATE_VERSION } from '../backends/protocol.js';

const W = REPRO_BIN_WIDTH;
const K = REPRO_FOLDS;
// The accumulator keeps its folds in fields (as the C++ lane loop is written for three folds).
if (K !== 3) throw new Error('lib/reduce/reproducible-sum.ts is written for 3 folds (native/protocol.json)');

/** 2^e for e in [-1074, 1023], built from its bits (exact, whatever Math.pow does). */
export function pow2(e: number): number {
  const bits = new BigUint64Array(1);
  bits[0] = e >= -1022 ? BigInt(e + 1023) << 52n : 1n << BigInt(e + 1074);
  return new Float64Array(bits.buffer)[0]!;
}

/**
 * x * 2^e for e in [-1074, 2046], exact whenever the result is a double (for e > 1023 in two steps,
 * the first exact when |x| * 2^1023 is finite: for |x| >= 1 the result overflows either way).
 */
function scale(x: number, e: number): number {
  return e > 1023 ? x * pow2(1023) * pow2(e - 1023) : x * pow2(e);
}

/** The bins of the grid: 0 (unit 2^-1074, the smallest subnormal) to TOP_BIN (it holds |x| up to DBL_MAX). */
export const MIN_INDEX = K - 1;
/** The smallest bin b with 2^(-1074 + W*b + W - 1) > DBL_MAX. */
export const TOP_BIN = Math.ceil((1023 + 1076) / W) - 1;

/** The unit of bin b: 2^UNIT_EXP[b]. */
const UNIT_EXP: number[] = [];
/**
 * The exponent a bin's primary is stored at: its unit's, lowered by W where 2 U would overflow
 * (the top bin: its primary and its deposits are held times 2^-W; the values they stand for are not).
 */
const STORED_EXP: number[] = [];
/** U of bin b as stored (2^52 times its stored unit). */
const STORED_U: number[] = [];
/** |x| below LIMIT[b] belongs in bin b or lower: 2^(u_b exponent + W - 1); Infinity for the top bin. */
const LIMIT: number[] = [];
for (let b = 0; b <= TOP_BIN; b++) {
  const e = -1074 + W * b;
  UNIT_EXP.push(e);
  const stored = e + 53 > 1023 ? e - W : e;
  STORED_EXP.push(stored);
  STORED_U.push(pow2(stored + 52));
  LIMIT.push(b === TOP_BIN ? Infinity : pow2(e + W - 1));
}
/**
 * Per index, half the unit of each of its folds (top first), the size of a tie there; Infinity for
 * bin 0, where every double is a whole number of units (no ties). The top bin is not used (odd()).
 */
const HALF_UNIT: number[][] = [];
for (let i = 0; i <= TOP_BIN; i++) {
  HALF_UNIT.push(Array.from({ length: K }, (_, k) => (i - k > 0 ? pow2(UNIT_EXP[i - k]! - 1) : Infinity)));
}
/** How far the top bin's stored values are scaled down. */
const TOP_SCALE = UNIT_EXP[TOP_BIN]! - STORED_EXP[TOP_BIN]!;

export function unitExponent(bin: number): number {
  return UNIT_EXP[bin]!;
}
export function storedU(bin: number): number {
  return STORED_U[bin]!;
}

/** The lowest bin whose limit is above |x| (|x| finite). */
export function binOf(x: number): number {
  const a = Math.abs(x);
  let b = MIN_INDEX;
  while (a >= LIMIT[b]!) b++;
  return b;
}

// x with its lowest mantissa bit set: deposited so, x is never exactly half-way between two multiples
// of a fold's unit, so round-to-nearest-even never looks at the primary's last bit (which depends on
// order). Every |x| deposited is below 2^-13 U of its fold, so this moves it by far less than u/2.
const TIE_F64 = new Float64Array(1);
const TIE_U32 = new Uint32Array(TIE_F64.buffer);
const LOW_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;
function odd(x: number): number {
  TIE_F64[0] = x;
  TIE_U32[LOW_WORD]! |= 1;
  return TIE_F64[0];
}

/** The canonical, plain form of an accumulator (lib/reduce/reproducible-state.ts reads it back). */
export interface ReproducibleSumState {
  version: number;
  /** The top bin. */
  index: number;
  /** P_k of the folds, top first, canonical: in [1.375, 1.625) U_k. */
  primaries: number[];
  /** c_k, safe integers. */
  carries: number[];
  /** The IEEE sum of the non-finite values added (they decide the result), or null if none was. */
  nonFinite: null | 'Infinity' | '-Infinity' | 'NaN';
}

export class ReproducibleSum {
  /** The top bin; folds are bins index, index - 1 and index - 2. */
  index = MIN_INDEX;
  // The folds, top first, as fields (the hot path of the JS kernels): P_k and c_k.
  private p0: number;
  private p1: number;
  private p2: number;
  private c0 = 0;
  private c1 = 0;
  private c2 = 0;
  /** 0, or the IEEE sum of the non-finite values added. */
  nonFinite = 0;
  /** Deposits since the last renormalization. */
  private pending = 0;

  constructor() {
    this.p0 = 1.5 * STORED_U[MIN_INDEX]!;
    this.p1 = 1.5 * STORED_U[MIN_INDEX - 1]!;
    this.p2 = 1.5 * STORED_U[MIN_INDEX - 2]!;
  }

  /** P_k (k = 0 is the top fold). */
  primary(k: number): number {
    return k === 0 ? this.p0 : k === 1 ? this.p1 : this.p2;
  }

  /** c_k. */
  carry(k: number): number {
    return k === 0 ? this.c0 : k === 1 ? this.c1 : this.c2;
  }

  /** Sets fold k (for the state reader and the cold paths here). */
  setFold(k: number, primary: number, carry: number): void {
    if (k === 0) {
      this.p0 = primary;
      this.c0 = carry;
    } else if (k === 1) {
      this.p1 = primary;
      this.c1 = carry;
    } else {
      this.p2 = primary;
      this.c2 = carry;
    }
  }

  /** Adds one value. */
  add(x: number): void {
    if (x - x !== 0) {
      this.nonFinite += x;
      return;
    }
    if (Math.abs(x) >= LIMIT[this.index]!) this.raise(binOf(x));
    const half = HALF_UNIT[this.index]!;
    // Each fold rounds x half-way cases away from zero, as the C++ does by depositing odd(x) (see odd):
    // round to nearest even, and where that met a tie towards zero (the rest is half a unit, of the
    // sign of x), one unit more. The same slices as odd(x) gives, without its bit operations.
    if (this.index === TOP_BIN) {
      // The top bin's primary is stored times 2^-TOP_SCALE: so is x while it is deposited there.
      const xs = x * pow2(-TOP_SCALE);
      const q = this.p0 + odd(xs);
      const r = q - this.p0;
      this.p0 = q;
      if (r !== 0) x = (xs - r) * pow2(TOP_SCALE);
    } else {
      let q0 = this.p0 + x;
      let rest0 = x - (q0 - this.p0);
      const h0 = half[0]!;
      if ((rest0 === h0 && x > 0) || (rest0 === -h0 && x < 0)) {
        q0 += 2 * rest0;
        rest0 = -rest0;
      }
      this.p0 = q0;
      x = rest0;
    }
    let q1 = this.p1 + x;
    let rest1 = x - (q1 - this.p1);
    const h1 = half[1]!;
    if ((rest1 === h1 && x > 0) || (rest1 === -h1 && x < 0)) {
      q1 += 2 * rest1;
      rest1 = -rest1;
    }
    this.p1 = q1;
    let q2 = this.p2 + rest1;
    const rest2 = rest1 - (q2 - this.p2);
    const h2 = half[2]!;
    if ((rest2 === h2 && rest1 > 0) || (rest2 === -h2 && rest1 < 0)) q2 += 2 * rest2;
    this.p2 = q2;
    if (++this.pending === REPRO_RENORM_INTERVAL) this.renormalize();
  }

  /** Adds every value of an array (or of a range of it). */
  addAll(values: ArrayLike<number>, begin = 0, end = values.length): void {
    for (let i = begin; i < end; i++) this.add(values[i]!);
  }

  /** Moves the folds up to top bin `index` (higher than the current one): the lowest ones drop out. */
  raise(index: number): void {
    const shift = index - this.index;
    if (shift <= 0) return;
    for (let k = K - 1; k >= 0; k--) {
      if (k - shift >= 0) this.setFold(k, this.primary(k - shift), this.carry(k - shift));
      else this.setFold(k, 1.5 * STORED_U[index - k]!, 0);
    }
    this.index = index;
  }

  /**
   * Moves whole quarters of U from each primary into its carry, so that P_k - 1.5 U_k is in
   * [-U_k/8, U_k/8): the canonical form (one value of a fold, one pair of bits). From a canonical
   * start, REPRO_RENORM_INTERVAL deposits (or one merge) move P_k by less than U_k/8, so one step does.
   */
  renormalize(): void {
    for (let k = 0; k < K; k++) {
      const U = STORED_U[this.index - k]!;
      const p = this.primary(k);
      if (p >= 1.625 * U) this.setFold(k, p - 0.25 * U, this.carry(k) + 1);
      else if (p < 1.375 * U) this.setFold(k, p + 0.25 * U, this.carry(k) - 1);
    }
    this.pending = 0;
  }

  /** Adds another accumulator's values (it is left as it was, but canonical). Exact: commutative and associative. */
  merge(other: ReproducibleSum): void {
    this.renormalize();
    other.renormalize();
    const shift = this.index - other.index;
    this.raise(other.index);
    for (let k = 0; k < K; k++) {
      const j = k - Math.max(0, shift); // the other's fold at this bin
      if (j < 0 || j >= K) continue;
      const d = other.primary(j) - 1.5 * STORED_U[other.index - j]!;
      this.setFold(k, this.primary(k) + d, this.carry(k) + other.carry(j));
    }
    this.nonFinite += other.nonFinite;
    this.renormalize();
  }

  /** The canonical state, as plain JSON-safe data. */
  state(): ReproducibleSumState {
    this.renormalize();
    const n = this.nonFinite;
    return {
      version: REPRO_STATE_VERSION,
      index: this.index,
      primaries: [this.p0, this.p1, this.p2],
      carries: [this.c0, this.c1, this.c2],
      nonFinite: n === 0 ? null : n !== n ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity',
    };
  }

  /**
   * The sum, rounded once (to nearest, ties to even) from the exact value of the folds: a function
   * of the canonical state only. Infinity when it exceeds the double range; a non-finite value added
   * decides the result (NaN for NaN or for both infinities).
   */
  toDouble(): number {
    if (this.nonFinite !== 0) return this.nonFinite;
    this.renormalize();
    // The folds as one integer N in units of the lowest fold's unit: fold k is D_k + c_k 2^50 units
    // of its own bin, W*(K-1-k) bits above the lowest.
    let n = 0n;
    for (let k = 0; k < K; k++) {
      const bin = this.index - k;
      const d = scale(this.primary(k) - 1.5 * STORED_U[bin]!, -STORED_EXP[bin]!);
      const shift = BigInt(W * (K - 1 - k));
      n += (BigInt(d) + (BigInt(this.carry(k)) << 50n)) << shift;
    }
    return roundScaled(n, UNIT_EXP[this.index - K + 1]!);
  }
}

/** N * 2^e rounded to the nearest double (ties to even), for e >= -1074. */
export function roundScaled(n: bigint, e: number): number {
  const negative = n < 0n;
  let m = negative ? -n : n;
  const bits = m.toString(2).length;
  let shift = 0;
  if (bits > 53) {
    shift = bits - 53;
    const rest = m & ((1n << BigInt(shift)) - 1n);
    const half = 1n << BigInt(shift - 1);
    m >>= BigInt(shift);
    if (rest > half || (rest === half && (m & 1n) === 1n)) m += 1n;
  }
  // m <= 2^53 and e + shift >= -1074: m * 2^(e + shift) is a double, or beyond the range.
  const value = scale(Number(m), e + shift);
  return negative ? -value : value;
}
