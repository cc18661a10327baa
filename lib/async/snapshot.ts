/**
 * The arrays of a plan, between validation and the kernel.
 *
 * A synchronous call checks them once more just before the kernel runs: an option getter runs
 * after the logits were checked and could detach them.
 *
 * An async call computes on a snapshot: the caller's inputs are copied when the call starts and the
 * caller's output buffers are replaced by the facade's own, copied back when the kernel is done.
 * Only the arrays this call allocated itself (CallArrays) are not copied: whatever the caller holds
 * is, including arrays an earlier call returned (they are the caller's like any other). The
 * kernel then never touches memory the caller can free, transfer or resize while it runs (the
 * native kernel reads raw pointers on another thread; a transferred buffer that is collected, or a
 * resizable one that shrinks, would be freed memory under it). Small arrays are copied at once;
 * larger ones in slices through the shared slice queue (slices.ts), so a large call does not stall
 * the caller's timers (fresh memory costs a page fault per 4 KiB, which on some VMs makes a 200 MB
 * copy take half a second).
 */
import {
  borrowLike,
  bufferOfView,
  bytesPerElement,
  CallArrays,
  copyRange,
  lengthOfView,
  typeName,
} from '../facade/arrays.js';
import { poolFor, type BufferPool } from './buffer-pool.js';
import type { SigmoidPlan, SoftmaxPlan } from '../backends/contract.js';
import { inSlice } from './slices.js';
import { forArgument, live, typeError } from '../facade/validate.js';

/** The public name of each array field of a plan, for error messages. */
const NAMES: Record<string, string> = {
  logits: 'logits',
  targets: 'targets',
  labels: 'labels',
  weights: 'options.weights',
  alpha: 'options.alpha',
  lossOut: 'options.out.loss',
  gradOut: 'options.out.grad',
};
const OUTPUTS = new Set(['lossOut', 'gradOut']);

/** Bytes copied per queued slice (about 3 ms where page faults are slow, far less elsewhere). */
export const SLICE_BYTES = 1 << 20;
/** Arrays up to this size are copied when the call is made, without waiting for a slice. */
export const COPY_AT_ONCE_BYTES = 1 << 16;

type Plan = SigmoidPlan | SoftmaxPlan;

function arrays(plan: Plan): [key: string, view: ArrayBufferView][] {
  return Object.entries(plan).filter((entry): entry is [string, ArrayBufferView] => ArrayBuffer.isView(entry[1]));
}

/** Throws the caller's TypeError if any array of the plan was detached or shrunk meanwhile. */
export function assertLive(plan: Plan): void {
  // for-in rather than arrays(): no array of entries per call (this runs before every sync kernel).
  for (const key in plan) {
    if (!Object.hasOwn(plan, key)) continue;
    const view = (plan as unknown as Record<string, unknown>)[key];
    if (ArrayBuffer.isView(view)) live(view, NAMES[key] ?? key);
  }
}

/**
 * Copies elements [begin, end) of `source` into `target`, both of `length` elements. Before each
 * copy both must still be live with that length: between slices the caller's code runs and may have
 * detached or resized one.
 */
function copyChecked(
  target: ArrayBufferView,
  source: ArrayBufferView,
  length: number,
  name: string,
  begin = 0,
  end = length,
) {
  for (const view of [target, source]) {
    live(view, name);
    if (lengthOfView(view) !== length) {
      const error = typeError(`a live ${typeName(view)} of length ${length} (as when the call began)`, name, view);
      throw forArgument(error, name.split(' ')[0]!);
    }
  }
  copyRange(target, source, begin, end);
}

/** Throws (an aborted call's AbortError) to stop a copy between slices. */
export interface CopyGuard {
  check(): void;
}

/** The same for all elements, in slices through the shared slice queue; `guard` is checked before each slice. */
async function copyInSlices(
  target: ArrayBufferView,
  source: ArrayBufferView,
  length: number,
  name: string,
  guard?: CopyGuard,
) {
  const step = Math.max(1, Math.floor(SLICE_BYTES / bytesPerElement(target)));
  for (let begin = 0; begin < length; begin += step) {
    const end = Math.min(length, begin + step);
    await inSlice(() => {
      guard?.check();
      copyChecked(target, source, length, name, begin, end);
    });
  }
}

export interface Snapshot<P extends Plan> {
  /** The plan to hand to the kernel: only arrays the facade owns. */
  plan: P;
  /** After the kernel: copies the outputs into the caller's buffers (which must still fit). */
  deliver(): Promise<void>;
  /** After deliver (or a failure): gives the copies' memory back to the pool. */
  release(): void;
}

/**
 * `owned`: the arrays the call allocated, which need no copy unless `copyOwned` (the kernels accept
 * only the pool's memory: the native async kernels, see Kernels.allocate); `pool`: where the copies'
 * memory comes from; `guard`: checked before each slice of the input copies (an aborted call
 * stops copying). If the copies fail or are stopped, their memory goes back to the pool at once.
 */
export async function snapshot<P extends Plan>(
  plan: P,
  owned: CallArrays = new CallArrays(),
  pool: BufferPool = poolFor(undefined),
  copyOwned = false,
  guard?: CopyGuard,
): Promise<Snapshot<P>> {
  // Everything is checked and allocated before the first turn of the event loop, while the arrays
  // are known to be as validated.
  assertLive(plan);
  const copy: Record<string, unknown> = { ...plan };
  const copies: { key: string; mine: ArrayBufferView; theirs: ArrayBufferView }[] = [];
  for (const [key, view] of arrays(plan)) {
    if (owned.isOwn(view) && !copyOwned) continue;
    copy[key] = borrowLike(view, pool);
    copies.push({ key, mine: copy[key] as ArrayBufferView, theirs: view });
  }
  // Borrowed memory holds old data: every input copy is complete before the kernel runs, and every
  // output element is written by the kernel before it is delivered. Small inputs are copied now,
  // before the caller's code runs again (no await before them); larger ones in slices.
  const inputs = copies.filter(({ key }) => !OUTPUTS.has(key));
  const name = (key: string) => `${NAMES[key]} (while the async call copied it)`;
  const small = ({ mine }: { mine: ArrayBufferView }) => mine.byteLength <= COPY_AT_ONCE_BYTES;
  const release = () => {
    for (const { mine } of copies) pool.give(bufferOfView(mine) as ArrayBuffer);
  };
  try {
    for (const { key, mine, theirs } of inputs.filter(small)) copyChecked(mine, theirs, lengthOfView(mine), name(key));
    for (const { key, mine, theirs } of inputs.filter((c) => !small(c))) {
      await copyInSlices(mine, theirs, lengthOfView(mine), name(key), guard);
    }
  } catch (error) {
    release();
    throw error;
  }
  return {
    plan: copy as P,
    async deliver() {
      for (const { key, mine, theirs } of copies) {
        if (OUTPUTS.has(key))
          await copyInSlices(theirs, mine, lengthOfView(mine), `${NAMES[key]} (when the async call settled)`);
      }
    },
    release,
  };
}
