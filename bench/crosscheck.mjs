// Do all backends compute the same loss? Compares each row's loss value (what the last timed call
// of each cell returned) with the first native row's (or the JS fallback's). float32 frameworks
// summing 1e7 terms differ in the last digits; a wrong formula or a different alpha by far more.

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
