/**
 * `focal-loss eval`: the focal loss of a batch stored as .npy files, read in chunks of whole rows so
 * that memory stays bounded whatever the file size (a row is one index along the first axis).
 *
 * Every chunk goes through the package's own functions with reduction 'none' (focal loss, then
 * gamma 0 for the cross-entropy beside it); the per-element losses are summed per class in float64.
 * Buffers are allocated once, for the largest chunk, and reused.
 */
import { backend, sigmoidFocalLoss, softmaxFocalLoss } from 'focal-loss';
import type { FloatArray } from 'focal-loss';
import { CliError } from './errors.js';
import { formatNumber, formatPercent, renderTable } from './format.js';
import { formatShape, NpyReader, type Dtype } from './npy.js';
import { createProgress } from './progress.js';

export type Mode = 'sigmoid' | 'softmax';

/**
 * Bytes of logits plus labels per chunk when --chunk-rows is not given: large enough that the per-call
 * overhead vanishes, small beside the memory of Node itself.
 */
export const DEFAULT_CHUNK_BYTES = 16 << 20;
/** The library's defaults (lib/types.ts), stated here because the report prints them. */
export const DEFAULT_GAMMA = 2;
export const DEFAULT_ALPHA: Record<Mode, number | null> = { sigmoid: 0.25, softmax: null };
export const DEFAULT_SOFTMAX_IGNORE_INDEX = -100;
/**
 * The most classes (axis 1) eval reports on. The header alone sets the class count when N is 0, and
 * the report has one entry per class (--json: one JSON text, which V8 caps at 2^29 characters, about
 * 2.5 million classes). At 2^18 an empty report of that many classes peaks near 230 MB and takes about
 * a second; more classes than any classification vocabulary in use. docs/CLI.md states it.
 */
export const MAX_CLASSES = 2 ** 18;

export interface EvalOptions {
  logits: string;
  labels: string;
  /** Forced by --sigmoid / --softmax; otherwise inferred from the shapes. */
  mode?: Mode;
  gamma?: number;
  /** undefined: the library's default for the mode. */
  alpha?: number | number[] | null;
  /** undefined: -100 for softmax labels, none for sigmoid targets. */
  ignoreIndex?: number;
  /** Rows per chunk; undefined: about DEFAULT_CHUNK_BYTES of data per chunk. */
  chunkRows?: number;
  progress?: boolean;
}

export interface ClassReport {
  class: number;
  /**
   * Softmax: samples of this true class. Sigmoid [N, C]: positive targets (>= 0.5) in this column.
   * Sigmoid [N]: elements whose target rounds to this class.
   */
  count: number;
  /** Elements whose losses `meanLoss` averages (softmax: = count; sigmoid [N, C]: the column's elements). */
  elements: number;
  meanLoss: number | null;
  meanCrossEntropy: number | null;
  /** This class's part of the summed focal loss. */
  share: number | null;
}

export interface EvalReport {
  mode: Mode;
  /** 'labels': one integer class per sample; 'targets': shaped like the logits (sigmoid, or soft softmax). */
  labelKind: 'labels' | 'targets';
  logits: { file: string; dtype: string; shape: number[] };
  labels: { file: string; dtype: string; shape: number[] };
  gamma: number;
  alpha: number | number[] | null;
  ignoreIndex: number | null;
  backend: string;
  /** Samples (softmax) or elements (sigmoid) that count: all but the ignored ones. */
  count: number;
  ignored: number;
  /** Mean focal loss over `count`. */
  focalLoss: number;
  /** Mean of the same loss with gamma 0 (and the same alpha): the cross-entropy the focal loss reweights. */
  crossEntropy: number;
  classes: ClassReport[];
  chunks: number;
  chunkRows: number;
}

const LOGITS_HINT = 'expected float32 or float64 logits';
const LABELS_HINT = 'expected integer labels or float32/float64 targets';

type RawView =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

function rawView(dtype: Dtype, buffer: ArrayBuffer): RawView {
  switch (dtype.name) {
    case 'float32':
      return new Float32Array(buffer);
    case 'float64':
      return new Float64Array(buffer);
    case 'int8':
      return new Int8Array(buffer);
    case 'bool':
    case 'uint8':
      return new Uint8Array(buffer);
    case 'int16':
      return new Int16Array(buffer);
    case 'uint16':
      return new Uint16Array(buffer);
    case 'int32':
      return new Int32Array(buffer);
    case 'uint32':
      return new Uint32Array(buffer);
    case 'int64':
      return new BigInt64Array(buffer);
    case 'uint64':
      return new BigUint64Array(buffer);
  }
}

/** numpy's index of a flat position, e.g. (12, 3), for messages that point into the file. */
function unravel(flat: number, shape: readonly number[]): string {
  const index: number[] = [];
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const d = shape[axis]!;
    index.unshift(d > 0 ? flat % d : 0);
    flat = d > 0 ? Math.floor(flat / d) : 0;
  }
  return formatShape(index);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

interface Plan {
  mode: Mode;
  labelKind: 'labels' | 'targets';
}

/**
 * Sigmoid when the shapes are equal; softmax when the labels have the logits' shape without axis 1
 * (labels [N] for logits [N, C], [N, H, W] for [N, C, H, W]). --softmax with equal shapes means soft targets.
 */
function plan(logits: NpyReader, labels: NpyReader, forced: Mode | undefined): Plan {
  const L = logits.header.shape;
  const T = labels.header.shape;
  const hardShape = L.length >= 2 ? [L[0]!, ...L.slice(2)] : undefined;
  const equal = sameShape(L, T);
  const hard = hardShape !== undefined && sameShape(hardShape, T);
  const expected =
    forced === 'sigmoid'
      ? [`${formatShape(L)} (sigmoid targets)`]
      : [
          ...(hardShape ? [`${formatShape(hardShape)} (softmax labels)`] : []),
          `${formatShape(L)} (${forced === 'softmax' ? 'soft softmax targets' : 'sigmoid targets'})`,
        ];
  const mismatch = () =>
    new CliError(
      `${labels.name}: shape ${formatShape(T)} does not match the logits' ${formatShape(L)}; ` +
        `expected ${expected.join(' or ')}`,
    );
  if (forced === 'softmax') {
    if (L.length < 2) {
      throw new CliError(
        `${logits.name}: --softmax needs logits of at least 2 dimensions [N, C, ...], not ${formatShape(L)}`,
      );
    }
    if (hard) return { mode: 'softmax', labelKind: 'labels' };
    if (equal) return { mode: 'softmax', labelKind: 'targets' };
    throw mismatch();
  }
  if (forced === 'sigmoid') {
    if (equal) return { mode: 'sigmoid', labelKind: 'targets' };
    throw mismatch();
  }
  if (equal) return { mode: 'sigmoid', labelKind: 'targets' };
  if (hard) return { mode: 'softmax', labelKind: 'labels' };
  throw mismatch();
}

/** A library error about `labels[i]` / `targets[i]` (an index in the chunk), told as the file's element. */
function locateLibraryError(error: unknown, labels: NpyReader, flatOffset: number): CliError | undefined {
  if (!(error instanceof RangeError || error instanceof TypeError)) return undefined;
  const match = /\b(labels|targets)\[(\d+)\]/.exec(error.message);
  if (!match) return new CliError(error.message);
  const flat = flatOffset + Number(match[2]);
  const message = error.message.replace(match[0], `${match[1]}[${flat}]`);
  return new CliError(`${labels.name}: at index ${unravel(flat, labels.header.shape)}: ${message}`);
}

export function evaluate(options: EvalOptions): EvalReport {
  const logits = NpyReader.open(options.logits, options.logits, LOGITS_HINT);
  let labels: NpyReader | undefined;
  try {
    labels = NpyReader.open(options.labels, options.labels, LABELS_HINT);
    return run(logits, labels, options);
  } finally {
    logits.close();
    labels?.close();
  }
}

function run(logits: NpyReader, labels: NpyReader, options: EvalOptions): EvalReport {
  const zType = logits.header.dtype;
  const tType = labels.header.dtype;
  if (zType.kind !== 'f') {
    throw new CliError(`${logits.name}: unsupported dtype '${zType.descr}' (${LOGITS_HINT})`);
  }
  if (logits.header.shape.length === 0) {
    throw new CliError(`${logits.name}: a 0-d array; expected logits of shape (N,) or (N, C, ...)`);
  }
  const { mode, labelKind } = plan(logits, labels, options.mode);
  const L = logits.header.shape;
  // Classes: softmax and sigmoid [N, C, ...] have C = axis 1; sigmoid [N] has the two target classes 0
  // and 1. C is read from the header, not bounded by the data when N is 0: bound it before allocating.
  const C = L.length >= 2 ? L[1]! : 2;
  if (C > MAX_CLASSES) {
    throw new CliError(
      `${logits.name}: shape ${formatShape(L)} has ${C} classes (axis 1); eval reports at most ${MAX_CLASSES}`,
    );
  }
  if (mode === 'softmax' && C === 0) {
    throw new CliError(
      `${logits.name}: shape ${formatShape(L)} has no classes (axis 1 is 0); softmax needs at least 1`,
    );
  }
  // No element to read (N = 0, or another dimension 0): an empty report, without reading or allocating
  // by the other dimensions (which may multiply to anything), nor counting empty rows chunk by chunk.
  const empty = logits.length === 0;
  const gamma = options.gamma ?? DEFAULT_GAMMA;
  const alpha = options.alpha === undefined ? DEFAULT_ALPHA[mode] : options.alpha;
  if (Array.isArray(alpha) && mode === 'sigmoid') {
    throw new CliError('--alpha: a per-class list needs softmax (sigmoid alpha is one number in [0, 1], or none)');
  }
  const hardLabels = mode === 'softmax' && labelKind === 'labels';
  const ignoreIndex = options.ignoreIndex ?? (hardLabels ? DEFAULT_SOFTMAX_IGNORE_INDEX : undefined);
  if (mode === 'softmax' && labelKind === 'targets' && options.ignoreIndex !== undefined) {
    throw new CliError('--ignore-index applies to integer labels, not to soft targets shaped like the logits');
  }

  // Positions per class per row.
  const S = empty ? 0 : L.slice(2).reduce((a, d) => a * d, 1);
  const Float = zType.name === 'float32' ? Float32Array : Float64Array;
  /** rows undefined: the layout [*, C], for the check of the options alone. */
  const softmaxOptions = (rows: number | undefined, g: number) => ({
    ...(L.length === 2 || rows === undefined ? { numClasses: C } : { shape: [rows, ...L.slice(1)], classAxis: 1 }),
    gamma: g,
    alpha,
    ...(hardLabels ? { ignoreIndex } : {}),
    reduction: 'none' as const,
  });
  const call = (z: FloatArray, t: Int32Array | FloatArray, rows: number, g: number, out: FloatArray) =>
    mode === 'softmax'
      ? softmaxFocalLoss(z, t, { ...softmaxOptions(rows, g), out: { loss: out } })
      : sigmoidFocalLoss(z, t, {
          gamma: g,
          alpha: alpha as number | null,
          reduction: 'none',
          out: { loss: out },
        });

  // Options are checked on an empty batch first, so that a bad --alpha fails before any data are read
  // (with numClasses: the layout of the file plays no part, and its spatial dimensions may be absurd).
  try {
    const t = hardLabels || (mode === 'sigmoid' && tType.kind !== 'f') ? new Int32Array(0) : new Float(0);
    if (mode === 'softmax') {
      softmaxFocalLoss(new Float(0), t, softmaxOptions(undefined, gamma));
    } else {
      call(new Float(0), t, 0, gamma, new Float(0));
    }
  } catch (error) {
    if (!(error instanceof RangeError || error instanceof TypeError)) throw error;
    // The library names its options (options.alpha); the user typed flags (--alpha).
    throw new CliError(error.message.replace(/options\.(\w+)/g, (_, name: string) => `--${kebab(name)}`));
  }

  const N = logits.rows;
  const zRowBytes = logits.rowElements * zType.size;
  const tRowBytes = labels.rowElements * tType.size;
  const chunkRows = empty
    ? 0
    : Math.max(
        1,
        Math.min(N, options.chunkRows ?? Math.floor(DEFAULT_CHUNK_BYTES / Math.max(1, zRowBytes + tRowBytes))),
      );
  const zElems = chunkRows * logits.rowElements;
  const tElems = chunkRows * labels.rowElements;
  const outElems = mode === 'softmax' ? chunkRows * S : zElems;

  // The reused buffers: raw bytes of both files, labels decoded for the library, two loss arrays.
  const zBuffer = new ArrayBuffer(zElems * zType.size);
  const zBytes = new Uint8Array(zBuffer);
  const zAll = new Float(zBuffer);
  const tBuffer = new ArrayBuffer(tElems * tType.size);
  const tBytes = new Uint8Array(tBuffer);
  const tRaw = rawView(tType, tBuffer);
  // Integer labels become Int32Array (the library's widest integer type); float targets the logits' type,
  // which is the precision the library reads them in anyway.
  const integerInput = hardLabels || (mode === 'sigmoid' && tType.kind !== 'f');
  const tInt = integerInput ? new Int32Array(tElems) : undefined;
  const tFloat = integerInput ? undefined : new Float(tElems);
  const ignoredMask = mode === 'sigmoid' && ignoreIndex !== undefined ? new Uint8Array(tElems) : undefined;
  const focal = new Float(outElems);
  const ce = gamma === 0 ? focal : new Float(outElems);

  const count = new Float64Array(C);
  const elements = new Float64Array(C);
  const sumFocal = new Float64Array(C);
  const sumCe = new Float64Array(C);
  let ignored = 0;
  let chunks = 0;

  const progress = createProgress(N, options.progress ?? true, 'focal-loss eval');
  try {
    for (let row = 0; !empty && row < N; row += chunkRows) {
      const rows = Math.min(chunkRows, N - row);
      const nz = rows * logits.rowElements;
      const nt = rows * labels.rowElements;
      const flatOffset = row * labels.rowElements;
      logits.readRows(row, rows, zBytes);
      labels.readRows(row, rows, tBytes);
      const z = zAll.subarray(0, nz);
      const t = decode(tRaw, nt, tInt, tFloat, labels, flatOffset, hardLabels);
      if (ignoredMask) ignored += maskIgnored(t, nt, ignoreIndex!, ignoredMask);

      const nOut = mode === 'softmax' ? rows * S : nz;
      const f = focal.subarray(0, nOut);
      const c = ce.subarray(0, nOut);
      try {
        call(z, t, rows, gamma, f);
        if (gamma !== 0) call(z, t, rows, 0, c);
      } catch (error) {
        throw locateLibraryError(error, labels, flatOffset) ?? error;
      }

      if (mode === 'softmax' && hardLabels) {
        const y = t as Int32Array;
        for (let s = 0; s < nOut; s++) {
          const k = y[s]!;
          if (k === ignoreIndex) {
            ignored++;
            continue;
          }
          count[k]++;
          sumFocal[k] += f[s]!;
          sumCe[k] += c[s]!;
        }
      } else if (mode === 'softmax') {
        // Soft targets: a sample belongs to the class its target weights most.
        for (let n = 0; n < rows; n++) {
          for (let p = 0; p < S; p++) {
            let best = 0;
            for (let k = 1; k < C; k++) {
              if (t[n * C * S + k * S + p]! > t[n * C * S + best * S + p]!) best = k;
            }
            const s = n * S + p;
            count[best]++;
            sumFocal[best] += f[s]!;
            sumCe[best] += c[s]!;
          }
        }
      } else if (L.length === 1) {
        for (let e = 0; e < nz; e++) {
          if (ignoredMask?.[e]) continue;
          const k = t[e]! >= 0.5 ? 1 : 0;
          count[k]++;
          sumFocal[k] += f[e]!;
          sumCe[k] += c[e]!;
        }
      } else {
        // Sigmoid [N, C, ...]: element (n, k, p) is at (n * C + k) * S + p; class k is column k.
        for (let n = 0, e = 0; n < rows; n++) {
          for (let k = 0; k < C; k++) {
            for (let p = 0; p < S; p++, e++) {
              if (ignoredMask?.[e]) continue;
              if (t[e]! >= 0.5) count[k]++;
              elements[k]++;
              sumFocal[k] += f[e]!;
              sumCe[k] += c[e]!;
            }
          }
        }
      }
      chunks++;
      progress.update(row + rows);
    }
  } finally {
    progress.stop();
  }

  const perClassElements = mode === 'sigmoid' && L.length >= 2 ? elements : count;
  let total = 0;
  let totalFocal = 0;
  let totalCe = 0;
  for (let k = 0; k < C; k++) {
    total += perClassElements[k]!;
    totalFocal += sumFocal[k]!;
    totalCe += sumCe[k]!;
  }
  const classes: ClassReport[] = Array.from({ length: C }, (_, k) => {
    const n = perClassElements[k]!;
    return {
      class: k,
      count: count[k]!,
      elements: n,
      meanLoss: n > 0 ? sumFocal[k]! / n : null,
      meanCrossEntropy: n > 0 ? sumCe[k]! / n : null,
      share: totalFocal !== 0 ? sumFocal[k]! / totalFocal : null,
    };
  });
  return {
    mode,
    labelKind,
    logits: { file: logits.name, dtype: zType.name, shape: [...L] },
    labels: { file: labels.name, dtype: tType.name, shape: [...labels.header.shape] },
    gamma,
    alpha,
    ignoreIndex: ignoreIndex ?? null,
    backend: backend().name,
    count: total,
    ignored,
    // As the library's 'mean': 0 when nothing counts.
    focalLoss: total > 0 ? totalFocal / total : 0,
    crossEntropy: total > 0 ? totalCe / total : 0,
    classes,
    chunks,
    chunkRows,
  };
}

/**
 * The chunk's labels as the library takes them. Integer labels are copied into Int32Array, checking
 * what does not fit (uint32 above 2^31 - 1, int64, uint64); float labels for softmax must be whole numbers.
 */
function decode(
  raw: RawView,
  n: number,
  tInt: Int32Array | undefined,
  tFloat: FloatArray | undefined,
  labels: NpyReader,
  flatOffset: number,
  hardLabels: boolean,
): Int32Array | FloatArray {
  const bad = (i: number, expected: string, value: unknown) =>
    new CliError(
      `${labels.name}: at index ${unravel(flatOffset + i, labels.header.shape)}: ` +
        `expected ${expected} but received ${value}`,
    );
  if (tFloat) {
    // Float targets (sigmoid, or soft softmax targets of any type): converted to the logits' precision.
    if (raw instanceof BigInt64Array || raw instanceof BigUint64Array) {
      for (let i = 0; i < n; i++) tFloat[i] = Number(raw[i]!);
    } else {
      tFloat.set(raw.subarray(0, n));
    }
    return tFloat.subarray(0, n);
  }
  const out = tInt!;
  if (raw instanceof BigInt64Array || raw instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) {
      const v = raw[i]!;
      if (v < -2147483648n || v > 2147483647n) {
        throw bad(i, hardLabels ? 'a class label' : 'a label of 0 or 1', v);
      }
      out[i] = Number(v);
    }
  } else if (raw instanceof Uint32Array) {
    for (let i = 0; i < n; i++) {
      const v = raw[i]!;
      if (v > 2147483647) throw bad(i, hardLabels ? 'a class label' : 'a label of 0 or 1', v);
      out[i] = v;
    }
  } else if (raw instanceof Float32Array || raw instanceof Float64Array) {
    // Softmax labels saved as floats (common after np.concatenate with a float array): whole numbers only.
    for (let i = 0; i < n; i++) {
      const v = raw[i]!;
      if (!Number.isInteger(v) || Math.abs(v) > 2147483647) throw bad(i, 'an integer class label', v);
      out[i] = v;
    }
  } else {
    out.set(raw.subarray(0, n));
  }
  return out.subarray(0, n);
}

/** Sigmoid only: elements whose target is the ignore index are marked, and given target 0 for the library. */
function maskIgnored(t: Int32Array | FloatArray, n: number, ignoreIndex: number, mask: Uint8Array): number {
  let ignored = 0;
  for (let i = 0; i < n; i++) {
    if (t[i] === ignoreIndex) {
      mask[i] = 1;
      t[i] = 0;
      ignored++;
    } else {
      mask[i] = 0;
    }
  }
  return ignored;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function formatAlpha(alpha: number | number[] | null): string {
  if (alpha === null) return 'none';
  return Array.isArray(alpha) ? `[${alpha.join(', ')}]` : String(alpha);
}

/** The report as text: the two means, then the per-class table. */
export function renderReport(r: EvalReport): string {
  const unit = r.mode === 'softmax' ? 'samples' : 'elements';
  const what = r.labelKind === 'labels' ? 'labels' : 'targets';
  const lines = [
    `${r.mode} focal loss: logits ${r.logits.file} ${r.logits.dtype} ${formatShape(r.logits.shape)}, ` +
      `${what} ${r.labels.file} ${r.labels.dtype} ${formatShape(r.labels.shape)}`,
    `gamma ${r.gamma}, alpha ${formatAlpha(r.alpha)}` +
      `${r.ignoreIndex !== null ? `, ignore index ${r.ignoreIndex}` : ''}; backend ${r.backend}`,
    `${r.count} ${unit}${r.ignored > 0 ? ` (${r.ignored} ignored)` : ''}`,
    '',
    `mean focal loss     ${formatNumber(r.focalLoss)}`,
    `mean cross-entropy  ${formatNumber(r.crossEntropy)}  (gamma 0, alpha ${formatAlpha(r.alpha)})`,
    '',
  ];
  const sigmoidColumns = r.mode === 'sigmoid' && r.logits.shape.length >= 2;
  const columns = [
    { header: sigmoidColumns ? 'column' : 'class' },
    { header: sigmoidColumns ? 'positives' : 'count' },
    ...(sigmoidColumns ? [{ header: 'elements' }] : []),
    { header: 'mean loss' },
    { header: 'mean CE' },
    { header: 'share' },
  ];
  const rows = r.classes.map((k) => [
    String(k.class),
    String(k.count),
    ...(sigmoidColumns ? [String(k.elements)] : []),
    k.meanLoss === null ? '–' : formatNumber(k.meanLoss),
    k.meanCrossEntropy === null ? '–' : formatNumber(k.meanCrossEntropy),
    k.share === null ? '–' : formatPercent(k.share),
  ]);
  lines.push(renderTable(columns, rows));
  return lines.join('\n');
}
