/**
 * The streaming meters: sigmoidFocalLossMeter and softmaxFocalLossMeter. A meter evaluates chunks
 * with the same validation and kernels as the loss functions and keeps reproducible sums of the
 * per-element losses (lib/reduce/reproducible-sum.ts), so its result is the same bits whatever the
 * chunking, the order of the chunks, the number of threads and the order of merges, and equals one
 * call over all the data. Its state is plain JSON that another process can merge.
 */
import { randomUUID } from 'node:crypto';
import type { BufferPool } from '../async/buffer-pool.js';
import { CallAbort } from '../async/abort.js';
import { assertLive, snapshot } from '../async/snapshot.js';
import type { KernelResult, Kernels, SigmoidPlan, SoftmaxPlan } from '../backends/contract.js';

type ResultAllocator = NonNullable<Kernels['allocateResult']>;
import { baseConstructor, borrowLike, bufferOfView, copyRange, lengthOfView } from '../facade/arrays.js';
import { meanOf, runSliced, runSync, type Prepared } from '../facade/call.js';
import { prepareSigmoid } from '../facade/sigmoid.js';
import { prepareSoftmax } from '../facade/softmax.js';
import { conflictError, rangeError, readBoolean, readOptions } from '../facade/validate.js';
import type {
  FloatArray,
  FocalLossMeterAddOptions,
  FocalLossMeterResult,
  IntegerArray,
  NumericInput,
  Logits,
} from '../types.js';
import { readReproducibleSumState } from '../reduce/reproducible-state.js';
import { maskIgnored, readSigmoidGrouping, readSigmoidLayout } from './sigmoid-classes.js';
import {
  IDENTITY_KEYS,
  readShard,
  readState,
  writeState,
  type FocalLossMeterState,
  type Identity,
  type MeterKind,
  type SigmoidIdentity,
  type SoftmaxIdentity,
} from './state.js';
import { emptyTotals, mergeTotals, sharedShards, type Totals } from './totals.js';

type Plan = SigmoidPlan | SoftmaxPlan;

/** What a meter needs of the backend it was made with. */
export interface MeterBinding {
  kernels: Kernels;
  pool: BufferPool;
  /** The async kernels take only the pool's memory (see Kernels.allocate). */
  copyOwned: boolean;
}

/** The identity's options, the shard's name and how to run. */
const METER_OPTIONS = {
  sigmoid: [...IDENTITY_KEYS.sigmoid, 'shard', 'threads', 'simd'],
  softmax: [...IDENTITY_KEYS.softmax, 'shard', 'threads', 'simd'],
} as const;
const ADD_OPTIONS = { sigmoid: ['weights', 'shape', 'classAxis'], softmax: ['weights', 'shape', 'classAxis'] } as const;
const ADD_ASYNC_OPTIONS = {
  sigmoid: [...ADD_OPTIONS.sigmoid, 'signal'],
  softmax: [...ADD_OPTIONS.softmax, 'signal'],
} as const;
const FACTORY = { sigmoid: 'sigmoidFocalLossMeter', softmax: 'softmaxFocalLossMeter' } as const;

function prepare(
  kind: MeterKind,
  binding: MeterBinding,
  logits: unknown,
  targets: unknown,
  options: Record<string, unknown>,
  async = false,
) {
  const simd = binding.kernels.simd;
  // The per-element losses of a chunk are scratch: on the pool's memory, given back after the chunk
  // (chunk after chunk, a new array each would leave the collector a chunk-sized array per call).
  const scratch: ResultAllocator = (Ctor, length) =>
    new Ctor(binding.pool.borrow(length * Ctor.BYTES_PER_ELEMENT), 0, length);
  return (
    kind === 'sigmoid'
      ? prepareSigmoid(logits, targets, options, simd, scratch, async)
      : prepareSoftmax(logits, targets, options, simd, scratch, async)
  ) as Generator<void, Prepared<Plan>>;
}

/** The identity (the options every loss depends on) of a validated plan: one place for the defaults, the facade's. */
function identityOf(
  kind: MeterKind,
  plan: Plan,
  perClass: boolean,
  grouping: { numClasses: number | null; ignoreIndex: number | null },
): Identity {
  if (kind === 'sigmoid') {
    const p = plan as SigmoidPlan;
    return {
      gamma: p.gamma,
      alpha: p.alpha,
      labelSmoothing: p.labelSmoothing,
      input: p.probabilities ? 'probabilities' : 'logits',
      numClasses: grouping.numClasses,
      ignoreIndex: grouping.ignoreIndex,
      perClass,
    };
  }
  const p = plan as SoftmaxPlan;
  return {
    numClasses: p.classes,
    gamma: p.gamma,
    // alpha: null and alpha: 1 scale every class by 1: one identity.
    alpha: p.alpha ? Array.from(p.alpha) : p.alphaScale,
    ignoreIndex: p.ignoreIndex,
    labelSmoothing: p.labelSmoothing,
    perClass,
  };
}

/** The loss functions' options that give every chunk the meter's identity. */
function callOptionsOf(kind: MeterKind, identity: Identity, run: Record<string, unknown>): Record<string, unknown> {
  const options: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (kind === 'sigmoid') {
    const { gamma, alpha, labelSmoothing, input } = identity as SigmoidIdentity;
    Object.assign(options, { gamma, alpha, labelSmoothing, input });
  } else {
    const { numClasses, gamma, alpha, ignoreIndex, labelSmoothing } = identity as SoftmaxIdentity;
    Object.assign(options, { numClasses, gamma, ignoreIndex, labelSmoothing });
    options.alpha = Array.isArray(alpha) ? Float64Array.from(alpha) : alpha;
  }
  if (run.threads !== undefined) options.threads = run.threads;
  if (run.simd !== undefined) options.simd = run.simd;
  return options;
}

/** A copy of a caller's array (read once), which the meter may change. */
function ownCopy<A extends FloatArray | IntegerArray>(array: A): A {
  const copy = new (baseConstructor(array))(lengthOfView(array)) as A;
  copyRange(copy, array, 0, copy.length);
  return copy;
}

function sameIdentity(a: Identity, b: Identity, name: string): void {
  for (const key of Object.keys(a) as (keyof Identity)[]) {
    const x = JSON.stringify(a[key]);
    const y = JSON.stringify(b[key]);
    if (x !== y) {
      throw conflictError(
        `${name}.options.${key}`,
        `${name} was made with ${key} ${y}, this meter with ${key} ${x}: they do not merge`,
      );
    }
  }
}

/** A meter (the public interface of lib/index.ts describes it for users). */
export class FocalLossMeter {
  readonly #kind: MeterKind;
  readonly #binding: MeterBinding;
  readonly #identity: Identity;
  readonly #callOptions: Record<string, unknown>;
  readonly #totals: Totals;

  private constructor(
    kind: MeterKind,
    binding: MeterBinding,
    identity: Identity,
    run: Record<string, unknown>,
    totals: Totals,
  ) {
    this.#kind = kind;
    this.#binding = binding;
    this.#identity = identity;
    this.#callOptions = callOptionsOf(kind, identity, run);
    this.#totals = totals;
  }

  /** The shards whose data is in this meter, sorted: its own (the `shard` option) and every merged one's. */
  get shards(): string[] {
    return [...this.#totals.shards].sort();
  }

  /** A new meter: options read once and validated now (the same errors as the loss function's). */
  static create(kind: MeterKind, binding: MeterBinding, optionsArg: unknown): FocalLossMeter {
    if (kind === 'softmax' && optionsArg === undefined) {
      throw rangeError('an options object with numClasses', `the options of ${FACTORY[kind]}`, optionsArg);
    }
    const options = readOptions(optionsArg, FACTORY[kind], METER_OPTIONS[kind]);
    const shard = options.shard === undefined ? randomUUID() : readShard(options.shard, 'options.shard');
    const perClass = readBoolean(options.perClass, 'options.perClass', false);
    // Sigmoid numClasses and ignoreIndex are the meter's own (sigmoid-classes.ts), not the loss function's.
    const grouping =
      kind === 'sigmoid' ? readSigmoidGrouping(options, perClass) : { numClasses: null, ignoreIndex: null };
    const { shard: _s, perClass: _p, ...callOptions } = options;
    if (kind === 'sigmoid') {
      delete callOptions.numClasses;
      delete callOptions.ignoreIndex;
    }
    // An empty call validates every option, with the loss function's messages, and resolves the defaults.
    const empty =
      kind === 'sigmoid' ? [new Float64Array(0), new Float64Array(0)] : [new Float64Array(0), new Int32Array(0)];
    const { plan } = runSync(prepare(kind, binding, empty[0], empty[1], { ...callOptions, reduction: 'none' }));
    const identity = identityOf(kind, plan, perClass, grouping);
    const classes = perClass ? identity.numClasses : null;
    return new FocalLossMeter(kind, binding, identity, options, emptyTotals(shard, classes));
  }

  /** A meter holding a state from outside (checked: see state.ts). */
  static fromState(kind: MeterKind, binding: MeterBinding, value: unknown): FocalLossMeter {
    const { kind: stateKind, identity, totals } = readState(value, 'state');
    if (stateKind !== kind) throw rangeError(`a ${kind} meter state`, 'state.loss', stateKind);
    return new FocalLossMeter(kind, binding, identity, {}, totals);
  }

  /** The chunk's call, and (sigmoid) the `inner` of its layout once the logits' length is known. */
  #prepare(
    logits: unknown,
    targets: unknown,
    addOptions: unknown,
    async: boolean,
  ): { steps: Generator<void, Prepared<Plan>>; innerOf: (length: number) => number } {
    const add = async
      ? readOptions(addOptions, `${FACTORY[this.#kind]}().addAsync`, ADD_ASYNC_OPTIONS[this.#kind])
      : readOptions(addOptions, `${FACTORY[this.#kind]}().add`, ADD_OPTIONS[this.#kind]);
    let innerOf = (_length: number) => 1;
    if (this.#kind === 'sigmoid') {
      // The sigmoid loss function has no layout: the meter reads it for its classes.
      const { shape, classAxis } = add;
      delete add.shape;
      delete add.classAxis;
      innerOf = readSigmoidLayout(shape, classAxis, (this.#identity as SigmoidIdentity).numClasses);
    }
    const steps = prepare(
      this.#kind,
      this.#binding,
      logits,
      targets,
      {
        ...this.#callOptions,
        ...add,
        // The per-sample losses, each added to the sums (and to its class's).
        reduction: 'none',
      },
      async,
    );
    return { steps, innerOf };
  }

  /** Sigmoid with an ignoreIndex: the ignored elements of `plan.targets` (which must be the meter's own). */
  #ignoredOf(plan: Plan): Uint8Array | null {
    const ignoreIndex = this.#kind === 'sigmoid' ? (this.#identity as SigmoidIdentity).ignoreIndex : null;
    return ignoreIndex === null ? null : maskIgnored((plan as SigmoidPlan).targets, ignoreIndex);
  }

  /**
   * Adds one chunk: the same arguments as the loss function (options: weights, and shape /
   * classAxis). Returns the chunk's own result (as {@link result} of a meter given only this
   * chunk): a server can answer a batch and keep the running total in one computation.
   */
  add(logits: Logits, targets: NumericInput, options?: FocalLossMeterAddOptions): FocalLossMeterResult {
    const { steps, innerOf } = this.#prepare(logits, targets, options, false);
    const call = runSync(steps);
    if (call.empty) return this.#emptyResult();
    assertLive(call.plan);
    const plan = call.plan;
    const inner = innerOf(lengthOfView(plan.logits));
    if (this.#kind === 'softmax' && this.#totals.perClass) {
      (plan as SoftmaxPlan).labels = this.#ownLabels(plan as SoftmaxPlan);
    }
    if (this.#kind === 'sigmoid' && (this.#identity as SigmoidIdentity).ignoreIndex !== null) {
      (plan as SigmoidPlan).targets = ownCopy((plan as SigmoidPlan).targets);
    }
    const ignored = this.#ignoredOf(plan);
    const kernel = (this.#kind === 'sigmoid' ? this.#binding.kernels.sigmoid : this.#binding.kernels.softmax) as (
      p: Plan,
    ) => KernelResult;
    const { pool } = this.#binding;
    const ceOut = borrowLike(plan.lossOut!, pool);
    try {
      const focal = kernel(plan);
      call.complete(focal); // throws for a bad element: nothing is added
      const ce = kernel({ ...plan, gamma: 0, lossOut: ceOut });
      call.complete(ce);
      return this.#deposit(plan, focal, ce, plan.lossOut!, ceOut, ignored, inner);
    } finally {
      pool.give(bufferOfView(plan.lossOut!) as ArrayBuffer);
      pool.give(bufferOfView(ceOut) as ArrayBuffer);
    }
  }

  /**
   * {@link add} off the main thread (the loss function's async path); the meter changes when it
   * resolves. With `signal`: an aborted call rejects with an AbortError and adds nothing.
   */
  async addAsync(
    logits: Logits,
    targets: NumericInput,
    options?: FocalLossMeterAddOptions & { signal?: AbortSignal },
  ): Promise<FocalLossMeterResult> {
    const { steps, innerOf } = this.#prepare(logits, targets, options, true);
    const ready = runSliced(steps);
    const call = ready instanceof Promise ? await ready : ready;
    const abort = new CallAbort(call.signal);
    try {
      abort.check();
      if (call.empty) return this.#emptyResult();
      const { pool, copyOwned, kernels } = this.#binding;
      if (this.#kind === 'softmax' && this.#totals.perClass) this.#requireLabels(call.plan as SoftmaxPlan);
      const inner = innerOf(lengthOfView(call.plan.logits));
      // The snapshot copies every caller array: the labels the kernel checks are the ones counted per
      // class, and the targets masked for the ignore index are the meter's own.
      const own = await snapshot(call.plan, call.arrays, pool, copyOwned, abort);
      const kernel = (this.#kind === 'sigmoid' ? kernels.sigmoidAsync : kernels.softmaxAsync) as (
        p: Plan,
        stop: CallAbort,
      ) => Promise<KernelResult>;
      let ceOut: FloatArray | null = null;
      try {
        const ignored = this.#ignoredOf(own.plan);
        const focal = await kernel(own.plan, abort);
        abort.check();
        call.complete(focal);
        ceOut = borrowLike(own.plan.lossOut!, pool);
        const ce = await kernel({ ...own.plan, gamma: 0, lossOut: ceOut }, abort);
        abort.check();
        call.complete(ce);
        return this.#deposit(own.plan, focal, ce, own.plan.lossOut!, ceOut, ignored, inner);
      } finally {
        own.release();
        if (ceOut) pool.give(bufferOfView(ceOut) as ArrayBuffer);
        // The call's own loss array (release() gave back the snapshot's copies, not it).
        pool.give(bufferOfView(call.plan.lossOut!) as ArrayBuffer);
      }
    } finally {
      abort.dispose();
    }
  }

  #requireLabels(plan: SoftmaxPlan): IntegerArray {
    if (!plan.labels) throw rangeError('integer labels (perClass counts samples by class)', 'labels', plan.targets);
    return plan.labels;
  }

  /** The labels, copied (read once): the kernel checks and the meter counts the same values. */
  #ownLabels(plan: SoftmaxPlan): IntegerArray {
    const labels = this.#requireLabels(plan);
    const copy = new (baseConstructor(labels))(lengthOfView(labels));
    copyRange(copy, labels, 0, copy.length);
    return copy;
  }

  /**
   * A chunk's totals, merged into the meter's; returns the chunk's result. The totals are the
   * kernels' own reproducible sums (so the meter's sum is the loss functions' 'sum', bit for bit),
   * unless sigmoid elements are ignored (the loss functions do not know them): then, like the
   * classes, they are summed here from the per-element losses. Softmax classes are the labels (the
   * ignored label is left out); sigmoid classes are the columns of the layout: element i is in
   * class (i / inner) % C.
   */
  #deposit(
    plan: Plan,
    focal: KernelResult,
    ce: KernelResult,
    losses: FloatArray,
    crossEntropies: FloatArray,
    ignored: Uint8Array | null,
    inner: number,
  ): FocalLossMeterResult {
    const classes = this.#totals.perClass;
    const chunk = emptyTotals(null, classes ? classes.length : null);
    if (!ignored) {
      chunk.count = focal.count;
      chunk.sum = readReproducibleSumState(focal.sumState, 'the kernel result');
      chunk.crossEntropy = readReproducibleSumState(ce.sumState, 'the kernel result');
    }
    if (classes || ignored) {
      const labels = this.#kind === 'softmax' ? (plan as SoftmaxPlan).labels : null;
      const labelIgnored = this.#kind === 'softmax' ? (plan as SoftmaxPlan).ignoreIndex : 0;
      const C = classes?.length ?? 1;
      for (let i = 0; i < losses.length; i++) {
        if (ignored?.[i]) continue;
        let k = 0;
        if (labels) {
          k = labels[i]!;
          if (k === labelIgnored) continue;
        } else {
          k = Math.floor(i / inner) % C;
        }
        if (ignored) {
          chunk.count++;
          chunk.sum.add(losses[i]!);
          chunk.crossEntropy.add(crossEntropies[i]!);
        }
        if (chunk.perClass) {
          const c = chunk.perClass[k]!; // the kernel checked every label that is not ignored
          c.count++;
          c.sum.add(losses[i]!);
          c.crossEntropy.add(crossEntropies[i]!);
        }
      }
    }
    mergeTotals(this.#totals, chunk);
    return resultOf(chunk);
  }

  #emptyResult(): FocalLossMeterResult {
    return resultOf(emptyTotals(null, this.#totals.perClass ? this.#totals.perClass.length : null));
  }

  /**
   * Adds another meter of the same loss and options, or a state (from `state()`, here or in
   * another process). A state whose shards are already in this meter is refused: data is never
   * counted twice. The other meter is left as it was.
   */
  merge(other: FocalLossMeter | FocalLossMeterState): this {
    const incoming = FocalLossMeter.#isMeter(other)
      ? { kind: other.#kind, identity: other.#identity, totals: other.#totals }
      : readState(other, 'state');
    if (incoming.kind !== this.#kind) throw rangeError(`a ${this.#kind} meter or state`, 'state.loss', incoming.kind);
    sameIdentity(this.#identity, incoming.identity, 'state');
    const twice = sharedShards(this.#totals, incoming.totals);
    if (twice.length > 0) {
      throw conflictError(
        'state.shards',
        `shard ${twice.map((s) => `'${s}'`).join(', ')} is already in this meter: merging it again would count its data twice`,
      );
    }
    mergeTotals(this.#totals, incoming.totals);
    return this;
  }

  static #isMeter(value: unknown): value is FocalLossMeter {
    return typeof value === 'object' && value !== null && #totals in value;
  }

  /** The state: plain JSON, exact; fromState or merge reads it back (here or elsewhere). */
  state(): FocalLossMeterState {
    return writeState(this.#kind, this.#identity, this.#totals);
  }

  /** The loss, sum, count and cross-entropy of everything added and merged (and per class). */
  result(): FocalLossMeterResult {
    return resultOf(this.#totals);
  }
}

function resultOf(t: Totals): FocalLossMeterResult {
  const sum = t.sum.toDouble();
  const result: FocalLossMeterResult = {
    loss: meanOf(sum, t.count),
    sum,
    count: t.count,
    crossEntropy: meanOf(t.crossEntropy.toDouble(), t.count),
  };
  if (t.perClass) {
    // A class nothing was added to has sums of exactly 0: no need to round them (which, for
    // hundreds of thousands of empty classes, took seconds).
    const sums = t.perClass.map((c) => (c.count > 0 ? c.sum.toDouble() : 0));
    // Shares of the classes' own total, so that they add up to 1 (for float32 the classes hold the
    // losses as returned, rounded to float32, the total the kernels' sums of them as computed).
    const classTotal = sums.reduce((a, b) => a + b, 0);
    result.perClass = t.perClass.map((c, k) => ({
      class: k,
      count: c.count,
      loss: meanOf(sums[k]!, c.count),
      crossEntropy: meanOf(c.count > 0 ? c.crossEntropy.toDouble() : 0, c.count),
      share: classTotal > 0 ? sums[k]! / classTotal : 0,
    }));
  }
  return result;
}
