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
// A call may return a promise (onnxruntime-node, the async API): it is timed until it settles.
// PyTorch cells are timed by bench/torch_bench.py with the same rules.
//
// The small-batch table (perCall) times calls of microseconds instead: batches of calls, each
// batch long enough for the clock, the fastest batch's time per call.

import { PREFIX_DIVISOR } from './data.mjs';

export const TIMING = {
  full: { minRuns: 3, maxRuns: 15, budgetMs: 1000, slowMs: 2000 },
  quick: { minRuns: 3, maxRuns: 5, budgetMs: 200, slowMs: 1000 },
};

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** The time of one call (until its promise settles, for an async one); its value (the loss) is kept in `last`. */
let last;
// Each call starts on a fresh turn of the event loop, as a server's requests and an async training
// step do: the finalizers of arrays the last call returned run there (N-API runs them on the event
// loop), so the native result memory they held is recycled (docs/RESULT-MEMORY.md). A loop that
// never yields recycles nothing; the yield itself is not timed.
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
async function timeOnce(fn) {
  await nextTurn();
  const start = nowMs();
  let value = fn();
  if (value instanceof Promise) value = await value;
  const ms = nowMs() - start;
  last = value;
  return ms;
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
async function warmUp(run) {
  let previous = await timeOnce(run);
  for (let i = 1; i < WARMUP_MAX; i++) {
    const t = await timeOnce(run);
    if (t > 0.8 * previous) return;
    previous = t;
  }
}

export async function measure(run, runPrefix, options) {
  const { minRuns, maxRuns, budgetMs, slowMs } = options;
  await timeOnce(runPrefix);
  const estimate = (await timeOnce(runPrefix)) * PREFIX_DIVISOR;
  if (estimate > slowMs) return { ms: await timeOnce(run), runs: 1, warmup: 'prefix', value: last };
  await warmUp(run);
  const times = [await timeOnce(run)];
  if (times[0] > slowMs) return { ms: times[0], runs: 1, warmup: 'full', value: last };
  let spent = times[0];
  while (times.length < minRuns || (spent < budgetMs && times.length < maxRuns)) {
    const t = await timeOnce(run);
    times.push(t);
    spent += t;
  }
  return { ms: median(times), runs: times.length, warmup: 'full', value: last };
}

/**
 * Two or more calls timed in turns (A, B, A, B, ...) under measure's rules, so that a change in the
 * machine's load hits them alike: for old-against-new comparisons. `cells`: [{ run, runPrefix }].
 * Returns one { ms, runs, warmup, value } per cell.
 */
export async function measureAlternating(cells, options) {
  const { minRuns, maxRuns, budgetMs, slowMs } = options;
  let prefixOnly = false;
  for (const { runPrefix } of cells) {
    await timeOnce(runPrefix);
    if ((await timeOnce(runPrefix)) * PREFIX_DIVISOR > slowMs) prefixOnly = true;
  }
  if (!prefixOnly) for (const { run } of cells) await warmUp(run);
  const times = cells.map(() => []);
  const values = [];
  let spent = 0;
  let slow = prefixOnly;
  do {
    for (const [i, { run }] of cells.entries()) {
      const t = await timeOnce(run);
      times[i].push(t);
      values[i] = last;
      spent += t;
      if (t > slowMs) slow = true;
    }
  } while (!slow && (times[0].length < minRuns || (spent < cells.length * budgetMs && times[0].length < maxRuns)));
  const warmup = prefixOnly ? 'prefix' : 'full';
  return times.map((ts, i) => ({ ms: median(ts), runs: ts.length, warmup, value: values[i] }));
}

/** Small-batch timing: a batch lasts at least `batchMs`; `batches` of them at least, more while `budgetMs` lasts. */
export const PER_CALL = {
  full: { batchMs: 5, batches: 7, maxBatches: 25, budgetMs: 300 },
  quick: { batchMs: 2, batches: 5, maxBatches: 5, budgetMs: 50 },
};

/** Runs `fn` `calls` times (awaiting each call that returns a promise); returns the elapsed ms. */
async function timeBatch(fn, calls, isAsync) {
  const start = nowMs();
  if (isAsync) for (let i = 0; i < calls; i++) last = await fn();
  else for (let i = 0; i < calls; i++) last = fn();
  return nowMs() - start;
}

/**
 * Time per call in microseconds of a fast call: warmed up for `batchMs` (at least 10 calls),
 * batches sized from the warm-up's rate to last `batchMs`, then the fastest batch: a fixed cost
 * is what the call costs when nothing else interrupts it, and on a shared machine the median
 * batch mostly measures the other processes. Returns { us, calls, batches, value }.
 */
export async function perCall(fn, options) {
  const { batchMs, batches, maxBatches, budgetMs } = options;
  const first = fn();
  const isAsync = first instanceof Promise;
  if (isAsync) await first;
  let warmCalls = 0;
  const warmStart = nowMs();
  while (warmCalls < 10 || nowMs() - warmStart < batchMs) {
    await timeBatch(fn, 1, isAsync);
    warmCalls++;
  }
  const perCallMs = (nowMs() - warmStart) / warmCalls;
  const calls = Math.max(1, Math.ceil(batchMs / perCallMs));
  const times = [];
  let spent = 0;
  while (times.length < batches || (spent < budgetMs && times.length < maxBatches)) {
    const t = await timeBatch(fn, calls, isAsync);
    times.push(t);
    spent += t;
  }
  return { us: (Math.min(...times) * 1e3) / calls, calls, batches: times.length, value: last };
}
