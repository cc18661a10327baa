// Caller-controlled properties cannot fool the checks: every caller property is read once, through
// the built-in intrinsics where there are some, before the call is validated, and the call computes
// on what was validated (lib/facade/call.ts, lib/facade/arrays.ts).
import { describe, expect, it } from 'vitest';
import { backends } from './backends.js';

const plainLogits = () => new Float64Array([0.5, -1, 2, 0.25]);
const plainTargets = () => new Uint8Array([1, 0, 1, 0]);

for (const { name, api } of backends) {
  describe(`${name}: caller-controlled properties`, () => {
    it('an own .buffer/.byteOffset/.byteLength on out.grad cannot hide that it aliases the logits', () => {
      const x = plainLogits();
      const grad = new Float64Array(x.buffer);
      Object.defineProperty(grad, 'buffer', { value: new ArrayBuffer(32) });
      Object.defineProperty(grad, 'byteOffset', { value: 0 });
      Object.defineProperty(grad, 'byteLength', { value: 32 });
      expect(() => api.sigmoidFocalLoss(x, plainTargets(), { out: { grad } })).toThrow(/must not share memory/);
      expect(x).toEqual(plainLogits());
    });

    it('a subclass getter for .buffer cannot hide it either', () => {
      class Sneaky extends Float64Array {
        override get buffer(): ArrayBuffer {
          return new ArrayBuffer(32);
        }
        override get byteOffset(): number {
          return 0;
        }
      }
      const x = plainLogits();
      const grad = new Sneaky(x.buffer as ArrayBuffer);
      expect(() => api.sigmoidFocalLoss(x, plainTargets(), { out: { grad } })).toThrow(/must not share memory/);
      expect(x).toEqual(plainLogits());
    });

    it('an own .length on the logits is not the length', () => {
      const x = plainLogits();
      Object.defineProperty(x, 'length', { value: 2 });
      const r = api.sigmoidFocalLoss(x, plainTargets(), { reduction: 'sum', gradient: true });
      const want = api.sigmoidFocalLoss(plainLogits(), plainTargets(), { reduction: 'sum', gradient: true });
      expect(r.count).toBe(4);
      expect(r.loss).toBe(want.loss);
      expect(Array.from(r.grad!)).toEqual(Array.from(want.grad!));
    });

    it('a shape whose entries change between reads is read once', () => {
      let reads = 0;
      const shape = [2, 3];
      Object.defineProperty(shape, 0, { get: () => (++reads === 1 ? 2 : 1000), enumerable: true });
      const z = new Float64Array([0, 1, 2, 3, 4, 5]);
      const y = new Int32Array([2, 0]);
      const r = api.softmaxFocalLoss(z, y, { shape, gradient: true, reduction: 'none' });
      const want = api.softmaxFocalLoss(z, y, { shape: [2, 3], gradient: true, reduction: 'none' });
      expect(reads).toBe(1);
      expect(Array.from(r.loss as Float64Array)).toEqual(Array.from(want.loss as Float64Array));
      expect(Array.from(r.grad!)).toEqual(Array.from(want.grad!));
    });

    it('an option getter that shrinks a resizable buffer runs before the arrays are read', () => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const buffer = new (ArrayBuffer as any)(8 * 4, { maxByteLength: 8 * 4 }) as ArrayBuffer & {
        resize(n: number): void;
      };
      const x = new Float64Array(buffer);
      x.set(plainLogits());
      const options = {
        get gamma() {
          buffer.resize(16);
          return 2;
        },
        gradient: true,
      };
      // The logits are 2 elements by the time they are read: the 4 targets do not match.
      expect(() => api.sigmoidFocalLoss(x, plainTargets(), options)).toThrow(
        /Expected 2 targets \(the length of logits\) for targets/,
      );
    });

    it('a number[] input is read by index, not through its iterator', () => {
      const x = [0.5, -1, 2, 0.25];
      Object.defineProperty(x, Symbol.iterator, {
        value: function* () {
          yield* [99, 99, 99, 99];
        },
      });
      const r = api.sigmoidFocalLoss(x, plainTargets(), { reduction: 'sum' });
      expect(r.loss).toBe(api.sigmoidFocalLoss(plainLogits(), plainTargets(), { reduction: 'sum' }).loss);
    });

    it('every option getter runs once, also through a Proxy', () => {
      const reads = new Map<PropertyKey, number>();
      const target = { gamma: 1, reduction: 'sum' as const, gradient: true, weights: [1, 2, 1, 1] };
      const options = new Proxy(target, {
        get(t, key, receiver) {
          reads.set(key, (reads.get(key) ?? 0) + 1);
          return Reflect.get(t, key, receiver) as unknown;
        },
      });
      const r = api.sigmoidFocalLoss(plainLogits(), plainTargets(), options as never);
      expect(r.loss).toBe(api.sigmoidFocalLoss(plainLogits(), plainTargets(), { ...target }).loss);
      expect(Object.fromEntries(reads)).toEqual({ gamma: 1, reduction: 1, gradient: 1, weights: 1 });
    });

    it('a getter on a number[] element runs once', async () => {
      for (const async of [false, true]) {
        let reads = 0;
        const x = [0.5, -1, 2, 0.25];
        Object.defineProperty(x, 2, { get: () => (++reads, 2), enumerable: true });
        // (typed as their common shape: the async options also take `signal`, so the union is not callable)
        const f: (x: number[], t: Uint8Array, o: { reduction: 'sum' }) => unknown = async
          ? api.sigmoidFocalLossAsync
          : api.sigmoidFocalLoss;
        await f(x, plainTargets(), { reduction: 'sum' });
        expect(reads).toBe(1);
      }
    });
  });
}
