// The `signal` option of the async functions: an aborted call rejects with Node's AbortError,
// stops its work between blocks, leaves `out` untouched, gives its pooled memory back and removes
// its listener from the signal.
import { ReproducibleSum } from '../lib/reduce/reproducible-sum.js';
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { backends, nativeBackend } from './backends.js';
import { expectSame, mulberry32 as rng } from './helpers.js';
import { tickWhile } from './timer.js';
import { createFocalLoss } from '../lib/facade/api.js';
import { poolFor } from '../lib/async/buffer-pool.js';
import { Blocks, runBlocksAsync, runSteppedBlocksAsync } from '../lib/backends/js/blocks.js';
import type { KernelResult, Kernels, StopRequest } from '../lib/backends/contract.js';
import { jsKernels } from '../lib/backends/js/kernels.js';
import { loadNative } from '../lib/backends/native/loader.js';
import { callSigmoidPlan, RESULT_LENGTH } from '../lib/backends/protocol.js';
import { sigmoidPlan } from './fixtures/plans.mjs';

const native = loadNative();

function expectAbortError(error: unknown, reason: unknown) {
  expect(error).toBeInstanceOf(Error);
  expect(error).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', message: 'The operation was aborted' });
  expect((error as Error).cause).toBe(reason);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected the call to reject'),
    (error: unknown) => error,
  );
}

/** Inputs large enough for many blocks (2^20 elements; 2^17 samples of 8 classes). */
function sigmoidInputs(seed: number, n = 1 << 20) {
  const random = rng(seed);
  return {
    logits: new Float32Array(n).map(() => (random() - 0.5) * 10),
    targets: new Uint8Array(n).map(() => (random() < 0.3 ? 1 : 0)),
  };
}
function softmaxInputs(seed: number, samples = 1 << 17) {
  const random = rng(seed);
  return {
    logits: new Float64Array(samples * 8).map(() => (random() - 0.5) * 10),
    labels: new Int32Array(samples).map(() => Math.floor(random() * 8)),
  };
}

/**
 * The backend's kernels with their async functions observed: `onKernel` runs as an async kernel
 * starts (after the call was validated and its inputs copied), and the allocator is a new function,
 * so the call's copies come from a pool of their own (poolFor) whose buffers can be counted.
 */
function observed(kernels: Kernels, onKernel: (stop: StopRequest | undefined) => void) {
  let calls = 0;
  let allocated = 0;
  const base = kernels.allocate ?? ((bytes: number) => new ArrayBuffer(bytes));
  const allocate = (bytes: number) => (allocated++, base(bytes));
  const spy: Kernels = {
    ...kernels,
    allocate,
    sigmoidAsync(plan, stop) {
      calls++;
      onKernel(stop);
      return kernels.sigmoidAsync(plan, stop);
    },
    softmaxAsync(plan, stop) {
      calls++;
      onKernel(stop);
      return kernels.softmaxAsync(plan, stop);
    },
  };
  return {
    api: createFocalLoss(spy),
    calls: () => calls,
    allocated: () => allocated,
    pooled: () => poolFor(allocate).pooled().buffers,
  };
}

for (const { name, api } of backends) {
  const kernels = name === 'js' ? jsKernels : native.kernels!;

  describe(`${name}: async calls with a signal`, () => {
    it('an already aborted signal rejects with its reason as the cause, before any copy or kernel', async () => {
      const spy = observed(kernels, () => {});
      const { logits, targets } = sigmoidInputs(1);
      const reason = new Error('client went away');
      const signal = AbortSignal.abort(reason);
      const grad = new Float32Array(logits.length).fill(7);
      expectAbortError(
        await rejection(spy.api.sigmoidFocalLossAsync(logits, targets, { out: { grad }, signal })),
        reason,
      );
      const soft = softmaxInputs(2);
      const noReason = AbortSignal.abort(); // its reason is a DOMException named AbortError
      const error = await rejection(
        spy.api.softmaxFocalLossAsync(soft.logits, soft.labels, { numClasses: 8, signal: noReason }),
      );
      expectAbortError(error, noReason.reason);
      expect(((error as Error).cause as DOMException).name).toBe('AbortError');
      expect(spy.calls()).toBe(0);
      expect(spy.allocated()).toBe(0);
      expect(grad.every((g) => g === 7)).toBe(true);
      expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    });

    for (const threads of [1, 2]) {
      it(`aborted as its kernel starts (threads ${threads}): rejects, out untouched, pooled copies given back`, async () => {
        const controller = new AbortController();
        const reason = { why: 'deadline' };
        const spy = observed(kernels, () => controller.abort(reason));
        const { logits, targets } = sigmoidInputs(3);
        const grad = new Float32Array(logits.length).fill(7);
        const sigmoid = spy.api.sigmoidFocalLossAsync(logits, targets, {
          out: { grad },
          threads,
          signal: controller.signal,
        });
        expectAbortError(await rejection(sigmoid), reason);
        expect(grad.every((g) => g === 7)).toBe(true);
        // Every buffer the call borrowed (logits, targets, grad) is back in its pool.
        expect(spy.allocated()).toBe(3);
        expect(spy.pooled()).toBe(3);
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);

        const again = new AbortController();
        const spy2 = observed(kernels, () => again.abort());
        const soft = softmaxInputs(4);
        const loss = new Float64Array(soft.labels.length).fill(7);
        const softmax = spy2.api.softmaxFocalLossAsync(soft.logits, soft.labels, {
          numClasses: 8,
          reduction: 'none',
          gradient: true,
          out: { loss },
          threads,
          signal: again.signal,
        });
        expectAbortError(await rejection(softmax), again.signal.reason);
        expect(loss.every((l) => l === 7)).toBe(true);
        expect(spy2.pooled()).toBe(spy2.allocated());
      });
    }

    it('aborted while its inputs are copied (large arrays are copied in slices): stops copying', async () => {
      const controller = new AbortController();
      const spy = observed(kernels, () => {});
      const { logits, targets } = sigmoidInputs(5); // 4 MiB of logits: 4 slices of 1 MiB
      const call = spy.api.sigmoidFocalLossAsync(logits, targets, { signal: controller.signal });
      setImmediate(() => controller.abort());
      expectAbortError(await rejection(call), controller.signal.reason);
      expect(spy.calls()).toBe(0); // the kernel never started
      expect(spy.pooled()).toBe(spy.allocated());
    });

    it('aborted after it settled: no effect; a long-lived signal keeps no listener', async () => {
      const controller = new AbortController();
      const { signal } = controller;
      const { logits, targets } = sigmoidInputs(6, 4096);
      const soft = softmaxInputs(7, 512);
      const results = [];
      for (let i = 0; i < 20; i++) {
        results.push(await api.sigmoidFocalLossAsync(logits, targets, { gradient: true, signal }));
        results.push(await api.softmaxFocalLossAsync(soft.logits, soft.labels, { numClasses: 8, signal }));
        // A call that fails validation after reading the signal does not keep a listener either.
        await rejection(api.sigmoidFocalLossAsync(logits, targets, { gamma: -1, signal }));
      }
      expect(getEventListeners(signal, 'abort')).toHaveLength(0);
      const last = results[0]!;
      const grad = last.grad!.slice();
      controller.abort();
      expect(last.grad).toEqual(grad);
      expectSame(last, api.sigmoidFocalLoss(logits, targets, { gradient: true }));
    });

    it('concurrent calls: only the aborted one rejects, the others return what the sync call returns', async () => {
      const { logits, targets } = sigmoidInputs(8, 1 << 17); // 4 blocks
      const soft = softmaxInputs(9, 1 << 14);
      const controller = new AbortController();
      const spy = observed(kernels, () => {});
      const grad = new Float32Array(logits.length).fill(7);
      const aborted = spy.api.sigmoidFocalLossAsync(logits, targets, { out: { grad }, signal: controller.signal });
      const others = [
        spy.api.sigmoidFocalLossAsync(logits, targets, { gradient: true, signal: new AbortController().signal }),
        spy.api.softmaxFocalLossAsync(soft.logits, soft.labels, { numClasses: 8, gradient: true }),
      ];
      controller.abort();
      expectAbortError(await rejection(aborted), controller.signal.reason);
      expect(grad.every((g) => g === 7)).toBe(true);
      const [sigmoid, softmax] = await Promise.all(others);
      expectSame(sigmoid!, api.sigmoidFocalLoss(logits, targets, { gradient: true }));
      expectSame(softmax!, api.softmaxFocalLoss(soft.logits, soft.labels, { numClasses: 8, gradient: true }));
    });

    it('the event loop keeps turning while a large call runs until it is aborted', async () => {
      const random = rng(10);
      const samples = 1 << 16;
      const classes = 64; // 4M logits: many blocks
      const logits = new Float32Array(samples * classes).map(() => random() * 4);
      const labels = new Int32Array(samples).map(() => Math.floor(random() * classes));
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 5);
      const { result, ticks } = await tickWhile(1, () =>
        rejection(
          api.softmaxFocalLossAsync(logits, labels, { numClasses: classes, gradient: true, signal: controller.signal }),
        ),
      );
      clearTimeout(timer);
      expectAbortError(result, controller.signal.reason);
      expect(ticks).toBeGreaterThan(0);
    });

    it('a signal that is not an AbortSignal is a TypeError naming options.signal; no caller code runs', async () => {
      const x = new Float64Array([0.5, -1]);
      const t = new Uint8Array([1, 0]);
      let traps = 0;
      const proxy = new Proxy(new AbortController().signal, {
        get: (target, key) => (traps++, Reflect.get(target, key, target) as unknown),
        getPrototypeOf: (target) => (traps++, Reflect.getPrototypeOf(target)),
      });
      for (const [bad, received] of [
        ['yes', /received 'yes' of type string/],
        [{ aborted: false }, /received an object/],
        [Object.create(AbortSignal.prototype), /received an object/],
        [proxy, /received a Proxy/],
        [null, /received null/],
      ] as const) {
        const error = await rejection(api.sigmoidFocalLossAsync(x, t, { signal: bad as never }));
        expect(error).toBeInstanceOf(TypeError);
        expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', argument: 'options.signal' });
        expect((error as Error).message).toMatch(/Expected an AbortSignal for options.signal/);
        expect((error as Error).message).toMatch(received);
        await expect(api.softmaxFocalLossAsync(x, t, { numClasses: 2, signal: bad as never })).rejects.toThrow(
          /options.signal/,
        );
      }
      expect(traps).toBe(0);
      // A Proxy further up the prototype chain is refused too, its traps never asked about the signal.
      const overProxy = Object.create(proxy) as object;
      await expect(api.sigmoidFocalLossAsync(x, t, { signal: overProxy as never })).rejects.toThrow(/options.signal/);
      // An own `aborted` getter is not what is read (the intrinsic is), nor is `addEventListener`.
      let callerCode = 0;
      const liar = new AbortController().signal;
      Object.defineProperty(liar, 'aborted', { get: () => (callerCode++, true) });
      Object.defineProperty(liar, 'addEventListener', { value: () => callerCode++ });
      expect((await api.sigmoidFocalLossAsync(x, t, { signal: liar })).count).toBe(2);
      expect(callerCode).toBe(0);
      // The sync functions have no signal option.
      expect(() => api.sigmoidFocalLoss(x, t, { signal: new AbortController().signal } as never)).toThrow(
        /Unknown option 'signal'/,
      );
    });
  });
}

describe('js: the async block runners stop between blocks', () => {
  const blocks = new Blocks(1 << 20, 1); // 32 blocks
  const stopAfter = (k: number, ran: () => number): StopRequest => ({
    get requested() {
      return ran() >= k;
    },
    onRequest() {},
  });

  it('runBlocksAsync runs no block once stop is requested', async () => {
    expect(blocks.count).toBeGreaterThan(4);
    let ran = 0;
    const result = await runBlocksAsync(
      blocks,
      (begin, end) => (ran++, { sum: new ReproducibleSum(), count: end - begin }),
      stopAfter(3, () => ran),
    );
    expect(ran).toBe(3);
    expect(result.stopped).toBe(true);
  });

  it('runSteppedBlocksAsync stops between the steps of a block', async () => {
    let steps = 0;
    const result: KernelResult = await runSteppedBlocksAsync(
      blocks,
      () => ({ step: () => (++steps < 1000 ? null : { sum: new ReproducibleSum(), count: 1 }) }),
      stopAfter(5, () => steps),
    );
    expect(steps).toBe(5);
    expect(result.stopped).toBe(true);
  });
});

describe.runIf(nativeBackend)('native: a stopped job skips the blocks not yet started', () => {
  for (const threads of [1, 2]) {
    it(`stopAsync right after the call (threads ${threads}): rejects with ABORT_ERR, most blocks never ran`, async () => {
      const addon = native.addon!;
      const n = 1 << 22; // 128 blocks of 32768 elements
      const on = <A extends Float32Array | Uint8Array>(Ctor: new (b: ArrayBuffer) => A, bytes: number) =>
        new Ctor(addon.allocate(bytes));
      const logits = on(Float32Array, n * 4).fill(0.5);
      const targets = on(Uint8Array, n).fill(1);
      const gradOut = on(Float32Array, n * 4).fill(Number.NaN);
      const simd = native.kernels!.simd!.levels[native.kernels!.simd!.default]!;
      const plan = sigmoidPlan(n, { logits, targets, gradOut, threads, simd });
      const result = new Float64Array(RESULT_LENGTH);
      const call = callSigmoidPlan(addon.sigmoidAsync, plan, result);
      addon.stopAsync!(result);
      const error = await rejection(call);
      expect(error).toMatchObject({ code: 'ABORT_ERR' });
      let written = 0;
      for (let i = 0; i < n; i++) if (!Number.isNaN(gradOut[i])) written++;
      expect(written).toBeLessThan(n / 2);
      expect(result.every((slot) => slot === 0)).toBe(true); // no result written
      // Stopping a settled call, or with anything but an async call's result array, is harmless / a TypeError.
      addon.stopAsync!(result);
      expect(() => addon.stopAsync!(new Float64Array(RESULT_LENGTH))).toThrow(TypeError);
    });
  }
});
