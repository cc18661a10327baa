// Do all backends compute the same loss? Compares each row's loss value (what the last timed call
// of each cell returned) with the first native row's (or the JS fallback's). float32 frameworks
// summing 1e7 terms differ in the last digits; a wrong formula or a different alpha by far more.
// A backend whose gradient is not the framework's own autodiff (onnxruntime-node's graph writes it
// out by hand) also has its gradient checked against focal-loss's, on small data (crossCheckGradient).

import { makeData } from './data.mjs';

export const TOLERANCE = 1e-3;

export function crossCheck(sizeResult) {
  const withLoss = sizeResult.rows.filter((r) => Object.values(r.cells).some((c) => Number.isFinite(c.loss)));
  const reference = withLoss.find((r) => r.id.startsWith('native@')) ?? withLoss.find((r) => r.id === 'js');
  if (!reference) return null;
  let worst = { diff: 0, row: null, column: null };
  const disagreements = [];
  for (const row of withLoss) {
    if (row === reference) continue;
    for (const column of sizeResult.columns) {
      const a = row.cells[column.id]?.loss;
      const b = reference.cells[column.id]?.loss;
      if (!Number.isFinite(a) || !Number.isFinite(b)) continue;
      const diff = Math.abs(a - b) / Math.max(Math.abs(b), Number.MIN_VALUE);
      if (diff > worst.diff) worst = { diff, row, column };
      if (!(diff <= TOLERANCE)) disagreements.push(`${row.label} ${column.label}: ${a} vs ${b}`);
    }
  }
  return { reference, worst, disagreements };
}

export function crossCheckText(sizeResult) {
  const check = crossCheck(sizeResult);
  if (!check) return 'loss cross-check: no reference row';
  const { reference, worst, disagreements } = check;
  const where = worst.row ? ` (largest: ${worst.row.label}, ${worst.column.label})` : '';
  const head = `loss cross-check: every backend's loss within ${worst.diff.toExponential(1)} (relative) of ${reference.label}'s${where}`;
  return disagreements.length
    ? `loss cross-check: DISAGREEMENT above ${TOLERANCE} with ${reference.label}: ${disagreements.join('; ')}`
    : head;
}

/** Largest gradient difference, relative to the largest reference gradient element, that counts as the same gradient. */
export const GRADIENT_TOLERANCE = 1e-4;

/** Small data sets for the gradient cross-check: one per loss. */
const CHECK_SIZES = [
  { id: 'check-sigmoid', kind: 'sigmoid', n: 1e4, label: 'sigmoid, N = 1e4' },
  { id: 'check-softmax', kind: 'softmax', rows: 1e3, classes: 10, label: 'softmax, [1e3, 10]' },
];

/**
 * Does `candidate` (a backend with lossAndGradient(data, cell), which may return a promise) compute
 * the same loss and gradient as `reference` (focal-loss)? Checked on small data at each gamma.
 * Returns { loss, gradient, disagreement, text }: the worst relative loss difference and the worst
 * gradient difference relative to the largest reference gradient element.
 */
export async function crossCheckGradient(candidate, reference, gammas) {
  let loss = 0;
  let gradient = 0;
  for (const size of CHECK_SIZES) {
    const data = makeData(size, 7);
    for (const gamma of gammas) {
      const a = await candidate.lossAndGradient(data, { gamma });
      const b = await reference.lossAndGradient(data, { gamma });
      loss = Math.max(loss, Math.abs(a.loss - b.loss) / Math.abs(b.loss));
      let scale = 0;
      let diff = 0;
      for (let i = 0; i < b.grad.length; i++) {
        scale = Math.max(scale, Math.abs(b.grad[i]));
        diff = Math.max(diff, Math.abs(a.grad[i] - b.grad[i]));
      }
      gradient = Math.max(gradient, diff / scale);
    }
  }
  const disagreement = !(loss <= TOLERANCE && gradient <= GRADIENT_TOLERANCE);
  const sizes = CHECK_SIZES.map((s) => s.label).join(' and ');
  const text = `${disagreement ? 'DISAGREES with' : 'agrees with'} focal-loss on ${sizes} (γ = ${gammas.join(', ')}): loss within ${loss.toExponential(1)} relative, gradient within ${gradient.toExponential(1)} of its largest element`;
  return { loss, gradient, disagreement, text };
}
