/** The public functions, bound to one backend. Validation is the same whatever the backend. */
import { poolFor, type BufferPool } from '../async/buffer-pool.js';
import { runSliced, runSync, type Prepared } from './call.js';
import type { KernelResult, Kernels, SigmoidPlan, SoftmaxPlan, StopRequest } from '../backends/contract.js';
import { assertLive, snapshot } from '../async/snapshot.js';
import { CallAbort } from '../async/abort.js';
import { prepareSigmoid } from './sigmoid.js';
import { prepareSoftmax } from './softmax.js';
import { FocalLossMeter } from '../meter/meter.js';
import type { MeterKind } from '../meter/state.js';
import type {
  DefaultOptions,
  FocalLossResult,
  Logits,
  NoUnknownOptions,
  NumericInput,
  ResultFor,
  SigmoidFocalLossAsyncOptions,
  SigmoidFocalLossOptions,
  SoftmaxFocalLossAsyncOptions,
  SoftmaxFocalLossOptions,
} from '../types.js';

export type { Logits, ResultFor } from '../types.js';

/**
 * The public functions' signatures. The options type parameter keeps the literal types of the
 * options (`const`), so the result is narrowed by them (ResultFor); NoUnknownOptions keeps the
 * excess-property check that a generic parameter would otherwise lose.
 */
export interface FocalLossApi {
  sigmoidFocalLoss<
    L extends Logits,
    const O extends SigmoidFocalLossOptions & NoUnknownOptions<O, SigmoidFocalLossOptions> = DefaultOptions,
  >(
    logits: L,
    targets: NumericInput,
    options?: O,
  ): ResultFor<L, O>;
  softmaxFocalLoss<
    L extends Logits,
    const O extends SoftmaxFocalLossOptions & NoUnknownOptions<O, SoftmaxFocalLossOptions>,
  >(
    logits: L,
    labels: NumericInput,
    options: O,
  ): ResultFor<L, O>;
  sigmoidFocalLossAsync<
    L extends Logits,
    const O extends SigmoidFocalLossAsyncOptions & NoUnknownOptions<O, SigmoidFocalLossAsyncOptions> = DefaultOptions,
  >(
    logits: L,
    targets: NumericInput,
    options?: O,
  ): Promise<ResultFor<L, O>>;
  softmaxFocalLossAsync<
    L extends Logits,
    const O extends SoftmaxFocalLossAsyncOptions & NoUnknownOptions<O, SoftmaxFocalLossAsyncOptions>,
  >(
    logits: L,
    labels: NumericInput,
    options: O,
  ): Promise<ResultFor<L, O>>;
  /** A streaming meter of this backend (lib/meter/meter.ts); `options` as the public factories take them. */
  focalLossMeter(kind: MeterKind, options: unknown): FocalLossMeter;
  /** A meter of this backend holding a state from outside. */
  focalLossMeterFromState(kind: MeterKind, state: unknown): FocalLossMeter;
}

const NOTHING: KernelResult = { sum: 0, count: 0 };

/**
 * A synchronous call: read and validate (no caller code runs after that, see call.ts), check that
 * no getter run while reading detached or shrank an array already seen, compute.
 */
function computeSync<P extends SigmoidPlan | SoftmaxPlan>(call: Prepared<P>, kernel: (plan: P) => KernelResult) {
  if (call.empty) return call.complete({ ...NOTHING });
  assertLive(call.plan);
  return call.complete(kernel(call.plan));
}

/**
 * An async call: the kernel works on a snapshot (see lib/async/snapshot.ts). The caller must not modify,
 * transfer or resize the arrays until the promise settles (Node's rule for buffers handed to async
 * work); one who does gets unspecified numbers or a TypeError, never a crash, and a failed call
 * never writes the caller's `out` buffers.
 *
 * With a `signal`: aborted before the call, it rejects before copying or computing anything;
 * aborted while the inputs are copied or the kernel runs, the copy or the kernel stops before its
 * next slice or block and the call rejects with an AbortError once the kernel has let go of the
 * call's memory (so a pooled buffer is never lent again while a kernel writes it). The caller's
 * `out` buffers are written only after the kernel finished unaborted: from then on the call
 * completes, whatever the signal does.
 */
async function computeAsync<P extends SigmoidPlan | SoftmaxPlan>(
  steps: Generator<void, Prepared<P>>,
  kernel: (plan: P, stop: StopRequest) => Promise<KernelResult>,
  pool: BufferPool,
  copyOwned: boolean,
): Promise<FocalLossResult> {
  // No await before the snapshot when the steps end at once (small arguments): the arguments are
  // then read, validated and their small arrays copied before the async function returns.
  const ready = runSliced(steps);
  const call = ready instanceof Promise ? await ready : ready; // (await on a value would wait a turn)
  const abort = new CallAbort(call.signal);
  try {
    abort.check();
    if (call.empty) return call.complete({ ...NOTHING });
    const own = await snapshot(call.plan, call.arrays, pool, copyOwned, abort);
    try {
      const result = await kernel(own.plan, abort);
      abort.check(); // (a stopped result, or an abort that came as the kernel finished)
      if (!result.error) await own.deliver(); // else complete() throws, and out is left alone
      return call.complete(result);
    } finally {
      own.release();
    }
  } finally {
    abort.dispose();
  }
}

export function createFocalLoss(kernels: Kernels): FocalLossApi {
  const pool = poolFor(kernels.allocate);
  // Kernels that take only their own memory get copies of every array, the call's own ones too.
  // (The arrays a call returns could be allocated there instead, saving the copy of a new
  // gradient: later, with the addon's pooled result memory.)
  const copyOwned = kernels.allocate !== undefined;
  const meters = { kernels, pool, copyOwned };
  const api = {
    focalLossMeter: (kind: MeterKind, options: unknown) => FocalLossMeter.create(kind, meters, options),
    focalLossMeterFromState: (kind: MeterKind, state: unknown) => FocalLossMeter.fromState(kind, meters, state),
    sigmoidFocalLoss(logits: Logits, targets: NumericInput, options?: SigmoidFocalLossOptions): FocalLossResult {
      return computeSync(
        runSync(prepareSigmoid(logits, targets, options, kernels.simd, kernels.allocateResult)),
        kernels.sigmoid,
      );
    },
    softmaxFocalLoss(logits: Logits, labels: NumericInput, options: SoftmaxFocalLossOptions): FocalLossResult {
      return computeSync(
        runSync(prepareSoftmax(logits, labels, options, kernels.simd, kernels.allocateResult)),
        kernels.softmax,
      );
    },
    // Validation errors reject the promise (they are not thrown synchronously). Small arguments are
    // read and validated before the function returns; large plain arrays are converted in slices.
    async sigmoidFocalLossAsync(logits: Logits, targets: NumericInput, options?: SigmoidFocalLossAsyncOptions) {
      return computeAsync(
        prepareSigmoid(logits, targets, options, kernels.simd, kernels.allocateResult, true),
        kernels.sigmoidAsync,
        pool,
        copyOwned,
      );
    },
    async softmaxFocalLossAsync(logits: Logits, labels: NumericInput, options: SoftmaxFocalLossAsyncOptions) {
      return computeAsync(
        prepareSoftmax(logits, labels, options, kernels.simd, kernels.allocateResult, true),
        kernels.softmaxAsync,
        pool,
        copyOwned,
      );
    },
  };
  return api as FocalLossApi;
}
