/**
 * Typed arrays by their real element type, and which ones the facade allocated itself. Nothing here
 * reads `.constructor`, `.length` or a method of the caller's array: a subclass or an overridden
 * property could run code or lie; the %TypedArray% intrinsics cannot.
 */
import { borrowBuffer } from './buffer-pool.js';

const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;

function intrinsic<T>(key: PropertyKey, kind: 'get' | 'value'): T {
  return Object.getOwnPropertyDescriptor(TypedArrayPrototype, key)![kind] as T;
}

const tagOf = intrinsic<(this: ArrayBufferView) => string | undefined>(Symbol.toStringTag, 'get');
const lengthOf = intrinsic<(this: ArrayBufferView) => number>('length', 'get');
const bufferOf = intrinsic<(this: ArrayBufferView) => ArrayBufferLike>('buffer', 'get');
const byteOffsetOf = intrinsic<(this: ArrayBufferView) => number>('byteOffset', 'get');
const keysOf = intrinsic<(this: ArrayBufferView) => unknown>('keys', 'value');
const setInto = intrinsic<(this: ArrayBufferView, source: ArrayBufferView, offset?: number) => void>('set', 'value');

const CONSTRUCTORS = {
  Float32Array,
  Float64Array,
  Uint8Array,
  Uint8ClampedArray,
  Int8Array,
  Uint16Array,
  Int16Array,
  Uint32Array,
  Int32Array,
} as const;

/** The built-in constructor of a typed array's element type (Float32Array for a subclass of it). */
export function baseConstructor<A extends ArrayBufferView>(view: A): new (length: number) => A {
  const Ctor = CONSTRUCTORS[tagOf.call(view) as keyof typeof CONSTRUCTORS];
  if (!Ctor) throw new TypeError(`focal-loss: unsupported typed array ${String(tagOf.call(view))}`);
  return Ctor as unknown as new (length: number) => A;
}

export function bytesPerElement(view: ArrayBufferView): number {
  return (baseConstructor(view) as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
}

/**
 * False for a view on a detached buffer or out of bounds of a shrunk resizable one. O(1): keys()
 * validates the view and throws, where `.length` may still read the old length in optimized code.
 */
export function isLive(view: ArrayBufferView): boolean {
  try {
    keysOf.call(view);
    return true;
  } catch {
    return false;
  }
}

/** The element count as the engine sees it (not a possibly overridden `.length`). */
export function lengthOfView(view: ArrayBufferView): number {
  return lengthOf.call(view);
}

// Arrays the facade allocated (conversions, outputs). No caller holds them, so no caller can
// detach, resize or write them while an async call runs: they need no copy.
const allocated = new WeakSet<ArrayBufferView>();

/** Marks an array as the facade's own and returns it. */
export function own<A extends ArrayBufferView>(view: A): A {
  allocated.add(view);
  return view;
}

export function isOwn(view: ArrayBufferView): boolean {
  return allocated.has(view);
}

/**
 * An array (the facade's own) of the same element type and length, with unspecified contents, on a
 * buffer borrowed from the pool; give it back with returnBuffer(array.buffer) when done.
 */
export function borrowLike<A extends ArrayBufferView>(view: A): A {
  const Ctor = baseConstructor(view) as unknown as new (buffer: ArrayBuffer, offset: number, length: number) => A;
  const length = lengthOfView(view);
  return own(new Ctor(borrowBuffer(length * bytesPerElement(view)), 0, length));
}

/**
 * Copies elements [begin, end) of `source` into `target` at the same positions (same element type;
 * the caller checks that both are live and long enough). No species constructor, no user code.
 */
export function copyRange(target: ArrayBufferView, source: ArrayBufferView, begin: number, end: number): void {
  const Ctor = baseConstructor(source) as unknown as new (
    buffer: ArrayBufferLike,
    offset: number,
    length: number,
  ) => ArrayBufferView;
  const part = new Ctor(
    bufferOf.call(source),
    byteOffsetOf.call(source) + begin * bytesPerElement(source),
    end - begin,
  );
  setInto.call(target, part, begin);
}
