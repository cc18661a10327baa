// The experiment: one dataset, one initial model, two trainings that differ only in the loss.
import { DISTRIBUTION, RUNS, SIZES, THRESHOLD_LOGIT, TRAINING } from './config.mjs';
import { EASY, HARD, POSITIVE, STREAM, generateAnchors, oracleLogOdds, stream } from './data.mjs';
import { averagePrecision, precisionRecallAt, sharesByKind } from './metrics.mjs';
import { cloneMlp, createMlp, predict } from './model.mjs';
import { train } from './train.mjs';

/**
 * Where a run's loss and gradient come from on the training set, by kind of anchor: the paper's
 * argument in numbers (with CE the many easy negatives carry much of the total; with FL they do not).
 */
function lossSources(lossFn, run, logits, data) {
  const { gamma, alpha } = run;
  const r = lossFn(logits, data.labels, { gamma, alpha, reduction: 'none', gradient: true });
  const kinds = 3;
  return { loss: sharesByKind(r.loss, data.kind, kinds), grad: sharesByKind(r.grad, data.kind, kinds, true) };
}

/** Counts of false positives at the threshold by kind: are the mistakes near misses or background? */
function falsePositivesByKind(scores, data, threshold) {
  let hard = 0;
  let easy = 0;
  for (let i = 0; i < scores.length; i++) {
    if (scores[i] < threshold) continue;
    if (data.kind[i] === HARD) hard++;
    else if (data.kind[i] === EASY) easy++;
  }
  return { hard, easy };
}

/**
 * AP of the positives against one kind of negative only: tells whether a run ranks the positives
 * worse against the near misses (hard) or against the background (easy).
 */
function apAgainst(scores, data, negativeKind) {
  const keep = (k) => k === POSITIVE || k === negativeKind;
  let n = 0;
  for (let i = 0; i < scores.length; i++) if (keep(data.kind[i])) n++;
  const s = new Float64Array(n);
  const l = new Uint8Array(n);
  for (let i = 0, j = 0; i < scores.length; i++) {
    if (!keep(data.kind[i])) continue;
    s[j] = scores[i];
    l[j++] = data.labels[i];
  }
  return averagePrecision(s, l);
}

/**
 * Runs the demo and returns everything the report prints. `lossFn` is the package's
 * sigmoidFocalLoss; `progress(message)` is called as the work advances.
 */
export function runDemo({ lossFn, seed, quick, progress = () => {} }) {
  const size = quick ? SIZES.quick : SIZES.full;
  progress(
    `generating ${size.train.toLocaleString('en-US')} training and ` +
      `${size.test.toLocaleString('en-US')} test anchors...`,
  );
  const t = performance.now();
  const trainSet = generateAnchors(size.train, stream(seed, STREAM.train), DISTRIBUTION);
  const testSet = generateAnchors(size.test, stream(seed, STREAM.test), DISTRIBUTION);
  const dataMs = performance.now() - t;
  const oracleScores = oracleLogOdds(testSet, DISTRIBUTION);
  const oracle = {
    ap: averagePrecision(oracleScores, testSet.labels),
    apHard: apAgainst(oracleScores, testSet, HARD),
    apEasy: apAgainst(oracleScores, testSet, EASY),
  };
  const initial = createMlp(DISTRIBUTION.features, TRAINING.hidden, TRAINING, stream(seed, STREAM.init));
  const trainLogits = (model) => Float32Array.from(predict(model, trainSet.x, trainSet.n));
  const initialLogits = trainLogits(initial); // both runs start from these

  const results = RUNS.map((run) => {
    const model = cloneMlp(initial);
    const sourcesAtStart = lossSources(lossFn, run, initialLogits, trainSet);
    progress(`training with ${run.name} (${size.epochs} epochs)...`);
    const fit = train(model, trainSet, {
      lossFn,
      run,
      training: TRAINING,
      epochs: size.epochs,
      orderRng: stream(seed, STREAM.order),
    });
    const scores = predict(model, testSet.x, testSet.n);
    const logLoss = lossFn(scores, testSet.labels, { gamma: 0, alpha: null }).loss;
    return {
      run,
      fit,
      ap: averagePrecision(scores, testSet.labels),
      apHard: apAgainst(scores, testSet, HARD),
      apEasy: apAgainst(scores, testSet, EASY),
      atThreshold: precisionRecallAt(scores, testSet.labels, THRESHOLD_LOGIT),
      falsePositives: falsePositivesByKind(scores, testSet, THRESHOLD_LOGIT),
      logLoss,
      sources: { start: sourcesAtStart, end: lossSources(lossFn, run, trainLogits(model), trainSet) },
    };
  });
  return { seed, quick, size, trainSet, testSet, dataMs, oracle, results, kinds: { EASY, HARD, POSITIVE } };
}
