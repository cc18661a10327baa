/**
 * The seed article's table (docs/NUMERICS.md): logits [0, 0.1, ..., 1.0] over 11 classes, one sample per true
 * class, alpha none, gamma in {0, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 16}. Exact values from
 * test/fixtures/seed_table.csv (written by test/fixtures/seed_table.py), to 1e-12 relative in float64.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backends } from './backends.js';
import { Checker, TOL, lossArray } from './helpers.js';
import { refSoftmax } from './reference.js';

const csvPath = fileURLToPath(new URL('./fixtures/seed_table.csv', import.meta.url));

interface SeedTable {
  gammas: number[];
  rows: { trueClass: number; logit: number; pTrue: number; losses: number[] }[];
}

function parseSeedTable(text: string): SeedTable {
  const lines = text.trim().split(/\r?\n/);
  const header = lines[0]!.split(',');
  expect(header.slice(0, 3)).toEqual(['true_class', 'logit', 'p_true']);
  const gammas = header.slice(3).map((h) => {
    expect(h.startsWith('gamma_')).toBe(true);
    return Number(h.slice('gamma_'.length));
  });
  const rows = lines.slice(1).map((line) => {
    const cells = line.split(',').map(Number);
    expect(cells.every(Number.isFinite)).toBe(true);
    return { trueClass: cells[0]!, logit: cells[1]!, pTrue: cells[2]!, losses: cells.slice(3) };
  });
  return { gammas, rows };
}

const table = parseSeedTable(readFileSync(csvPath, 'utf8'));
const C = 11;
const LOGITS = Array.from({ length: C }, (_, i) => i / 10);

describe('seed table', () => {
  it('has the documented shape', () => {
    expect(table.gammas).toEqual([0, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 16]);
    expect(table.rows.map((r) => r.trueClass)).toEqual(Array.from({ length: C }, (_, i) => i));
    expect(table.rows.map((r) => r.logit)).toEqual(LOGITS);
  });

  it('the independent decimal reference reproduces it (sanity check of the reference)', () => {
    const c = new Checker(TOL.float64);
    for (const row of table.rows)
      table.gammas.forEach((gamma, g) => {
        c.close(
          `class ${row.trueClass} gamma ${gamma}`,
          refSoftmax(LOGITS, row.trueClass, { gamma, alpha: null }).loss,
          row.losses[g]!,
        );
      });
    c.assert();
  });
});

for (const { name, api } of backends) {
  describe(`seed table [${name}]`, () => {
    const logits = new Float64Array(C * C);
    for (let n = 0; n < C; n++) logits.set(LOGITS, n * C);
    const labels = Int32Array.from({ length: C }, (_, i) => i);
    const lossFor = (gamma: number) =>
      lossArray(api.softmaxFocalLoss(logits, labels, { numClasses: C, gamma, alpha: null, reduction: 'none' }).loss);

    it('every gamma column matches to 1e-12 relative (float64)', () => {
      const c = new Checker(TOL.float64);
      table.gammas.forEach((gamma, g) => {
        const loss = lossFor(gamma);
        expect(loss).toBeInstanceOf(Float64Array);
        for (const row of table.rows)
          c.close(`class ${row.trueClass} gamma ${gamma}`, loss[row.trueClass]!, row.losses[g]!);
      });
      c.assert();
    });

    it('mean over the 11 samples equals the mean of the column', () => {
      for (const [g, gamma] of table.gammas.entries()) {
        const mean = api.softmaxFocalLoss(logits, labels, { numClasses: C, gamma, alpha: null }).loss as number;
        const expected = table.rows.reduce((a, r) => a + r.losses[g]!, 0) / C;
        expect(Math.abs(mean - expected)).toBeLessThanOrEqual(1e-12 * expected);
      }
    });

    it('the exact ratios of docs/NUMERICS.md: gamma0/gamma16 = 2.37 (class 0), 11.73 (class 10); class 2 gamma 0 = 2.7474', () => {
      const l0 = lossFor(0);
      const l16 = lossFor(16);
      expect((l0[0]! / l16[0]!).toFixed(2)).toBe('2.37');
      expect((l0[10]! / l16[10]!).toFixed(2)).toBe('11.73');
      expect(l0[2]!.toFixed(4)).toBe('2.7474');
      // gamma 0 is the cross-entropy: loss_k = logsumexp(z) - z_k, so consecutive classes differ by exactly 0.1
      for (let k = 1; k < C; k++) expect(Math.abs(l0[k - 1]! - l0[k]! - 0.1)).toBeLessThan(1e-14);
    });
  });
}
