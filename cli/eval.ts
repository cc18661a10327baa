/**
 * `focal-loss eval`: the focal loss of a batch stored as .npy files, read in chunks of whole rows so
 * that memory stays bounded whatever the file size (a row is one index along the first axis).
 *
 * Every chunk goes into one of the package's meters (softmaxFocalLossMeter per class for integer
 * labels, sigmoidFocalLossMeter per column for [N, C, ...]): the report is the meter's result, so it
 * does not depend on the chunking, and the meter's state (--state) merges with other evals'
 * (`focal-loss merge`). Buffers are allocated once, for the largest chunk, and reused.
 */
import { basename } from 'node:path';
import { backend, sigmoidFocalLossMeter, softmaxFocalLossMeter } from 'focal-loss';
import type { FloatArray, FocalLossMeter, FocalLossMeterState } from 'focal-loss';
import { CliError } from './errors.js';
import { formatShape, NpyReader, type Dtype } from './npy.js';
import { createProgress } from './progress.js';
import { evalReport, type EvalReport, type Mode } from './report.js';

export type { Mode } from './report.js';

/**
 * Bytes of logits plus labels per chunk when --chunk-rows is not given: large enough that the per-call
 * overhead vanishes, small beside the memory of Node itself.
 */
export const DEFAULT_CHUNK_BYTES = 16 << 20;
/** The library's defaults (lib/types.ts), stated here because the report prints them. */
export const DEFAULT_GAMMA = 2;
export const DEFAULT_ALPHA: Record<Mode, number | null> = { sigmoid: 0.25, softmax: null };
/**
 * The most classes (axis 1) eval reports on. The header alone sets the class count when N is 0, and
 * the report has one entry per class (--json: one JSON text, which V8 caps at 2^29 characters, about
 * 2.5 million classes). At 2^18 an empty report of that many classes peaks near 600 MB and takes about
 * 3 s (the meter's two reproducible sums per class, and its state); more classes than any
 * classification vocabulary in use. docs/CLI.md states it.
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
  /** The meter's shard name; undefined: the logits file's base name. */
  shard?: string;
  /** Rows per chunk; undefined: about DEFAULT_CHUNK_BYTES of data per chunk. */
  chunkRows?: number;
  progress?: boolean;
}

export interface Evaluation {
  report: EvalReport;
  /** The meter's state, for --state (and `focal-loss merge`). */
  state: FocalLossMeterState;
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

export function evaluate(options: EvalOptions): Evaluation {
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

/** A library error about an option (options.alpha), told as the flag the user typed (--alpha). */
function asFlagError(error: unknown): unknown {
  if (!(error instanceof RangeError || error instanceof TypeError)) return error;
  return new CliError(error.message.replace(/options\.(\w+)/g, (_, name: string) => `--${kebab(name)}`));
}

function run(logits: NpyReader, labels: NpyReader, options: EvalOptions): Evaluation {
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
  // Classes (axis 1): softmax and sigmoid [N, C, ...]; sigmoid [N] has none. C is read from the
  // header, not bounded by the data when N is 0: bound it before the meter allocates per class.
  const C = L.length >= 2 ? L[1]! : 1;
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
  if (mode === 'softmax' && labelKind === 'targets' && options.ignoreIndex !== undefined) {
    throw new CliError('--ignore-index applies to integer labels, not to soft targets shaped like the logits');
  }
  // Per class: softmax integer labels (by true class), sigmoid [N, C, ...] (by column, C >= 1).
  const perClass = hardLabels || (mode === 'sigmoid' && L.length >= 2 && C >= 1);
  const shard = options.shard ?? basename(logits.name);

  // The meter checks every option now, before any data is read (with numClasses: the layout of the
  // file plays no part, and its spatial dimensions may be absurd).
  let meter: FocalLossMeter;
  try {
    meter =
      mode === 'softmax'
        ? softmaxFocalLossMeter({
            numClasses: C,
            gamma,
            alpha,
            ...(hardLabels && options.ignoreIndex !== undefined ? { ignoreIndex: options.ignoreIndex } : {}),
            perClass,
            shard,
          })
        : sigmoidFocalLossMeter({
            gamma,
            alpha: alpha as number | null,
            ...(options.ignoreIndex !== undefined ? { ignoreIndex: options.ignoreIndex } : {}),
            ...(perClass ? { perClass, numClasses: C } : {}),
            shard,
          });
  } catch (error) {
    throw asFlagError(error);
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
  const Float = zType.name === 'float32' ? Float32Array : Float64Array;

  // The reused buffers: raw bytes of both files, and the labels decoded for the library.
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
      // [N, C, ...spatial]: the chunk's layout (C alone says [N, C]).
      const addOptions =
        L.length > 2 && (perClass || mode === 'softmax') ? { shape: [rows, ...L.slice(1)] } : undefined;
      try {
        meter.add(z, t, addOptions);
      } catch (error) {
        throw locateLibraryError(error, labels, flatOffset) ?? error;
      }
      progress.update(row + rows);
    }
  } finally {
    progress.stop();
  }

  const info = (r: NpyReader) => ({ file: r.name, dtype: r.header.dtype.name, shape: [...r.header.shape] });
  const state = meter.state();
  return { report: evalReport(state, meter.result(), info(logits), info(labels), backend().name), state };
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

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
