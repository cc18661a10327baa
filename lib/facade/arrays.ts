/**
 * Typed arrays read through the built-in intrinsics. Nothing here reads `.constructor`, `.length`,
 * `.buffer` or a method off the caller's array: an own property, a subclass getter or a patched
 * prototype could run code or lie; the %TypedArray% getters captured when this module loads cannot.
 * The facade never computes on the caller's view object itself: `viewOf` makes a new built-in view
 * of the same memory from one read of each intrinsic, and every later check and the kernel use it.
 */
import type { BufferPool } from '../async/buffer-pool.js';
import { FLOAT_ARRAYS, LABEL_ARRAYS } from '../backends/protocol.js';

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

/** The typed arrays the package reads (native/protocol.json lists them), by built-in name. */
const CONSTRUCTORS = { ...FLOAT_ARRAYS, ...LABEL_ARRAYS } as const;
const BYTES: Record<string, number> = Object.fromEntries(
  Object.entries(CONSTRUCTORS).map(([name, Ctor]) => [name, Ctor.BYTES_PER_ELEMENT]),
);

type ViewCtor<A> = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => A;

/** The built-in name of a typed array's element type ('Float32Array' for a subclass of it), or undefined. */
export function typeName(view: unknown): string | undefined {
  return ArrayBuffer.isView(view) ? tagOf.call(view) : undefined;
}

/** The built-in constructor of a typed array's element type (Float32Array for a subclass of it). */
export function baseConstructor<A extends ArrayBufferView>(view: A): new (length: number) => A {
  const Ctor = CONSTRUCTORS[tagOf.call(view) as keyof typeof CONSTRUCTORS];
  if (!Ctor) throw new TypeError(`focal-loss: unsupported typed array ${String(tagOf.call(view))}`);
  return Ctor as unknown as new (length: number) => A;
}

export function bytesPerElement(view: ArrayBufferView): number {
  return BYTES[tagOf.call(view)!] ?? 1;
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

/**
 * A new built-in view of the caller's live typed array: same element type, buffer, offset and
 * length, each read once through the intrinsics. Fixed-length even when the caller's view tracks a
 * resizable buffer, so a later resize cannot make it longer than what was validated.
 */
export function viewOf<A extends ArrayBufferView>(view: A): A {
  const Ctor = baseConstructor(view) as unknown as ViewCtor<A>;
  return new Ctor(bufferOf.call(view), byteOffsetOf.call(view), lengthOf.call(view));
}

/** True when two live views share any byte of memory (read through the intrinsics). */
export function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (bufferOf.call(a) !== bufferOf.call(b)) return false;
  const aBegin = byteOffsetOf.call(a);
  const bBegin = byteOffsetOf.call(b);
  const aEnd = aBegin + lengthOf.call(a) * bytesPerElement(a);
  const bEnd = bBegin + lengthOf.call(b) * bytesPerElement(b);
  return aBegin < bEnd && bBegin < aEnd;
}

/**
 * The arrays one call allocated itself (conversions, copies, outputs it will return). No caller
 * holds them until the call hands them out, so an async call need not copy them. Per call: an
 * array the package returned earlier is the caller's like any other.
 */
export class CallArrays {
  // Made by the first own(): most small calls allocate nothing of their own.
  private owned: WeakSet<ArrayBufferView> | null = null;

  own<A extends ArrayBufferView>(view: A): A {
    (this.owned ??= new WeakSet()).add(view);
    return view;
  }

  isOwn(view: ArrayBufferView): boolean {
    return this.owned !== null && this.owned.has(view);
  }
}

/**
 * An array of the same element type and length, with unspecified contents, on a buffer borrowed
 * from the pool; give it back with pool.give(bufferOfView(array)) when done.
 */
export function borrowLike<A extends ArrayBufferView>(view: A, pool: BufferPool): A {
  const Ctor = baseConstructor(view) as unknown as ViewCtor<A>;
  const length = lengthOfView(view);
  return new Ctor(pool.borrow(length * bytesPerElement(view)), 0, length);
}

/** The ArrayBuffer under a view, through the intrinsic. */
export function bufferOfView(view: ArrayBufferView): ArrayBufferLike {
  return bufferOf.call(view);
}

/**
 * Copies elements [begin, end) of `source` into `target` at the same positions (same element type;
 * the caller checks that both are live and long enough). No species constructor, no user code.
 */
export function copyRange(target: ArrayBufferView, source: ArrayBufferView, begin: number, end: number): void {
  const Ctor = baseConstructor(source) as unknown as ViewCtor<ArrayBufferView>;
  const part = new Ctor(
    bufferOf.call(source),
    byteOffsetOf.call(source) + begin * bytesPerElement(source),
    end - begin,
  );
  setInto.call(target, part, begin);
}
