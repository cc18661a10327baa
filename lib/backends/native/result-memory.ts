/**
 * The arrays a native call returns (a new gradient, a 'none' loss) without the page-fault tax.
 * `new Float32Array(n)` is fresh memory: on some VMs each 4 KiB page costs a fault on first touch
 * (measured here: ~0.35 ms per MB, more than the kernel spends computing a float32 gradient). Large
 * results instead lie on memory the addon maps with transparent huge pages advised (one fault per
 * 2 MiB) and takes back into a bounded pool when the array is collected, so that a training loop
 * asking for the same gradient size again and again gets memory already mapped and touched
 * (native/binding/result_pool.hpp). The contents of such memory are whatever its last user left:
 * that is fine because the kernels write every element of the gradient and of a 'none' loss
 * (test/result-memory.test.ts checks it with garbage in a recycled block).
 *
 * Small results stay `new Ctor(n)`: V8's allocation is cheaper than a call into the addon and a
 * 2 MiB region there (measured by bench/result-memory.mjs: result memory wins from about 2 MiB).
 * Where the runtime does not allow external buffers (Electron: napi_no_external_buffers_allowed),
 * the addon's allocateResult returns a plain ArrayBuffer, which costs what `new Ctor(n)` does.
 */
import type { ResultConstructor } from '../contract.js';

/** The smallest result, in bytes, that goes on the addon's memory (a huge page). */
export const RESULT_MEMORY_MIN_BYTES = 2 * 1024 * 1024;

/** What the addon's result pool holds (`pooled*`) and lends (`*Out`), in bytes and regions of 2 MiB multiples. */
export interface ResultMemoryStats {
  pooledBytes: number;
  pooledRegions: number;
  bytesOut: number;
  regionsOut: number;
}

/** The native backend's Kernels.allocateResult over the addon's export (a plain function: it needs no `this`). */
export function resultAllocator(allocateResult: (byteLength: number) => ArrayBuffer) {
  return (Ctor: ResultConstructor, length: number): Float32Array | Float64Array => {
    const bytes = length * Ctor.BYTES_PER_ELEMENT;
    if (bytes < RESULT_MEMORY_MIN_BYTES) return new Ctor(length);
    return new Ctor(allocateResult(bytes), 0, length);
  };
}
