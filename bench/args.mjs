// Command-line options of `npm run bench` (node's util.parseArgs).
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { SIZES, SMALL_BATCH } from './data.mjs';

export const BACKENDS = ['native', 'js', 'tfjs', 'torch', 'torch-default-malloc', 'onnxruntime', 'floor'];
export const MODES = ['fwd', 'grad'];

export const USAGE = `Usage: npm run bench -- [options]

  --quick              small sizes only (sigmoid 1e6, softmax [1e5, 10]) and fewer runs
  --backends LIST      comma-separated subset of ${BACKENDS.join(',')} (default: all)
  --sizes LIST         comma-separated subset of ${SIZES.map((s) => s.id).join(',')}
                       (default: the full set, or the quick set with --quick)
  --gammas LIST        default 2,0.5
  --modes LIST         fwd (forward only), grad (forward + gradient); default fwd,grad
                       (torch: glibc malloc tuned to keep freed memory, see bench/backends/torch.mjs;
                       torch-default-malloc: glibc's defaults, PyTorch as it comes)
  --threads LIST       thread counts for native, floor, onnxruntime and PyTorch (default 1,${availableParallelism()})
  --python PATH        Python with torch (default: $FOCAL_BENCH_PYTHON, /usr/bin/python3, python3)
  --baseline DIR       a built checkout of the commit before issue 12 (npm ci there): its float64
                       sigmoid is timed side by side for the float64 target (else a recorded figure)
  --sum-baseline DIR   a built checkout of the commit before the reproducible sum (1d3ed73, npm ci
                       there): its one-shot reduction 'sum' call is timed in turns with this build's,
                       for the reproducible sum's cost (issue 13)
  --no-small-batch     skip the small-batch table (time per call at N = ${SMALL_BATCH.elements.join(', ')})
  --markdown           write the report to --out (the default for a full run with default options)
  --no-markdown        never write it
  --out FILE           default BENCHMARKS.md
  --help`;

const list = (value) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function choose(value, allowed, what) {
  const chosen = list(value);
  for (const item of chosen)
    if (!allowed.includes(item)) throw new Error(`unknown ${what} '${item}' (known: ${allowed.join(', ')})`);
  return chosen;
}

function numbers(value, what, valid) {
  return list(value).map((s) => {
    const n = Number(s);
    if (!valid(n)) throw new Error(`bad ${what} '${s}'`);
    return n;
  });
}

export function readArgs(argv = process.argv.slice(2)) {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      backends: { type: 'string' },
      sizes: { type: 'string' },
      gammas: { type: 'string' },
      modes: { type: 'string' },
      threads: { type: 'string' },
      python: { type: 'string' },
      baseline: { type: 'string' },
      'sum-baseline': { type: 'string' },
      'no-small-batch': { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
      'no-markdown': { type: 'boolean', default: false },
      out: { type: 'string', default: 'BENCHMARKS.md' },
      help: { type: 'boolean', default: false },
    },
  });
  const defaults =
    !values.quick &&
    !values['no-small-batch'] &&
    ['backends', 'sizes', 'gammas', 'modes', 'threads'].every((k) => values[k] === undefined);
  const sizeIds = values.sizes
    ? choose(
        values.sizes,
        SIZES.map((s) => s.id),
        'size',
      )
    : SIZES.filter((s) => (values.quick ? s.quick : s.full)).map((s) => s.id);
  const threads = values.threads
    ? numbers(values.threads, 'thread count', (n) => Number.isInteger(n) && n >= 1)
    : [...new Set([1, availableParallelism()])];
  return {
    help: values.help,
    quick: values.quick,
    backends: values.backends ? choose(values.backends, BACKENDS, 'backend') : BACKENDS,
    sizes: SIZES.filter((s) => sizeIds.includes(s.id)),
    gammas: values.gammas ? numbers(values.gammas, 'gamma', (n) => n >= 0) : [2, 0.5],
    modes: values.modes ? choose(values.modes, MODES, 'mode') : MODES,
    threads: [...new Set(threads)].sort((a, b) => a - b),
    python: values.python,
    baseline: values.baseline,
    sumBaseline: values['sum-baseline'],
    smallBatch: !values['no-small-batch'],
    markdown: !values['no-markdown'] && (values.markdown || defaults),
    out: values.out,
    /** True when every option is the default: the full benchmark. */
    defaults,
  };
}
