/** Plain-text output: aligned tables and number formats shared by the commands. */

export interface Column {
  header: string;
  /** Numbers read best right-aligned; labels left-aligned. Default 'right'. */
  align?: 'left' | 'right';
}

/** An aligned table: a header row, a rule, then the rows; columns separated by two spaces. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  // Loops, not Math.max(...rows) or [...rows]: spreading 10^5 rows overflows the call stack.
  const widths = columns.map((c) => width(c.header));
  for (const row of rows) columns.forEach((_, i) => (widths[i] = Math.max(widths[i]!, width(row[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => {
        const pad = ' '.repeat(widths[i]! - width(cell));
        return columns[i]!.align === 'left' ? cell + pad : pad + cell;
      })
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const lines = [line(columns.map((c) => c.header)), rule];
  for (const row of rows) lines.push(line(row));
  return lines.join('\n') + '\n';
}

/** Display width: code points, so that 'γ' counts as one column. */
function width(text: string): number {
  return [...text].length;
}

/** Six significant digits, the precision a loss is worth reading at; JSON output keeps all of them. */
export function formatNumber(value: number, digits = 6): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e-4 && abs < 1e6) return value.toPrecision(digits);
  return value.toExponential(digits - 1);
}

/** A share in [0, 1] as a percentage with one decimal ('–' when undefined, e.g. a zero total). */
export function formatPercent(value: number): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : '–';
}

/** Gamma values as typed ('0.5', '16'), for headers and legends. */
export function formatGamma(gamma: number): string {
  return String(gamma);
}
