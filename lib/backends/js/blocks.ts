/**
 * The JS twin of native/kernels/parallel.hpp: the work is cut into blocks by a rule that depends only on
 * its size, and each block's losses go into a reproducible sum (lib/reduce/reproducible-sum.ts) whose
 * merge is exact, so the result depends only on the losses. The JS backend runs the async functions
 * block by block in short time slices, giving the event loop a turn between slices; the sync ones
 * return the same bits.
 */
import type { KernelInputError, KernelResult, StopRequest } from '../contract.js';
import { ReproducibleSum } from '../../reduce/reproducible-sum.js';
import { inSlice } from '../../async/slices.js';
import { MAX_BLOCKS, MIN_BLOCK_WORK } from '../protocol.js';

/** The same numbers as the addon's (both come from native/protocol.json). */
export { MAX_BLOCKS, MIN_BLOCK_WORK };

export class Blocks {
  readonly count: number;

  /** `items` units of work (elements or samples), each touching `workPerItem` elements. */
  constructor(
    readonly items: number,
    workPerItem: number,
  ) {
    const minItems = Math.max(1, Math.floor(MIN_BLOCK_WORK / Math.max(1, workPerItem)));
    this.count = Math.min(Math.max(Math.floor(items / minItems), 1), MAX_BLOCKS);
  }

  begin(b: number): number {
    const size = Math.floor(this.items / this.count);
    return b * size + Math.min(b, this.items % this.count);
  }

  end(b: number): number {
    return this.begin(b + 1);
  }
}

/** What a block returns: its losses' reproducible sum, its count, its first bad element. */
export interface BlockResult {
  sum: ReproducibleSum;
  count: number;
  error?: KernelInputError;
}

/** Merges a block's result (the sums exactly, in any order); keeps the error of the lowest index. */
export function mergeInto(total: BlockResult, part: BlockResult): BlockResult {
  total.sum.merge(part.sum);
  total.count += part.count;
  if (part.error && (!total.error || part.error.index < total.error.index)) total.error = part.error;
  return total;
}

/** The kernel's result from the merged blocks: the sum's value and its canonical state. */
export function toKernelResult(total: BlockResult): KernelResult {
  const result: KernelResult = { sum: total.sum.toDouble(), count: total.count, sumState: total.sum.state() };
  if (total.error) result.error = total.error;
  return result;
}

export type BlockFn = (begin: number, end: number) => BlockResult;

/**
 * A block that can stop part way (one softmax sample may hold millions of classes): step(budget)
 * does about `budget` units of work, all of it for Infinity, and returns the block's result once
 * the block is done, null before. It keeps its own state between steps, so where the steps end
 * never changes what is summed in which order.
 */
export interface Stepper {
  step(budget: number): BlockResult | null;
}

export type SteppedBlockFn = (begin: number, end: number) => Stepper;

/** The work of one async step: 2^16 elements take about 1 ms at the slowest (a softmax gradient). */
export const STEP_WORK = 1 << 16;

export function runBlocks(blocks: Blocks, block: BlockFn): KernelResult {
  const total: BlockResult = { sum: new ReproducibleSum(), count: 0 };
  for (let b = 0; b < blocks.count; b++) {
    const part = mergeInto(total, block(blocks.begin(b), blocks.end(b)));
    if (part.error) break;
  }
  return toKernelResult(total);
}

/** runBlocks for blocks that can stop part way: each one runs to its end in one step. */
export function runSteppedBlocks(blocks: Blocks, block: SteppedBlockFn): KernelResult {
  return runBlocks(blocks, (begin, end) => block(begin, end).step(Infinity)!);
}

/**
 * runSteppedBlocks for the async functions: the same blocks and sums, in steps of STEP_WORK, in
 * shared time slices. Once `stop` is requested, no further step runs: the result is `stopped`.
 */
export async function runSteppedBlocksAsync(
  blocks: Blocks,
  block: SteppedBlockFn,
  stop?: StopRequest,
): Promise<KernelResult> {
  const total: BlockResult = { sum: new ReproducibleSum(), count: 0 };
  for (let b = 0; b < blocks.count; b++) {
    const stepper = block(blocks.begin(b), blocks.end(b));
    let part: BlockResult | null;
    do {
      if (stop?.requested) return { sum: 0, count: 0, stopped: true };
      part = await inSlice(() => (stop?.requested ? null : stepper.step(STEP_WORK)));
    } while (part === null);
    if (mergeInto(total, part).error) break;
  }
  return toKernelResult(total);
}

/** runBlocks for the async functions: the same blocks and sums, a block per step. */
export function runBlocksAsync(blocks: Blocks, block: BlockFn, stop?: StopRequest): Promise<KernelResult> {
  return runSteppedBlocksAsync(blocks, (begin, end) => ({ step: () => block(begin, end) }), stop);
}
