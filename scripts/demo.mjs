#!/usr/bin/env node
// `npm run demo`: why focal loss exists. The same small classifier is trained twice on a miniature of
// dense detection (1 positive anchor in 1,000, most negatives trivially easy, a few hard ones), once
// with cross-entropy and once with focal loss, both with this package's loss and gradient; then both
// are measured on a held-out test set. The pieces are in demo/; docs/DEMO.md explains the setting
// and reads a full run's results.
import { parseArgs } from 'node:util';
import { DEFAULT_SEED } from '../demo/config.mjs';
import { header, report } from '../demo/report.mjs';
import { runDemo } from '../demo/run.mjs';

const USAGE = `usage: node scripts/demo.mjs [--quick] [--seed N]
  --quick    a small dataset and few epochs (a few seconds; for tests, not for conclusions)
  --seed N   an integer in [0, 2^32): data, initial weights and batch order (default ${DEFAULT_SEED})`;

function options() {
  try {
    const { values } = parseArgs({
      options: {
        quick: { type: 'boolean' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    const seed = values.seed === undefined ? DEFAULT_SEED : Number(values.seed);
    if (!/^\d+$/.test(values.seed ?? '0') || !Number.isSafeInteger(seed) || seed >= 2 ** 32) {
      throw new Error(`--seed must be an integer in [0, 2^32), not '${values.seed}'`);
    }
    return { seed, quick: values.quick === true };
  } catch (e) {
    console.error(`${e.message}\n${USAGE}`);
    process.exit(2);
  }
}

const opts = options();
const started = performance.now();
// Imported after the options are read, so that --help works even without a built dist/.
const { backend, sigmoidFocalLoss } = await import('../dist/index.js');
console.log(header(backend(), opts));
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
// Progress goes to stderr: stdout is the report alone.
const progress = (message) => console.error(`[${elapsed()}] ${message}`);
const demo = runDemo({ lossFn: sigmoidFocalLoss, ...opts, progress });
console.log(report(demo));
console.log(`\ntotal ${elapsed()}`);
