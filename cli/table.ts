/**
 * `focal-loss table`: the seed article's table (docs/NUMERICS.md), computed by this package, not copied.
 * Softmax over logits [0, 0.1, ..., 1.0] (11 classes), one sample per true class, alpha none, for
 * gamma in 0, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 16. The article prints 2 decimals and speaks of "2×" and
 * "16×" reductions; the exact ratios are 2.37× and 11.73×.
 */
import { softmaxFocalLoss } from 'focal-loss';
import { formatGamma, renderTable, type Column } from './format.js';

export const SEED_GAMMAS: readonly number[] = [0, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 16];
export const SEED_CLASSES = 11;

export interface SeedRow {
  trueClass: number;
  /** The true class's logit, i / 10. */
  logit: number;
  /** Softmax probability of the true class: exp(-loss at gamma 0), the cross-entropy's definition. */
  pTrue: number;
  /** One loss per gamma, in the order of `gammas`. */
  losses: number[];
  /** Loss at gamma 0 over loss at gamma 16: how much the focusing shrinks this sample's loss. */
  ratio: number;
}

export interface SeedTable {
  logits: number[];
  gammas: number[];
  rows: SeedRow[];
}

export function seedTable(): SeedTable {
  const logits = Array.from({ length: SEED_CLASSES }, (_, j) => j / 10);
  const batch = new Float64Array(SEED_CLASSES * SEED_CLASSES);
  for (let i = 0; i < SEED_CLASSES; i++) batch.set(logits, i * SEED_CLASSES);
  const labels = Int32Array.from({ length: SEED_CLASSES }, (_, i) => i);
  const columns = SEED_GAMMAS.map(
    (gamma) =>
      softmaxFocalLoss(batch, labels, { numClasses: SEED_CLASSES, gamma, alpha: null, reduction: 'none' })
        .loss as Float64Array,
  );
  const last = SEED_GAMMAS.indexOf(16);
  const rows = logits.map((logit, i) => ({
    trueClass: i,
    logit,
    pTrue: Math.exp(-columns[0]![i]!),
    losses: columns.map((c) => c[i]!),
    ratio: columns[0]![i]! / columns[last]![i]!,
  }));
  return { logits, gammas: [...SEED_GAMMAS], rows };
}

/** The table as text; losses with `digits` decimals (4 by default: 2.7474, where the article has 2.75). */
export function renderSeedTable(table: SeedTable, digits = 4): string {
  const columns: Column[] = [
    { header: 'class' },
    { header: 'logit' },
    { header: 'p_t' },
    ...table.gammas.map((g) => ({ header: `γ=${formatGamma(g)}` })),
    { header: 'γ0/γ16' },
  ];
  const rows = table.rows.map((r) => [
    String(r.trueClass),
    r.logit.toFixed(1),
    r.pTrue.toFixed(digits),
    ...r.losses.map((l) => l.toFixed(digits)),
    `${r.ratio.toFixed(2)}×`,
  ]);
  const first = table.rows[0]!;
  const end = table.rows[table.rows.length - 1]!;
  return [
    `Softmax focal loss -(1 - p_t)^γ log(p_t), logits [0, 0.1, …, 1.0] over ${table.rows.length} classes,`,
    "one sample per true class, no alpha (the seed article's table, exact; its text rounds to 2 decimals).",
    '',
    renderTable(columns, rows),
    `γ=0 / γ=16: ${first.ratio.toFixed(2)}× for logit ${first.logit.toFixed(1)}, ` +
      `${end.ratio.toFixed(2)}× for logit ${end.logit.toFixed(1)} (the article says 2× and 16×).`,
    '',
  ].join('\n');
}
