// How one cell is timed: warm-up, then repeated runs within a time budget, median.
//
// Every cell first runs once on a 1/16 prefix of the data (a cheap warm-up that also estimates the
// cost of a full run). Then:
// - a cell whose full run is estimated (or measured) above `slowMs` gets exactly one timed run
//   (its warm-up was the prefix run, or the measured full run);
// - any other cell gets one full-size warm-up and then timed runs until it has at least `minRuns`
//   and has spent `budgetMs`, at most `maxRuns`.
// PyTorch cells are timed by bench/torch_bench.py with the same rules.

import { PREFIX_DIVISOR } from './data.mjs';

export const TIMING = {
  full: { minRuns: 3, maxRuns: 15, budgetMs: 1000, slowMs: 2000 },
  quick: { minRuns: 3, maxRuns: 5, budgetMs: 200, slowMs: 1000 },
};

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

function timeOnce(fn) {
  const start = nowMs();
  fn();
  return nowMs() - start;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Times `run` (a full-size call) after warming up with `runPrefix` (the same call on the prefix).
 * Returns { ms, runs, warmup } where ms is the median of the timed runs and warmup says how the
 * cell was warmed up ('prefix' when only the prefix ran before the single timed run).
 */
export function measure(run, runPrefix, options) {
  const { minRuns, maxRuns, budgetMs, slowMs } = options;
  const estimate = timeOnce(runPrefix) * PREFIX_DIVISOR;
  if (estimate > slowMs) return { ms: timeOnce(run), runs: 1, warmup: 'prefix' };
  const warm = timeOnce(run);
  if (warm > slowMs) return { ms: timeOnce(run), runs: 1, warmup: 'full' };
  const times = [];
  let spent = 0;
  while (times.length < minRuns || (spent < budgetMs && times.length < maxRuns)) {
    const t = timeOnce(run);
    times.push(t);
    spent += t;
  }
  return { ms: median(times), runs: times.length, warmup: 'full' };
}
