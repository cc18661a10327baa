/**
 * The report of `eval` and `merge`: the numbers of one meter (its result and its options), so that
 * an `eval` over all the data and a `merge` of `eval --state` over its parts print the same report,
 * but for the header (the files read, the shards).
 */
import type { FocalLossMeterResult, FocalLossMeterState } from 'focal-loss';
import { formatNumber, formatPercent, renderTable } from './format.js';
import { formatShape } from './npy.js';

export type Mode = 'sigmoid' | 'softmax';

export interface ClassReport {
  class: number;
  /** Softmax: samples of this true class. Sigmoid [N, C, ...]: elements of this column. Ignored ones excluded. */
  count: number;
  meanLoss: number | null;
  meanCrossEntropy: number | null;
  /** This class's part of the summed focal loss. */
  share: number | null;
}

/** What a meter says: the same for an eval and for a merge of its parts. */
export interface LossReport {
  mode: Mode;
  /** 'labels': one integer class per sample (softmax, per class); 'targets': shaped like the logits. */
  labelKind: 'labels' | 'targets';
  /** The shards whose data is in the report, sorted. */
  shards: string[];
  gamma: number;
  alpha: number | number[] | null;
  ignoreIndex: number | null;
  /** Samples (softmax) or elements (sigmoid) that count: all but the ignored ones. */
  count: number;
  /** The summed focal loss (the library's reduction 'sum'). */
  sum: number;
  /** Mean focal loss over `count`. */
  focalLoss: number;
  /** Mean of the same loss with gamma 0 (and the same alpha): the cross-entropy the focal loss reweights. */
  crossEntropy: number;
  /** Softmax with integer labels: per true class; sigmoid [N, C, ...]: per column; otherwise none. */
  classes: ClassReport[];
}

export interface FileInfo {
  file: string;
  dtype: string;
  shape: number[];
}

/** `eval`: the files it read and the backend that computed, then the meter's report. */
export type EvalReport = Pick<LossReport, 'mode' | 'labelKind'> & {
  logits: FileInfo;
  labels: FileInfo;
  backend: string;
} & Omit<LossReport, 'mode' | 'labelKind'>;

/** `merge`: the state files it read, then the merged meter's report. */
export type MergeReport = Pick<LossReport, 'mode' | 'labelKind'> & { states: string[] } & Omit<
    LossReport,
    'mode' | 'labelKind'
  >;

/**
 * The report of a meter that eval made (or merged from states that evals wrote), from its state
 * (the options and shards; taken once by the caller, who also writes it) and its result.
 */
export function lossReport(state: FocalLossMeterState, result: FocalLossMeterResult): LossReport {
  const options = state.options as unknown as Record<string, unknown>;
  const mode = state.loss;
  // eval keeps classes for integer softmax labels and for sigmoid [N, C, ...]; soft softmax targets
  // have none (a sample has no one class), and no ignore index.
  const labelKind = mode === 'softmax' && options.perClass === true ? 'labels' : 'targets';
  const alpha = options.alpha as number | number[] | null;
  const hasTotal = result.sum > 0;
  return {
    mode,
    labelKind,
    shards: [...state.shards],
    gamma: options.gamma as number,
    // A softmax meter states alpha none as 1 (the same losses): the report says none, as it was given.
    alpha: mode === 'softmax' && alpha === 1 ? null : alpha,
    ignoreIndex: mode === 'softmax' && labelKind === 'targets' ? null : (options.ignoreIndex as number | null),
    count: result.count,
    sum: result.sum,
    focalLoss: result.loss,
    crossEntropy: result.crossEntropy,
    classes: (result.perClass ?? []).map((c) => ({
      class: c.class,
      count: c.count,
      meanLoss: c.count > 0 ? c.loss : null,
      meanCrossEntropy: c.count > 0 ? c.crossEntropy : null,
      share: hasTotal ? c.share : null,
    })),
  };
}

export function evalReport(
  state: FocalLossMeterState,
  result: FocalLossMeterResult,
  logits: FileInfo,
  labels: FileInfo,
  backend: string,
): EvalReport {
  const { mode, labelKind, ...rest } = lossReport(state, result);
  return { mode, labelKind, logits, labels, backend, ...rest };
}

export function mergeReport(state: FocalLossMeterState, result: FocalLossMeterResult, states: string[]): MergeReport {
  const { mode, labelKind, ...rest } = lossReport(state, result);
  return { mode, labelKind, states, ...rest };
}

function formatAlpha(alpha: number | number[] | null): string {
  if (alpha === null) return 'none';
  return Array.isArray(alpha) ? `[${alpha.join(', ')}]` : String(alpha);
}

/** The report as text: two header lines (what was read, the shards), the options, the means, the classes. */
export function renderReport(r: EvalReport | MergeReport): string {
  const unit = r.mode === 'softmax' ? 'samples' : 'elements';
  const what = r.labelKind === 'labels' ? 'labels' : 'targets';
  const source =
    'states' in r
      ? `${r.states.length} state${r.states.length === 1 ? '' : 's'} merged: ${r.states.join(', ')}`
      : `logits ${r.logits.file} ${r.logits.dtype} ${formatShape(r.logits.shape)}, ` +
        `${what} ${r.labels.file} ${r.labels.dtype} ${formatShape(r.labels.shape)}; backend ${r.backend}`;
  const lines = [
    `${r.mode} focal loss: ${source}`,
    `${r.shards.length === 1 ? 'shard' : 'shards'} ${r.shards.join(', ')}`,
    `gamma ${r.gamma}, alpha ${formatAlpha(r.alpha)}${r.ignoreIndex !== null ? `, ignore index ${r.ignoreIndex}` : ''}`,
    `${r.count} ${unit}`,
    '',
    `mean focal loss     ${formatNumber(r.focalLoss)}`,
    `mean cross-entropy  ${formatNumber(r.crossEntropy)}  (gamma 0, alpha ${formatAlpha(r.alpha)})`,
    '',
  ];
  if (r.classes.length === 0) return lines.join('\n');
  const columns = r.mode === 'sigmoid' ? 'column' : 'class';
  const rows = r.classes.map((k) => [
    String(k.class),
    String(k.count),
    k.meanLoss === null ? '–' : formatNumber(k.meanLoss),
    k.meanCrossEntropy === null ? '–' : formatNumber(k.meanCrossEntropy),
    k.share === null ? '–' : formatPercent(k.share),
  ]);
  lines.push(
    renderTable(
      [
        { header: columns },
        { header: r.mode === 'sigmoid' ? 'elements' : 'count' },
        { header: 'mean loss' },
        { header: 'mean CE' },
        { header: 'share' },
      ],
      rows,
    ),
  );
  return lines.join('\n');
}
