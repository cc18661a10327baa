/**
 * A minimal .npy writer for the CLI tests (not shipped): the header exactly as numpy writes it, so the
 * fixtures are real .npy files, plus knobs to write the broken ones the CLI must refuse.
 */
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';

export interface HeaderOptions {
  /** Format version 1, 2 or 3 (numpy uses 1 unless the header is too long). */
  version?: number;
  fortranOrder?: boolean;
  /** Replace the whole dict text (for malformed headers). */
  dict?: string;
}

function shapeLiteral(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** Magic, version, header length and the padded dict, total a multiple of 64 bytes as numpy writes it. */
export function npyHeader(descr: string, shape: readonly number[], options: HeaderOptions = {}): Buffer {
  const version = options.version ?? 1;
  const dict =
    options.dict ??
    `{'descr': '${descr}', 'fortran_order': ${options.fortranOrder ? 'True' : 'False'}, ` +
      `'shape': ${shapeLiteral(shape)}, }`;
  const prefix = version === 1 ? 10 : 12;
  const padded = dict + ' '.repeat((64 - ((prefix + dict.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(prefix);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(head);
  if (version === 1) head.writeUInt16LE(padded.length, 8);
  else head.writeUInt32LE(padded.length, 8);
  return Buffer.concat([head, Buffer.from(padded, 'latin1')]);
}

function bytesOf(data: ArrayBufferView): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export function writeNpy(
  path: string,
  descr: string,
  shape: readonly number[],
  data: ArrayBufferView,
  options?: HeaderOptions,
): void {
  writeFileSync(path, Buffer.concat([npyHeader(descr, shape, options), bytesOf(data)]));
}

/** A large file written block by block (the same block `repeat` times), without holding it in memory. */
export function writeNpyRepeated(
  path: string,
  descr: string,
  shape: readonly number[],
  block: ArrayBufferView,
  repeat: number,
): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, npyHeader(descr, shape));
    const bytes = bytesOf(block);
    for (let i = 0; i < repeat; i++) writeSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
}
