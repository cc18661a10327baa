// The speed targets, each computed from figures of the same run: PASS, MISS (with the
// measured figure and what limits it) or n/a (with why it could not be measured).
//
// Rows are named `native@T`, `floor@T`, `torch@T` (T threads), `native@default` (when the
// per-call threads option is missing), `js` and `tfjs`. Every target is at forward + gradient,
// gamma = 2.

const COLUMN = 'g2-grad';

/**
 * `faster`: ratio = time(slow) / time(fast) must be >= bound.
 * `within`: ratio = time(slow) / time(fast) must be <= bound (native within 3x of the floor).
 */
function targetList(all) {
  const native = `native@${all}`;
  return [
    {
      size: 'sigmoid-1e7',
      kind: 'faster',
      fast: native,
      slow: 'js',
      bound: 20,
      what: `sigmoid N = 1e7: native ${all} threads ≥ 20× the JS fallback`,
    },
    {
      size: 'sigmoid-1e7',
      kind: 'faster',
      fast: native,
      slow: 'tfjs',
      bound: 200,
      what: `sigmoid N = 1e7: native ${all} threads ≥ 200× tfjs`,
    },
    {
      size: 'sigmoid-1e7',
      kind: 'faster',
      fast: native,
      slow: `torch@${all}`,
      bound: 20,
      what: `sigmoid N = 1e7: native ≥ 20× PyTorch CPU, both ${all} threads`,
    },
    {
      size: 'sigmoid-1e7',
      kind: 'within',
      fast: `floor@${all}`,
      slow: native,
      bound: 3,
      what: `sigmoid N = 1e7: native ${all} threads within 3× of the floor`,
    },
    {
      size: 'softmax-1e5x100',
      kind: 'faster',
      fast: native,
      slow: `torch@${all}`,
      bound: 5,
      what: `softmax [1e5, 100]: native ≥ 5× PyTorch CPU, both ${all} threads`,
    },
    {
      size: 'softmax-1e5x100',
      kind: 'within',
      fast: `floor@${all}`,
      slow: native,
      bound: 3,
      what: `softmax [1e5, 100]: native ${all} threads within 3× of the floor`,
    },
    {
      size: 'sigmoid-1e7',
      kind: 'faster',
      fast: 'native@2',
      slow: 'native@1',
      bound: 1.7,
      what: 'sigmoid N = 1e7: native 2 threads ≥ 1.7× faster than 1 thread',
    },
    {
      size: 'sigmoid-1e7',
      kind: 'faster',
      fast: 'js',
      slow: 'tfjs',
      bound: 5,
      what: 'sigmoid N = 1e7: JS fallback ≥ 5× faster than tfjs',
    },
  ];
}

const ns = (v) => `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ns/el`;
const times = (v) => `${v < 10 ? v.toFixed(2) : v.toFixed(1)}×`;

function figure(sizeResult, rowId) {
  return sizeResult?.rows.find((r) => r.id === rowId)?.cells[COLUMN]?.ns;
}

/** Why a missed target missed, from the other figures of the same run. */
function limit(target, sizeResult, fastNs, slowNs) {
  const text = limitText(target, sizeResult, fastNs, slowNs);
  const floors = sizeResult.rows.filter((r) => r.id.startsWith('floor@')).map((r) => r.cells[COLUMN]?.ns);
  if (sizeResult.otherWork > 0.1) {
    return `${text} — but other processes used ${Math.round(sizeResult.otherWork * 100)}% of the CPUs while this size ran: rerun on a quiet machine`;
  }
  if (floors.length > 1 && floors.at(-1) > floors[0]) {
    return `${text} — but the floor was slower with more threads than with one, so a core was busy: rerun on a quiet machine`;
  }
  return text;
}

function limitText(target, sizeResult, fastNs, slowNs) {
  const floorOf = (rowId) => figure(sizeResult, rowId.replace(/^native@/, 'floor@'));
  if (target.kind === 'within') {
    return `the kernel spends ${ns(slowNs - fastNs)} above the memory floor: it is compute-bound, not memory-bound`;
  }
  if (target.fast === 'native@2' && target.slow === 'native@1') {
    const f1 = figure(sizeResult, 'floor@1');
    const f2 = figure(sizeResult, 'floor@2');
    if (f1 && f2) {
      const floorScale = f1 / f2;
      if (floorScale < 1) return `the floor is slower at 2 threads than at 1 (${ns(f2)} vs ${ns(f1)})`;
      return floorScale < target.bound
        ? `the floor itself only scales ${times(floorScale)} from 1 to 2 threads: memory bandwidth limits it`
        : `the floor scales ${times(floorScale)} from 1 to 2 threads, so memory does not limit it: the kernel's serial part or its per-call overhead does`;
    }
    return 'no floor figures to tell memory from compute';
  }
  if (target.fast.startsWith('native@')) {
    const needed = slowNs / target.bound;
    const floor = floorOf(target.fast);
    if (floor === undefined) return `native would need ≤ ${ns(needed)}`;
    if (floor > needed) {
      return `native would need ≤ ${ns(needed)}, below the memory floor (${ns(floor)}): unreachable on this machine`;
    }
    return `native would need ≤ ${ns(needed)} (floor ${ns(floor)}): the kernel's arithmetic limits it`;
  }
  return `${target.fast} at ${ns(fastNs)} would need ≤ ${ns(slowNs / target.bound)}`;
}

/**
 * `results`: { sizes: [{ size, rows: [{ id, label, cells }] }] }; `all`: the largest thread count;
 * `missing`: rowId prefix -> why that backend has no figures.
 */
/** Sizes a `--quick` run has instead of the targets' sizes: the targets are then only indicative. */
const STAND_INS = { 'sigmoid-1e7': 'sigmoid-1e6', 'softmax-1e5x100': 'softmax-1e5x10' };

export function evaluateTargets(results, all, missing) {
  return targetList(all).map((listed) => {
    let target = listed;
    let sizeResult = results.sizes.find((s) => s.size.id === target.size);
    const standIn = !sizeResult && results.sizes.find((s) => s.size.id === STAND_INS[target.size]);
    if (standIn) {
      sizeResult = standIn;
      target = { ...target, what: `${target.what} [measured on ${standIn.size.label} instead: indicative only]` };
    }
    const fastNs = figure(sizeResult, target.fast);
    const slowNs = figure(sizeResult, target.slow);
    const required = target.kind === 'faster' ? `≥ ${target.bound}×` : `≤ ${target.bound}×`;
    if (fastNs === undefined || slowNs === undefined) {
      const absent = fastNs === undefined ? target.fast : target.slow;
      const reason = !sizeResult ? `size ${target.size} not run` : missing(absent);
      return { ...target, required, status: 'n/a', measured: '–', note: reason };
    }
    const ratio = slowNs / fastNs;
    const pass = target.kind === 'faster' ? ratio >= target.bound : ratio <= target.bound;
    const measured = `${times(ratio)} (${ns(slowNs)} / ${ns(fastNs)})`;
    return {
      ...target,
      required,
      status: pass ? 'PASS' : 'MISS',
      ratio,
      measured,
      note: pass ? '' : limit(target, sizeResult, fastNs, slowNs),
    };
  });
}
