/**
 * Memory for the copies that async calls make (plan-arrays.ts), kept for reuse while calls keep
 * coming. Fresh memory costs a page fault per 4 KiB on first touch; on some VMs that makes copying
 * into it 40 times slower than copying into memory already in use (measured here: 600 ms against
 * 14 ms for 200 MB), which made an async call ten times slower than the sync one. A server that
 * calls again and again reuses the same buffers; once no call has borrowed or returned one for
 * IDLE_MS, the pool lets go of all of them (the timer does not keep the process alive).
 */
const IDLE_MS = 1000;
const MAX_BYTES = 512 * 1024 * 1024;
const MAX_BUFFERS = 16;

/** Free buffers by exact byte length: batches of one size are what a server sends again and again. */
const free = new Map<number, ArrayBuffer[]>();
let pooledBytes = 0;
let pooledBuffers = 0;
let idleTimer: ReturnType<typeof setTimeout> | null = null;
let allocate: (bytes: number) => ArrayBuffer = (bytes) => new ArrayBuffer(bytes);

/**
 * Where new buffers come from: the native backend's `allocate()` (the only memory its async
 * exports accept). Empties the pool, whose buffers came from the previous allocator.
 */
export function setAllocator(allocator: (bytes: number) => ArrayBuffer): void {
  allocate = allocator;
  free.clear();
  pooledBytes = 0;
  pooledBuffers = 0;
}

function touch(): void {
  if (idleTimer) idleTimer.refresh();
  else {
    idleTimer = setTimeout(() => {
      free.clear();
      pooledBytes = 0;
      pooledBuffers = 0;
      idleTimer = null;
    }, IDLE_MS);
    idleTimer.unref();
  }
}

/** An ArrayBuffer of exactly `bytes` bytes with unspecified contents: a pooled one, or a new one. */
export function borrowBuffer(bytes: number): ArrayBuffer {
  touch();
  const buffer = free.get(bytes)?.pop();
  if (!buffer) return allocate(bytes);
  pooledBytes -= bytes;
  pooledBuffers--;
  return buffer;
}

/** Gives a buffer back; kept only while the pool is within its limits. */
export function returnBuffer(buffer: ArrayBuffer): void {
  touch();
  const bytes = buffer.byteLength;
  if (bytes === 0 || pooledBytes + bytes > MAX_BYTES || pooledBuffers >= MAX_BUFFERS) return;
  const list = free.get(bytes) ?? [];
  list.push(buffer);
  free.set(bytes, list);
  pooledBytes += bytes;
  pooledBuffers++;
}

/** What the pool holds (for tests). */
export function pooled(): { bytes: number; buffers: number } {
  return { bytes: pooledBytes, buffers: pooledBuffers };
}
