/**
 * What a meter holds: the shards it was given, the count, and the reproducible sums of the focal
 * loss and of the cross-entropy (and the same per class). Every field merges exactly and in any
 * order (lib/reduce/reproducible-sum.ts), so the totals of a set of chunks do not depend on how the
 * chunks were cut, added or merged.
 */
import { ReproducibleSum } from '../reduce/reproducible-sum.js';

export interface ClassTotals {
  count: number;
  sum: ReproducibleSum;
  crossEntropy: ReproducibleSum;
}

export interface Totals {
  shards: Set<string>;
  count: number;
  sum: ReproducibleSum;
  crossEntropy: ReproducibleSum;
  /** null unless the meter keeps per-class totals. */
  perClass: ClassTotals[] | null;
}

export function emptyClass(): ClassTotals {
  return { count: 0, sum: new ReproducibleSum(), crossEntropy: new ReproducibleSum() };
}

/** `shard` null: a chunk's totals, which name no shard (they are merged into a meter's). */
export function emptyTotals(shard: string | null, classes: number | null): Totals {
  return {
    shards: new Set(shard === null ? [] : [shard]),
    count: 0,
    sum: new ReproducibleSum(),
    crossEntropy: new ReproducibleSum(),
    perClass: classes === null ? null : Array.from({ length: classes }, emptyClass),
  };
}

/** The shards of `b` that `a` already has (a merge of them would count their data twice). */
export function sharedShards(a: Totals, b: Totals): string[] {
  return [...b.shards].filter((s) => a.shards.has(s));
}

/** Adds `b` into `a` (checked compatible and disjoint by the caller); `b` is left as it was. */
export function mergeTotals(a: Totals, b: Totals): void {
  for (const s of b.shards) a.shards.add(s);
  a.count += b.count;
  a.sum.merge(b.sum);
  a.crossEntropy.merge(b.crossEntropy);
  if (a.perClass && b.perClass) {
    for (let c = 0; c < a.perClass.length; c++) {
      const to = a.perClass[c]!;
      const from = b.perClass[c]!;
      to.count += from.count;
      to.sum.merge(from.sum);
      to.crossEntropy.merge(from.crossEntropy);
    }
  }
}
