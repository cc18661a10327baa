// Ranking and threshold metrics for the rare (positive) class. Scores may be logits or probabilities:
// only their order matters for AP, and the caller passes the matching threshold.

function checkInputs(scores, labels) {
  if (scores.length !== labels.length) {
    throw new RangeError(`scores has ${scores.length} elements but labels has ${labels.length}`);
  }
  for (let i = 0; i < scores.length; i++) {
    // NaN has no place in an order: refuse it instead of ranking it somewhere arbitrary.
    if (Number.isNaN(scores[i])) throw new RangeError(`scores[${i}] is NaN`);
    if (labels[i] !== 0 && labels[i] !== 1) throw new RangeError(`labels[${i}] is ${labels[i]}, not 0 or 1`);
  }
}

/**
 * Precision and recall of "positive when score >= threshold". With no anchor predicted positive,
 * precision is 0 (as scikit-learn reports it), and `predicted` says why.
 */
export function precisionRecallAt(scores, labels, threshold) {
  checkInputs(scores, labels);
  let tp = 0;
  let fp = 0;
  let positives = 0;
  for (let i = 0; i < scores.length; i++) {
    const hit = scores[i] >= threshold;
    if (labels[i] === 1) {
      positives++;
      if (hit) tp++;
    } else if (hit) fp++;
  }
  return {
    tp,
    fp,
    fn: positives - tp,
    predicted: tp + fp,
    positives,
    precision: tp + fp > 0 ? tp / (tp + fp) : 0,
    recall: positives > 0 ? tp / positives : NaN,
  };
}

/** Number of elements of the ascending array `a` that are < v. */
function countBelow(a, v) {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Average precision: the mean, over the positives, of the precision among all anchors scored at
 * least as high as that positive. Tied scores form one threshold, so every positive in a tie gets
 * the precision at the end of its tie (scikit-learn's average_precision_score does the same);
 * the result does not depend on how a sort orders ties. NaN when there is no positive.
 */
export function averagePrecision(scores, labels) {
  checkInputs(scores, labels);
  const all = Float64Array.from(scores).sort();
  const positiveScores = [];
  for (let i = 0; i < scores.length; i++) if (labels[i] === 1) positiveScores.push(scores[i]);
  if (positiveScores.length === 0) return NaN;
  const pos = Float64Array.from(positiveScores).sort();
  let sum = 0;
  for (let i = 0; i < pos.length; i++) {
    const s = pos[i];
    const atLeast = all.length - countBelow(all, s); // anchors ranked at or above s (ties included)
    const positivesAtLeast = pos.length - countBelow(pos, s);
    sum += positivesAtLeast / atLeast;
  }
  return sum / pos.length;
}

/** Sums of `values` (absolute values with `abs`) by kind, as fractions of the total. */
export function sharesByKind(values, kind, kinds, abs = false) {
  const sums = new Float64Array(kinds);
  for (let i = 0; i < values.length; i++) sums[kind[i]] += abs ? Math.abs(values[i]) : values[i];
  const total = sums.reduce((a, b) => a + b, 0);
  return Array.from(sums, (s) => s / total);
}
