/**
 * The request body: two NumPy .npy arrays one after the other (what `np.save(f, logits);
 * np.save(f, labels)` writes to one file object), parsed strictly, without copying the data when
 * the bytes are aligned for their typed array.
 *
 * Only what a batch needs is accepted: format versions 1.0 and 2.0, C order, little-endian, and the
 * dtypes the caller names. Anything else is a `BadBody` with a one-line reason, so that the server
 * can answer 400 and go on. Every size is checked against the bytes actually received before any
 * view is made, so a header cannot make the server allocate or read beyond the body.
 */

/** A body the server refuses: `status` is the HTTP status, `message` the one-line reason. */
export class BadBody extends Error {
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.name = 'BadBody';
    this.status = status;
  }
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** numpy refuses headers above 10 kB; anything longer here is not a batch. */
const MAX_HEADER_BYTES = 10_000;

/** The typed array of each accepted descr. */
const ARRAY_OF = {
  '<f4': Float32Array,
  '<i4': Int32Array,
  '|u1': Uint8Array,
};

/**
 * One `'key': value` pair of the header dict, as numpy (and every writer that follows NEP 1)
 * writes it: a string, True/False, or a tuple of integers. Sticky, so that the pairs must cover the
 * whole dict: unknown syntax between them is an error, not skipped.
 */
const PAIR = /\s*'(descr|fortran_order|shape)'\s*:\s*(?:'([^']*)'|(True|False)|\(([\d\s,]*)\))\s*(,?)/y;

/**
 * Parses the header dict's text into descr, fortran order and shape.
 *
 * @param {string} text the dict literal, with its padding
 * @param {string} name which array, for messages
 */
function parseDict(text, name) {
  const body = /^\s*\{(.*)\}\s*$/s.exec(text);
  if (!body) throw new BadBody(400, `${name}: malformed .npy header (not a dict)`);
  const inner = body[1];
  /** @type {Record<string, string | boolean | number[]>} */
  const fields = Object.create(null);
  PAIR.lastIndex = 0;
  let comma = true;
  while (PAIR.lastIndex < inner.length && !/^\s*$/.test(inner.slice(PAIR.lastIndex))) {
    if (!comma) throw new BadBody(400, `${name}: malformed .npy header (expected ',')`);
    const at = PAIR.lastIndex;
    const match = PAIR.exec(inner);
    if (!match) throw new BadBody(400, `${name}: malformed .npy header at character ${at}`);
    const [, key, str, bool, tuple, trailing] = match;
    if (key in fields) throw new BadBody(400, `${name}: malformed .npy header (key '${key}' twice)`);
    if (str !== undefined) fields[key] = str;
    else if (bool !== undefined) fields[key] = bool === 'True';
    else fields[key] = parseShape(tuple, name);
    comma = trailing === ',';
  }
  const { descr, fortran_order: fortran, shape } = fields;
  if (typeof descr !== 'string' || typeof fortran !== 'boolean' || !Array.isArray(shape)) {
    throw new BadBody(400, `${name}: malformed .npy header (needs 'descr', 'fortran_order' and 'shape')`);
  }
  return { descr, fortran, shape };
}

/**
 * `3, 4` / `3,` / `` (a 0-d array) into dimensions.
 *
 * @param {string} tuple
 * @param {string} name
 * @returns {number[]}
 */
function parseShape(tuple, name) {
  const parts = tuple.split(',').map((part) => part.trim());
  if (parts.at(-1) === '') parts.pop(); // the trailing comma of (3,)
  return parts.map((part) => {
    const dim = /^\d+$/.test(part) ? Number(part) : NaN;
    if (!Number.isSafeInteger(dim)) throw new BadBody(400, `${name}: malformed .npy header (bad dimension '${part}')`);
    return dim;
  });
}

/**
 * Reads one .npy array starting at `offset` of `bytes`.
 *
 * @param {Uint8Array} bytes the whole body
 * @param {number} offset where this array starts
 * @param {string} name which array, for messages ('logits', 'labels')
 * @param {readonly string[]} accepted the descrs this array may have
 * @returns {{ array: Float32Array | Int32Array | Uint8Array, shape: number[], end: number }}
 */
export function readNpy(bytes, offset, name, accepted) {
  const left = bytes.length - offset;
  if (left < 10 || MAGIC.some((b, i) => bytes[offset + i] !== b)) {
    throw new BadBody(400, `${name}: not a .npy array (the magic string \\x93NUMPY is missing)`);
  }
  const major = bytes[offset + 6];
  const minor = bytes[offset + 7];
  if ((major !== 1 && major !== 2) || minor !== 0) {
    throw new BadBody(400, `${name}: unsupported .npy format version ${major}.${minor}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, left);
  const prefix = major === 1 ? 10 : 12;
  if (left < prefix) throw new BadBody(400, `${name}: truncated .npy header`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerLength > MAX_HEADER_BYTES) {
    throw new BadBody(400, `${name}: .npy header of ${headerLength} bytes is too long`);
  }
  if (left < prefix + headerLength) throw new BadBody(400, `${name}: truncated .npy header`);
  const text = new TextDecoder('latin1').decode(bytes.subarray(offset + prefix, offset + prefix + headerLength));
  const { descr, fortran, shape } = parseDict(text, name);

  const Type = Object.hasOwn(ARRAY_OF, descr) && accepted.includes(descr) ? ARRAY_OF[descr] : undefined;
  if (!Type) {
    throw new BadBody(
      400,
      `${name}: dtype '${descr}' is not accepted (send ${accepted.map((d) => `'${d}'`).join(' or ')})`,
    );
  }
  if (fortran && shape.filter((d) => d > 1).length > 1) {
    throw new BadBody(400, `${name}: Fortran-ordered arrays are not accepted (send np.ascontiguousarray)`);
  }
  // In bigint: a product of dimensions can pass 2^53 before it is compared with the body.
  const length = shape.reduce((a, d) => a * BigInt(d), 1n);
  const start = offset + prefix + headerLength;
  const dataBytes = length * BigInt(Type.BYTES_PER_ELEMENT);
  if (dataBytes > BigInt(bytes.length - start)) {
    throw new BadBody(
      400,
      `${name}: truncated: shape (${shape.join(', ')}) needs ${dataBytes} bytes of data, the body has ${bytes.length - start}`,
    );
  }
  const count = Number(length);
  const end = start + count * Type.BYTES_PER_ELEMENT;
  // A view when the data are aligned for the type (numpy pads headers to 64 bytes), a copy otherwise.
  const array =
    (bytes.byteOffset + start) % Type.BYTES_PER_ELEMENT === 0
      ? new Type(bytes.buffer, bytes.byteOffset + start, count)
      : new Type(bytes.slice(start, end).buffer);
  return { array, shape, end };
}

/**
 * A batch body: the logits, then the labels (softmax) or targets (sigmoid), and nothing after.
 *
 * @param {Uint8Array} bytes
 * @param {readonly string[]} labelDescrs the descrs the second array may have
 */
export function readBatch(bytes, labelDescrs) {
  const logits = readNpy(bytes, 0, 'logits', ['<f4']);
  if (logits.end === bytes.length) throw new BadBody(400, 'labels: missing (the body holds one .npy array, needs two)');
  const labels = readNpy(bytes, logits.end, 'labels', labelDescrs);
  if (labels.end !== bytes.length) {
    throw new BadBody(400, `${bytes.length - labels.end} bytes after the two arrays (the body must hold exactly two)`);
  }
  return { logits, labels };
}

/**
 * One array as .npy bytes, the header as numpy writes it (version 1.0, padded so that the data start
 * on a 64-byte boundary): for clients of the service, such as the load test.
 *
 * @param {Float32Array | Float64Array | Int32Array | Uint8Array | BigInt64Array} array
 * @param {readonly number[]} shape
 * @param {string} [descr] the dtype to declare (default: the array's own, '<f4', '<i4', ...)
 * @returns {Uint8Array}
 */
export function encodeNpy(array, shape, descr = descrOf(array)) {
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tuple}, }`;
  const padded = dict + ' '.repeat((64 - ((10 + dict.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + padded.length + array.byteLength);
  out.set(MAGIC);
  out.set([1, 0, padded.length & 0xff, padded.length >> 8], 6);
  out.set(new TextEncoder().encode(padded), 10);
  out.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), 10 + padded.length);
  return out;
}

/** @param {ArrayBufferView} array */
function descrOf(array) {
  if (array instanceof Float32Array) return '<f4';
  if (array instanceof Float64Array) return '<f8';
  if (array instanceof Int32Array) return '<i4';
  if (array instanceof BigInt64Array) return '<i8';
  if (array instanceof Uint8Array) return '|u1';
  throw new TypeError(`no .npy dtype for ${Object.prototype.toString.call(array)}`);
}
