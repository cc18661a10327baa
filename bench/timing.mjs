// How one cell is timed: warm-up, then repeated runs within a time budget, median.
//
// Every cell first runs twice on a 1/16 prefix of the data: a cheap warm-up, then an estimate of
// the cost of a full run (the second prefix run no longer pays for first-touch page faults). Then:
// - a cell whose full run is estimated above `slowMs` gets exactly one timed full run, warmed up
//   by the prefix runs only (tfjs at 1e7 elements: a full-size warm-up would double its time);
// - any other cell is warmed up at full size until a run is no longer clearly faster than the one
//   before (at most 5 runs: PyTorch's heap takes 3 backward passes to stop growing), then timed
//   once; if that run took more than `slowMs` it is the only one, else timed runs go on until
//   there are at least `minRuns` and `budgetMs` is spent, at most `maxRuns`.
// PyTorch cells are timed by bench/torch_bench.py with the same rules.

import { PREFIX_DIVISOR } from './data.mjs';

export const TIMING = {
  full: { minRuns: 3, maxRuns: 15, budgetMs: 1000, slowMs: 2000 },
  quick: { minRuns: 3, maxRuns: 5, budgetMs: 200, slowMs: 1000 },
};

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** The time of one call; the call's return value (the loss) is kept in `last`. */
let last;
function timeOnce(fn) {
  const start = nowMs();
  last = fn();
  return nowMs() - start;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Times `run` (a full-size call) after warming up with `runPrefix` (the same call on the prefix).
 * Returns { ms, runs, warmup, value } where ms is the median of the timed runs, warmup says how
 * the cell was warmed up ('prefix' when only the prefix ran before the single timed run) and value
 * is what the last timed run returned.
 */
/** Full-size warm-up runs until one is not faster than 0.8× the one before, at most `WARMUP_MAX`. */
export const WARMUP_MAX = 5;
function warmUp(run) {
  let previous = timeOnce(run);
  for (let i = 1; i < WARMUP_MAX; i++) {
    const t = timeOnce(run);
    if (t > 0.8 * previous) return;
    previous = t;
  }
}

export function measure(run, runPrefix, options) {
  const { minRuns, maxRuns, budgetMs, slowMs } = options;
  runPrefix();
  const estimate = timeOnce(runPrefix) * PREFIX_DIVISOR;
  if (estimate > slowMs) return { ms: timeOnce(run), runs: 1, warmup: 'prefix', value: last };
  warmUp(run);
  const times = [timeOnce(run)];
  if (times[0] > slowMs) return { ms: times[0], runs: 1, warmup: 'full', value: last };
  let spent = times[0];
  while (times.length < minRuns || (spent < budgetMs && times.length < maxRuns)) {
    const t = timeOnce(run);
    times.push(t);
    spent += t;
  }
  return { ms: median(times), runs: times.length, warmup: 'full', value: last };
}
