// The demo's printed report. The rows of the results table are "label  value  value" with plain
// decimal numbers, one column per run, so that test/demo.test.ts can read them back.
import { DISTRIBUTION, TRAINING } from './config.mjs';

const int = (v) => v.toLocaleString('en-US');
const pct = (v) => `${(100 * v).toFixed(1)}%`;
const LABEL = 46;
const COL = 22;

function row(label, values) {
  return `  ${label.padEnd(LABEL)}${values.map((v) => String(v).padStart(COL)).join('')}`;
}

function kindCounts(c) {
  return `${int(c.positive)} positives, ${int(c.hard)} hard negatives, ${int(c.easy)} easy negatives`;
}

/** Which run is higher on a metric, in words, with both values. */
function compare(metric, [a, b], digits, higherIsBetter = true) {
  const fa = a.value.toFixed(digits);
  const fb = b.value.toFixed(digits);
  const both = `${a.name} ${fa}, ${b.name} ${fb}`;
  if (fa === fb) return `${metric}: the same to ${digits} decimals (${both})`;
  const [hi, lo] = a.value > b.value ? [a, b] : [b, a];
  const diff = (hi.value - lo.value).toFixed(digits);
  const better = higherIsBetter ? hi : lo;
  return `${metric}: ${better.name} better by ${diff} (${both})`;
}

export function header(info, { seed, quick }) {
  const how =
    info.name === 'native'
      ? `native (${info.simd}, ${info.openmp ? `OpenMP, ${info.threads} threads` : 'no OpenMP, 1 thread'})`
      : `js (the JavaScript implementation${info.loadError ? `; addon not used: ${info.loadError}` : ''})`;
  return [
    'focal-loss demo: cross-entropy vs focal loss on a miniature of dense detection',
    `backend: ${how}`,
    `seed ${seed}, ${quick ? 'quick run (--quick: small data, few epochs)' : 'full run'}`,
    '',
  ].join('\n');
}

export function report(demo) {
  const { size, trainSet, testSet, results } = demo;
  const per = DISTRIBUTION.perThousand;
  const prior = TRAINING.priorProbability;
  const names = results.map((r) => r.run.short);
  const lines = [];
  const out = (s = '') => lines.push(s);

  const bias = (-Math.log((1 - prior) / prior)).toFixed(3);
  out(
    `data: ${DISTRIBUTION.features} features per anchor (objectness, 2 of appearance, 5 of noise); ` +
      `per 1,000 anchors:`,
  );
  out(
    `  ${per.positive} positive, ${per.hard} hard negatives (look like positives), ` +
      `${per.easy} easy negatives (background)`,
  );
  out(`  training set: ${int(trainSet.n)} anchors: ${kindCounts(trainSet.counts)}`);
  out(`  test set:     ${int(testSet.n)} anchors: ${kindCounts(testSet.counts)}`);
  out(`  (same distribution, independent draws; generated in ${(demo.dataMs / 1000).toFixed(1)} s)`);
  out(
    `model: MLP ${DISTRIBUTION.features} -> ${TRAINING.hidden} ReLU -> 1 logit, the same initial weights ` +
      'in both runs,',
  );
  out(`  output bias -log((1 - π)/π) = ${bias} (prior π = ${prior}: every anchor starts at p = ${prior})`);
  out(
    `training: Adam (lr ${TRAINING.learningRate}), ${size.epochs} epochs of ${results[0].fit.batches} ` +
      `batches of ${int(TRAINING.batchSize)} anchors, same order in both runs;`,
  );
  out('  per batch: sigmoidFocalLoss(logits, labels, { gamma, alpha, normalizer: its positives, ' + 'out: { grad } })');
  out();

  out(
    `results on the test set (${int(testSet.counts.positive)} positives)`.padEnd(LABEL + 2) +
      names.map((s) => s.padStart(COL)).join(''),
  );
  out(
    row(
      'average precision (AP)',
      results.map((r) => r.ap.toFixed(4)),
    ),
  );
  out(
    row(
      '  AP against the hard negatives only',
      results.map((r) => r.apHard.toFixed(4)),
    ),
  );
  out(
    row(
      '  AP against the easy negatives only',
      results.map((r) => r.apEasy.toFixed(4)),
    ),
  );
  out(
    row(
      'precision at p >= 0.5',
      results.map((r) => r.atThreshold.precision.toFixed(4)),
    ),
  );
  out(
    row(
      'recall at p >= 0.5',
      results.map((r) => r.atThreshold.recall.toFixed(4)),
    ),
  );
  out(
    row(
      '  true positives / predicted positives',
      results.map((r) => `${r.atThreshold.tp} / ${r.atThreshold.predicted}`),
    ),
  );
  out(
    row(
      '  false positives: hard / easy negatives',
      results.map((r) => `${r.falsePositives.hard} / ${r.falsePositives.easy}`),
    ),
  );
  out(
    row(
      'log loss (mean BCE per anchor; calibration)',
      results.map((r) => r.logLoss.toFixed(6)),
    ),
  );
  out(
    row(
      'final training loss (its own loss)',
      results.map((r) => r.fit.curve.at(-1).toFixed(4)),
    ),
  );
  const { oracle } = demo;
  out('  Bayes-optimal scorer (the true densities: no model ranks better on average, the ceiling):');
  out(
    `    AP ${oracle.ap.toFixed(4)}, against the hard negatives only ${oracle.apHard.toFixed(4)}, ` +
      `against the easy negatives only ${oracle.apEasy.toFixed(4)}`,
  );
  out();

  out('loss curves: mean batch loss per epoch (each run its own loss: compare shapes, not levels)');
  const epochs = results[0].fit.curve.length;
  const epochNumbers = Array.from({ length: epochs }, (_, e) => String(e + 1).padStart(8));
  out(`  ${'epoch'.padEnd(8)}${epochNumbers.join('')}`);
  for (const r of results) {
    out(`  ${r.run.key.padEnd(8)}${r.fit.curve.map((v) => v.toFixed(4).padStart(8)).join('')}`);
  }
  out();

  out('where the loss and the gradient come from (training set, share of the sum over all anchors):');
  out(`  ${''.padEnd(26)}${['positives', 'hard neg.', 'easy neg.'].map((s) => s.padStart(11)).join('')}`);
  for (const r of results) {
    for (const when of ['start', 'end']) {
      const s = r.sources[when];
      for (const [what, shares] of [
        ['loss', s.loss],
        ['|gradient|', s.grad],
      ]) {
        const label = `${r.run.key} ${what} at ${when}`;
        out(`  ${label.padEnd(26)}${[2, 1, 0].map((k) => pct(shares[k]).padStart(11)).join('')}`);
      }
    }
  }
  out();

  out('time in the loss call (sigmoidFocalLoss: loss and gradient) vs the whole training loop:');
  for (const r of results) {
    const { lossMs, totalMs, steps } = r.fit;
    const nsPerAnchor = (lossMs * 1e6) / (steps * TRAINING.batchSize);
    const ms = (v) => int(Math.round(v));
    out(
      `  ${r.run.key.padEnd(6)} ${ms(lossMs).padStart(7)} ms of ${ms(totalMs)} ms ` +
        `(${pct(lossMs / totalMs)}), ${steps} calls, ${nsPerAnchor.toFixed(1)} ns per anchor`,
    );
  }
  out();

  const [ce, fl] = results;
  const pair = (f) => [
    { name: 'CE', value: f(ce) },
    { name: 'focal', value: f(fl) },
  ];
  out('reading (the comparison as measured, whichever way it goes):');
  out(
    `  ${compare(
      'AP',
      pair((r) => r.ap),
      4,
    )}`,
  );
  out(
    `  ${compare(
      'precision at p >= 0.5',
      pair((r) => r.atThreshold.precision),
      4,
    )}`,
  );
  out(
    `  ${compare(
      'recall at p >= 0.5',
      pair((r) => r.atThreshold.recall),
      4,
    )}`,
  );
  out(
    `  ${compare(
      'test log loss',
      pair((r) => r.logLoss),
      6,
      false,
    )}`,
  );
  out(
    `  ${compare(
      'AP against the hard negatives only',
      pair((r) => r.apHard),
      4,
    )}`,
  );
  out(
    `  ${compare(
      'AP against the easy negatives only',
      pair((r) => r.apEasy),
      4,
    )}`,
  );
  out(
    `  gap to the Bayes-optimal AP: CE ${(oracle.ap - ce.ap).toFixed(4)}, ` + `focal ${(oracle.ap - fl.ap).toFixed(4)}`,
  );
  if (demo.quick) {
    out('  (quick run: too little data and training to conclude anything: run without --quick)');
  }
  return lines.join('\n');
}
