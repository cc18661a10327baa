/**
 * `focal-loss plot`: Figure 1 of Lin et al. as an SVG, FL(p_t) = -(1 - p_t)^γ log(p_t) against the
 * probability of the true class, one curve per gamma. The values come from this package
 * (sigmoidFocalLoss on logit(p) with target 1), so the picture shows what the code computes.
 */
import { sigmoidFocalLoss } from 'focal-loss';
import { formatGamma } from './format.js';

export const DEFAULT_PLOT_GAMMAS: readonly number[] = [0, 0.5, 1, 2, 5];

/** Okabe–Ito colours: distinct for colour-blind readers too; yellow last, as it is faint on white. */
const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];
/** After the colours run out, curves repeat them with a dash pattern so that every curve stays distinct. */
const DASHES = ['', '8 4', '2 3', '8 3 2 3'];

export interface Curve {
  gamma: number;
  p: Float64Array;
  loss: Float64Array;
}

/**
 * Points denser near p = 0, where -log(p) is steep: p = (i / n)^2 puts ~40 of 600 points between the
 * top of the plot (loss 5 at p ≈ 0.0067) and p = 0.01, and steps of at most 0.0033 near p = 1.
 */
export function curveGrid(points = 600): Float64Array {
  return Float64Array.from({ length: points }, (_, i) => ((i + 1) / points) ** 2);
}

export function focalCurves(gammas: readonly number[], p: Float64Array = curveGrid()): Curve[] {
  // logit(p) = log(p / (1 - p)); p = 1 gives +Infinity, whose loss the package returns as its limit, 0.
  const logits = p.map((v) => Math.log(v) - Math.log1p(-v));
  const targets = new Uint8Array(p.length).fill(1);
  return gammas.map((gamma) => ({
    gamma,
    p,
    loss: sigmoidFocalLoss(logits, targets, { gamma, alpha: null, reduction: 'none' }).loss as Float64Array,
  }));
}

const W = 720;
const H = 500;
const M = { left: 72, right: 28, top: 56, bottom: 64 };
const X_MAX = 1;
const Y_MAX = 5;

/** p with a subscript t. */
const PT = 'p<tspan baseline-shift="sub" font-size="0.75em">t</tspan>';

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The SVG document. The curves are clipped to the plot area (the loss tends to infinity at p = 0). */
export function renderPlot(curves: readonly Curve[]): string {
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const sx = (p: number) => M.left + (p / X_MAX) * plotW;
  const sy = (loss: number) => M.top + plotH - (loss / Y_MAX) * plotH;
  const n = (v: number) => v.toFixed(2);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      'font-family="Helvetica, Arial, sans-serif" font-size="14">',
    '<title>Focal loss against the probability of the true class</title>',
    `<defs><clipPath id="plot-area"><rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}"/>` +
      '</clipPath></defs>',
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
  );

  // The paper's Figure 1 marks p_t > 0.6 as the well-classified examples whose loss the focusing shrinks.
  out.push(
    `<rect x="${n(sx(0.6))}" y="${M.top}" width="${n(sx(1) - sx(0.6))}" height="${plotH}" fill="#f2f2f2"/>`,
    // Above the plot area, so that no legend or curve can cover it.
    `<text x="${n((sx(0.6) + sx(1)) / 2)}" y="${M.top - 8}" text-anchor="middle" font-size="12" ` +
      'fill="#666666">' +
      'well-classified examples</text>',
  );

  // Grid, then tick marks outside the axes at the labelled values.
  const xs = [0, 0.2, 0.4, 0.6, 0.8, 1].map(sx);
  const ys = Array.from({ length: Y_MAX + 1 }, (_, y) => sy(y));
  const bottom = M.top + plotH;
  out.push('<g stroke="#dddddd" stroke-width="1">');
  for (const x of xs) out.push(`<line x1="${n(x)}" y1="${M.top}" x2="${n(x)}" y2="${bottom}"/>`);
  for (const y of ys) out.push(`<line x1="${M.left}" y1="${n(y)}" x2="${M.left + plotW}" y2="${n(y)}"/>`);
  out.push('</g>');
  out.push('<g stroke="#222222" stroke-width="1.5">');
  for (const x of xs) out.push(`<line x1="${n(x)}" y1="${bottom}" x2="${n(x)}" y2="${bottom + 6}"/>`);
  for (const y of ys) out.push(`<line x1="${M.left - 6}" y1="${n(y)}" x2="${M.left}" y2="${n(y)}"/>`);
  out.push('</g>');
  out.push('<g fill="#222222">');
  for (let i = 0; i <= 5; i++) {
    out.push(`<text x="${n(sx(i / 5))}" y="${M.top + plotH + 24}" text-anchor="middle">${(i / 5).toFixed(1)}</text>`);
  }
  for (let y = 0; y <= Y_MAX; y++) {
    out.push(`<text x="${M.left - 12}" y="${n(sy(y) + 5)}" text-anchor="end">${y}</text>`);
  }
  out.push(
    `<text x="${M.left + plotW / 2}" y="${H - 16}" text-anchor="middle">` +
      `probability of the true class, ${PT}</text>`,
    `<text transform="translate(22 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">loss</text>`,
    `<text x="${M.left + plotW / 2}" y="26" text-anchor="middle" font-size="17">` +
      `Focal loss FL(${PT}) = −(1 − ${PT})` +
      `<tspan baseline-shift="super" font-size="12">γ</tspan> log(${PT})</text>`,
    '</g>',
  );

  // Curves, one path each.
  out.push('<g clip-path="url(#plot-area)" fill="none" stroke-width="2.5" stroke-linejoin="round">');
  curves.forEach((curve, k) => {
    const points: string[] = [];
    for (let i = 0; i < curve.p.length; i++) {
      // Points far above the plot are all clipped; keep only the last before the curve enters it.
      if (curve.loss[i]! > 2 * Y_MAX && curve.loss[i + 1]! > 2 * Y_MAX) continue;
      points.push(`${n(sx(curve.p[i]!))},${n(sy(Math.min(curve.loss[i]!, 4 * Y_MAX)))}`);
    }
    const dash = DASHES[Math.floor(k / COLOURS.length) % DASHES.length]!;
    out.push(
      `<path data-gamma="${curve.gamma}" stroke="${COLOURS[k % COLOURS.length]}"` +
        `${dash ? ` stroke-dasharray="${dash}"` : ''} d="M${points.join('L')}"/>`,
    );
  });
  out.push('</g>');

  // Axes on top of the grid and the curves.
  out.push(
    '<g stroke="#222222" stroke-width="1.5">' +
      `<line x1="${M.left}" y1="${M.top + plotH}" x2="${M.left + plotW}" ` +
      `y2="${M.top + plotH}"/><line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + plotH}"/></g>`,
  );

  // Legend, top right, in the order the gammas were given.
  const rowH = 22;
  const boxW = 112;
  const boxX = M.left + plotW - boxW - 12;
  const boxY = M.top + 12;
  out.push(
    '<g class="legend">',
    `<rect x="${boxX}" y="${boxY}" width="${boxW}" height="${curves.length * rowH + 12}" fill="#ffffff" ` +
      'stroke="#bbbbbb" rx="4"/>',
  );
  curves.forEach((curve, k) => {
    const y = boxY + 6 + rowH * k + rowH / 2;
    const dash = DASHES[Math.floor(k / COLOURS.length) % DASHES.length]!;
    out.push(
      `<line x1="${boxX + 10}" y1="${y}" x2="${boxX + 42}" y2="${y}" ` +
        `stroke="${COLOURS[k % COLOURS.length]}" ` +
        `stroke-width="2.5"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
      `<text x="${boxX + 50}" y="${y + 5}" fill="#222222">` + `${escapeXml(`γ = ${formatGamma(curve.gamma)}`)}</text>`,
    );
  });
  out.push('</g>', '</svg>', '');
  return out.join('\n');
}
