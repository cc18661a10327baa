/**
 * NumPy .npy files: the header, and reading whole rows in chunks into a caller's reused buffer.
 *
 * Hand-written rather than a dependency: the format is small and fixed (numpy's NEP 1), and the
 * packages that read it (npyjs and the like) load the whole file into memory, or fetch it, which is
 * what `eval` must not do with a 2 GB file. Only the header is parsed here; the data are plain
 * little-endian C-order values that a typed array views directly.
 *
 * Layout: magic "\x93NUMPY", major and minor version bytes, the header length (uint16 little-endian in
 * version 1.0, uint32 in 2.0 and 3.0), then the header: a Python dict literal such as
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` padded with spaces and a newline
 * (latin-1 in 1.0 and 2.0, utf-8 in 3.0). The data follow.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { CliError, fileErrorMessage } from './errors.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** numpy itself refuses headers above 10 kB by default; this bounds what a corrupt file can make us read. */
const MAX_HEADER_BYTES = 1 << 20;

export type DtypeName =
  'float32' | 'float64' | 'bool' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64';

export interface Dtype {
  name: DtypeName;
  kind: 'f' | 'i' | 'u' | 'b';
  /** Bytes per element. */
  size: number;
  /** The descr as written in the file, e.g. '<f4', for messages. */
  descr: string;
}

export interface NpyHeader {
  version: string;
  dtype: Dtype;
  shape: number[];
  /** Byte offset of the first data byte. */
  dataOffset: number;
}

const DTYPES: Record<string, DtypeName> = {
  f4: 'float32',
  f8: 'float64',
  b1: 'bool',
  i1: 'int8',
  u1: 'uint8',
  i2: 'int16',
  u2: 'uint16',
  i4: 'int32',
  u4: 'uint32',
  i8: 'int64',
  u8: 'uint64',
};

/** The dtype of a descr, or why it is refused. Byte order matters because the data are viewed as they are. */
export function parseDescr(descr: unknown): Dtype | string {
  if (typeof descr !== 'string') return 'a structured dtype is not supported';
  const match = /^([<>|=]?)([a-zA-Z])(\d+)$/.exec(descr);
  if (!match) return `unsupported dtype '${descr}'`;
  const [, order, kind, size] = match;
  const name = DTYPES[`${kind}${size}`];
  if (!name) return `unsupported dtype '${descr}'`;
  const bytes = Number(size);
  // One-byte types have no byte order ('|'); numpy writes '=' only for native order on the writer's machine,
  // which in practice is little-endian.
  if (order === '>' && bytes > 1) {
    return `big-endian data ('${descr}') is not supported; save arr.astype('<${kind}${size}') instead`;
  }
  return { name, kind: kind as Dtype['kind'], size: bytes, descr };
}

/** A tiny reader of the Python literals numpy writes: dict, tuple, list, str, int, True/False/None. */
class LiteralParser {
  private pos = 0;

  constructor(private readonly text: string) {}

  parse(): unknown {
    const value = this.value();
    this.skipSpace();
    if (this.pos !== this.text.length) this.fail('unexpected text after the dict');
    return value;
  }

  private fail(what: string): never {
    throw new SyntaxError(`${what} at character ${this.pos}`);
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  private value(): unknown {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === '{') return this.dict();
    if (c === '(') return this.sequence(')');
    if (c === '[') return this.sequence(']');
    if (c === "'" || c === '"') return this.string(c);
    const word = /^(?:[-+]?\d+L?|True|False|None)/.exec(this.text.slice(this.pos, this.pos + 32));
    if (!word) this.fail('unexpected character');
    this.pos += word[0].length;
    if (word[0] === 'True') return true;
    if (word[0] === 'False') return false;
    if (word[0] === 'None') return null;
    return Number(word[0].replace(/L$/, '')); // Python 2 numpy wrote long dimensions as 3L
  }

  private string(quote: string): string {
    let out = '';
    for (this.pos++; this.pos < this.text.length; this.pos++) {
      const c = this.text[this.pos]!;
      if (c === quote) {
        this.pos++;
        return out;
      }
      if (c === '\\') this.pos++;
      out += this.text[this.pos] ?? '';
    }
    return this.fail('unterminated string');
  }

  /** Items separated by commas, with an optional trailing comma (as in Python's `(3,)`). */
  private items(close: string, item: () => void): void {
    this.pos++;
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === close) {
        this.pos++;
        return;
      }
      item();
      this.skipSpace();
      if (this.text[this.pos] === ',') this.pos++;
      else if (this.text[this.pos] !== close) this.fail(`expected ',' or '${close}'`);
    }
  }

  private sequence(close: string): unknown[] {
    const out: unknown[] = [];
    this.items(close, () => out.push(this.value()));
    return out;
  }

  private dict(): Record<string, unknown> {
    const out: Record<string, unknown> = Object.create(null);
    this.items('}', () => {
      const key = this.value();
      if (typeof key !== 'string') this.fail('expected a string key');
      this.skipSpace();
      if (this.text[this.pos] !== ':') this.fail("expected ':'");
      this.pos++;
      out[key] = this.value();
    });
    return out;
  }
}

/** Where the header ends by the prefix (magic, version, length); the prefix's length if that is bad. */
function headerEnd(prefix: Uint8Array): number {
  if (prefix.length < 12 || MAGIC.some((b, i) => prefix[i] !== b)) return prefix.length;
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const length = prefix[6] === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (length > MAX_HEADER_BYTES) return prefix.length;
  return (prefix[6] === 1 ? 10 : 12) + length;
}

/** Parses the header from the file's first bytes; `name` prefixes every error message. */
export function parseNpyHeader(bytes: Uint8Array, name: string, dtypeHint?: string): NpyHeader {
  const bad = (what: string) => new CliError(`${name}: ${what}`);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw bad('not a .npy file (the magic string \\x93NUMPY is missing)');
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3 || minor !== 0) throw bad(`unsupported .npy format version ${major}.${minor}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw bad('truncated header');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lengthBytes;
  if (headerLength > MAX_HEADER_BYTES) throw bad(`header of ${headerLength} bytes is too long`);
  if (bytes.length < start + headerLength) throw bad('truncated header');
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLength));

  let dict: unknown;
  try {
    dict = new LiteralParser(text).parse();
  } catch (error) {
    throw bad(`malformed header (${(error as Error).message})`);
  }
  if (typeof dict !== 'object' || dict === null || Array.isArray(dict)) {
    throw bad('malformed header (not a dict)');
  }
  const { descr, fortran_order: fortran, shape } = dict as Record<string, unknown>;
  if (descr === undefined || fortran === undefined || shape === undefined) {
    throw bad("malformed header (needs 'descr', 'fortran_order' and 'shape')");
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw bad('malformed header (shape is not a tuple of non-negative integers)');
  }
  const dims = shape as number[];
  // Exact (bigint): the product of float64 dimensions rounds beyond 2^53.
  if (elementCount(dims) > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw bad(`shape ${formatShape(dims)} has more than 2^53 - 1 elements`);
  }
  // A Fortran-ordered array of one dimension has the same bytes as a C-ordered one.
  if (fortran === true && dims.filter((d) => d > 1).length > 1) {
    throw bad('Fortran-ordered arrays are not supported; save np.ascontiguousarray(arr) instead');
  }
  if (typeof fortran !== 'boolean') throw bad('malformed header (fortran_order is not True or False)');
  const dtype = parseDescr(descr);
  if (typeof dtype === 'string') {
    throw bad(dtype.startsWith('unsupported') && dtypeHint ? `${dtype} (${dtypeHint})` : dtype);
  }
  return { version: `${major}.${minor}`, dtype, shape: dims, dataOffset: start + headerLength };
}

/** The number of elements of a shape, exactly. */
export function elementCount(shape: readonly number[]): bigint {
  return shape.reduce((a, d) => a * BigInt(d), 1n);
}

/** `(3, 4)` / `(3,)`, as numpy prints shapes. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/**
 * An open .npy file, read row by row: a row is one index along the first axis (one element of a 1-D
 * array). The file stays open until close(); every read goes into the caller's buffer, so memory does
 * not grow with the file.
 */
export class NpyReader {
  readonly header: NpyHeader;
  /** Elements in the whole array. */
  readonly length: number;
  /** Rows: the first dimension (1 for a 0-d array). */
  readonly rows: number;
  /**
   * Elements per row; 0 for an empty array, which has no row to read even when its other
   * dimensions multiply to more than any buffer holds (shape (0, 2^53 - 1)).
   */
  readonly rowElements: number;
  private fd: number;

  private constructor(
    readonly name: string,
    fd: number,
    header: NpyHeader,
    fileSize: number,
  ) {
    this.fd = fd;
    this.header = header;
    const { shape, dtype, dataOffset } = header;
    // Every size below is bounded by the file: the data must be exactly length * itemsize bytes
    // (compared exactly, in bigint), so nothing allocated from the header exceeds what the file holds.
    this.length = Number(elementCount(shape));
    this.rows = shape.length === 0 ? 1 : shape[0]!;
    this.rowElements = this.length === 0 ? 0 : Number(elementCount(shape.slice(1)));
    const expected = elementCount(shape) * BigInt(dtype.size);
    const actual = BigInt(fileSize - dataOffset);
    if (actual < expected) {
      throw new CliError(
        `${name}: truncated: shape ${formatShape(shape)} needs ${expected} bytes of data, ` +
          `the file has ${actual > 0n ? actual : 0n}`,
      );
    }
    if (actual > expected) {
      throw new CliError(
        `${name}: ${actual - expected} bytes after the data of shape ${formatShape(shape)} (not one array)`,
      );
    }
  }

  /**
   * Opens and checks `path`; errors name the file as `name` (what the user typed). `dtypeHint` says
   * what the caller accepts, for the message about an unsupported dtype.
   */
  static open(path: string, name = path, dtypeHint?: string): NpyReader {
    if (endianness() !== 'LE') throw new CliError('reading .npy files needs a little-endian machine');
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      throw new CliError(fileErrorMessage(name, error));
    }
    try {
      const size = fstatSync(fd).size;
      // The fixed prefix says how long the header is; read exactly that much (parseNpyHeader reports a
      // bad prefix, so a short or foreign file just yields the prefix and the right message).
      const prefix = new Uint8Array(Math.min(size, 12));
      readFully(fd, prefix, 0, name);
      const head = new Uint8Array(Math.min(size, headerEnd(prefix)));
      readFully(fd, head, 0, name);
      const header = parseNpyHeader(head, name, dtypeHint);
      return new NpyReader(name, fd, header, size);
    } catch (error) {
      closeSync(fd);
      throw error instanceof CliError ? error : new CliError(fileErrorMessage(name, error));
    }
  }

  /** Reads rows [row, row + count) into the start of `into`, which must hold count * rowBytes bytes. */
  readRows(row: number, count: number, into: Uint8Array): void {
    const rowBytes = this.rowElements * this.header.dtype.size;
    const bytes = count * rowBytes;
    if (into.byteLength < bytes) throw new RangeError(`buffer of ${into.byteLength} bytes for ${bytes}`);
    readFully(this.fd, into.subarray(0, bytes), this.header.dataOffset + row * rowBytes, this.name);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** readSync until `into` is full: one call may return fewer bytes than asked (large reads, pipes). */
function readFully(fd: number, into: Uint8Array, position: number, name: string): void {
  let done = 0;
  while (done < into.byteLength) {
    let n: number;
    try {
      n = readSync(fd, into, done, into.byteLength - done, position + done);
    } catch (error) {
      throw new CliError(fileErrorMessage(name, error));
    }
    // The size was checked at open: running short now means the file shrank while we read it.
    if (n === 0) {
      throw new CliError(`${name}: truncated (the file ended at byte ${position + done} while reading)`);
    }
    done += n;
  }
}
