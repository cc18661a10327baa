/**
 * Memory for the copies that async calls make (snapshot.ts), kept for reuse while calls keep
 * coming. Fresh memory costs a page fault per 4 KiB on first touch; on some VMs that makes copying
 * into it 40 times slower than copying into memory already in use (measured here: 600 ms against
 * 14 ms for 200 MB), which made an async call ten times slower than the sync one. A server that
 * calls again and again reuses the same buffers; once no call has borrowed or returned one for
 * IDLE_MS, the pool lets go of all of them (the timer does not keep the process alive).
 *
 * One pool per allocator (poolFor): new buffers come from the backend's `allocate`, because the
 * native backend's async kernels accept only memory the addon allocated (which no caller holds, so
 * none can detach or resize it). Without an allocator (the JS backend, or an addon built before it
 * had one) they are plain ArrayBuffers.
 */
export type Allocator = (byteLength: number) => ArrayBuffer;

const IDLE_MS = 1000;
const MAX_BYTES = 512 * 1024 * 1024;
const MAX_BUFFERS = 16;

export class BufferPool {
  /** Free buffers by exact byte length: batches of one size are what a server sends again and again. */
  private readonly free = new Map<number, ArrayBuffer[]>();
  private pooledBytes = 0;
  private pooledBuffers = 0;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly allocate: Allocator) {}

  private touch(): void {
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => {
        this.free.clear();
        this.pooledBytes = 0;
        this.pooledBuffers = 0;
        this.idleTimer = null;
      }, IDLE_MS);
      this.idleTimer.unref();
    }
  }

  /** An ArrayBuffer of exactly `bytes` bytes with unspecified contents: a pooled one, or a new one. */
  borrow(bytes: number): ArrayBuffer {
    this.touch();
    const buffer = this.free.get(bytes)?.pop();
    if (!buffer) {
      const allocate = this.allocate; // called as a plain function: an addon export needs no `this`
      return allocate(bytes);
    }
    this.pooledBytes -= bytes;
    this.pooledBuffers--;
    return buffer;
  }

  /** Gives a buffer back; kept only while the pool is within its limits. */
  give(buffer: ArrayBuffer): void {
    this.touch();
    const bytes = buffer.byteLength;
    if (bytes === 0 || this.pooledBytes + bytes > MAX_BYTES || this.pooledBuffers >= MAX_BUFFERS) return;
    const list = this.free.get(bytes) ?? [];
    list.push(buffer);
    this.free.set(bytes, list);
    this.pooledBytes += bytes;
    this.pooledBuffers++;
  }

  /** What the pool holds (for tests). */
  pooled(): { bytes: number; buffers: number } {
    return { bytes: this.pooledBytes, buffers: this.pooledBuffers };
  }
}

const plain: Allocator = (bytes) => new ArrayBuffer(bytes);
const pools = new Map<Allocator, BufferPool>();

/** The pool of an allocator (plain ArrayBuffers when it is undefined), one per process. */
export function poolFor(allocate: Allocator | undefined): BufferPool {
  const key = allocate ?? plain;
  let pool = pools.get(key);
  if (!pool) pools.set(key, (pool = new BufferPool(key)));
  return pool;
}
