// Bad input: every mistake is a TypeError or RangeError that names the argument and what was
// received, for both backends, and nothing the caller passes is modified.
import { describe, expect, it } from 'vitest';
import { backends } from './backends.js';

const f64 = (...v: number[]) => new Float64Array(v);

for (const { name, api } of backends) {
  const { sigmoidFocalLoss: sigmoid, softmaxFocalLoss: softmax } = api;
  const logits = f64(0.5, -1, 2, 0);
  const targets = new Uint8Array([1, 0, 1, 0]);
  const z = f64(0, 1, 2, 3, 4, 5); // [2, 3]
  const y = new Int32Array([2, 0]);

  describe(`${name}: argument errors`, () => {
    it('rejects logits of the wrong type', () => {
      expect(() => sigmoid('abc' as never, targets)).toThrow(TypeError);
      expect(() => sigmoid('abc' as never, targets)).toThrow(
        "Expected a Float32Array, a Float64Array or an array of numbers for logits but received 'abc' of type string",
      );
      expect(() => sigmoid(new Int32Array(4) as never, targets)).toThrow(/for logits but received Int32Array\(4\)/);
      expect(() => sigmoid([1, 'x'] as never, [1, 0])).toThrow(/Expected a number for logits\[1\] but received 'x'/);
      expect(() => softmax(null as never, y, { numClasses: 3 })).toThrow(TypeError);
    });

    it('rejects targets of the wrong type or length', () => {
      expect(() => sigmoid(logits, {} as never)).toThrow(TypeError);
      expect(() => sigmoid(logits, new Uint8Array(3))).toThrow(RangeError);
      expect(() => sigmoid(logits, new Uint8Array(3))).toThrow(
        /Expected 4 targets \(the length of logits\) for targets but received Uint8Array\(3\)/,
      );
      expect(() => sigmoid(logits, new Uint8Array(5))).toThrow(RangeError);
    });

    it('rejects targets out of range with the index and the value', () => {
      expect(() => sigmoid(logits, new Uint8Array([1, 0, 2, 0]))).toThrow(
        'Expected a label of 0 or 1 for targets[2] but received 2 of type number',
      );
      expect(() => sigmoid(logits, f64(1, 0, 0.5, 1.5))).toThrow(
        /a target in \[0, 1\] for targets\[3\] but received 1.5/,
      );
      expect(() => sigmoid(logits, f64(1, NaN, 0.5, 1))).toThrow(/targets\[1\] but received NaN/);
      expect(() => sigmoid(logits, f64(1, -0.1, 0.5, 1))).toThrow(RangeError);
    });

    it('rejects labels out of range, unless they are the ignoreIndex', () => {
      expect(() => softmax(z, new Int32Array([3, 0]), { numClasses: 3 })).toThrow(
        'Expected a class in [0, 3) or the ignoreIndex (-100) for labels[0] but received 3 of type number',
      );
      expect(() => softmax(z, new Int32Array([0, -1]), { numClasses: 3 })).toThrow(/labels\[1\] but received -1/);
      expect(() => softmax(z, new Int32Array([0, -1]), { numClasses: 3, ignoreIndex: -1 })).not.toThrow();
      expect(() => softmax(z, [0, 1.5], { numClasses: 3 })).toThrow(
        /an integer class for labels\[1\] but received 1.5/,
      );
      expect(() => softmax(z, new Int32Array(3), { numClasses: 3 })).toThrow(/Expected 2 labels \(one per sample\)/);
      expect(() => softmax(z, f64(1, 0, 0, 0, 2, 0), { numClasses: 3 })).toThrow(/target in \[0, 1\] for labels\[4\]/);
      expect(() => softmax(z, new Float32Array(2), { numClasses: 3 })).toThrow(RangeError);
    });

    it('rejects a bad gamma', () => {
      for (const gamma of [-1, -1e-300, NaN, Infinity]) {
        expect(() => sigmoid(logits, targets, { gamma })).toThrow(RangeError);
        expect(() => softmax(z, y, { numClasses: 3, gamma })).toThrow(/for options.gamma but received/);
      }
      expect(() => sigmoid(logits, targets, { gamma: '2' as never })).toThrow(
        "Expected a number for options.gamma but received '2' of type string",
      );
    });

    it('rejects a bad alpha', () => {
      expect(() => sigmoid(logits, targets, { alpha: 1.5 })).toThrow(
        'Expected a number in [0, 1] for options.alpha but received 1.5 of type number',
      );
      expect(() => sigmoid(logits, targets, { alpha: -0.1 })).toThrow(RangeError);
      expect(() => sigmoid(logits, targets, { alpha: [0.5] as never })).toThrow(TypeError);
      expect(() => softmax(z, y, { numClasses: 3, alpha: [0.5, 0.5] })).toThrow(
        /Expected 3 class weights \(numClasses\) for options.alpha/,
      );
      expect(() => softmax(z, y, { numClasses: 3, alpha: [0.5, 2, 0.5] })).toThrow(
        /for options.alpha\[1\] but received 2/,
      );
      expect(() => softmax(z, y, { numClasses: 3, alpha: 'x' as never })).toThrow(TypeError);
      expect(() => softmax(z, y, { numClasses: 3, alpha: NaN })).toThrow(RangeError);
    });

    it('rejects unknown and misspelled options', () => {
      expect(() => sigmoid(logits, targets, { gama: 2 } as never)).toThrow(TypeError);
      expect(() => sigmoid(logits, targets, { gama: 2 } as never)).toThrow(
        /Unknown option 'gama' for sigmoidFocalLoss \(did you mean 'gamma'\?\)/,
      );
      expect(() => softmax(z, y, { numClasses: 3, ignore_index: 1 } as never)).toThrow(/did you mean 'ignoreIndex'/);
      expect(() => softmax(z, y, { numClasses: 3, input: 'logits' } as never)).toThrow(
        /Unknown option 'input' for softmaxFocalLoss/,
      );
      expect(() => sigmoid(logits, targets, 5 as never)).toThrow(TypeError);
    });

    it('rejects an unknown reduction', () => {
      expect(() => sigmoid(logits, targets, { reduction: 'avg' as never })).toThrow(
        "Expected one of 'none', 'sum', 'mean' for options.reduction but received 'avg' of type string",
      );
      expect(() => sigmoid(logits, targets, { reduction: 'avg' as never })).toThrow(RangeError);
      expect(() => sigmoid(logits, targets, { reduction: 1 as never })).toThrow(TypeError);
    });

    it('rejects a bad normalizer, and one combined with another reduction', () => {
      for (const normalizer of [0, -1, NaN, Infinity]) {
        expect(() => sigmoid(logits, targets, { normalizer })).toThrow(RangeError);
      }
      expect(() => sigmoid(logits, targets, { normalizer: 2, reduction: 'mean' })).toThrow(
        /cannot be combined with reduction 'mean'/,
      );
      expect(() => sigmoid(logits, targets, { normalizer: 2, reduction: 'sum' })).not.toThrow();
    });

    it('rejects a bad layout for softmax', () => {
      expect(() => softmax(z, y, {} as never)).toThrow(TypeError);
      expect(() => softmax(z, y, { numClasses: 4 })).toThrow(
        /Expected a multiple of numClasses \(4\) for the length of logits but received 6/,
      );
      expect(() => softmax(z, y, { numClasses: 1.5 })).toThrow(RangeError);
      expect(() => softmax(z, y, { numClasses: 0 })).toThrow(RangeError);
      expect(() => softmax(z, y, { shape: [2, 4] })).toThrow(/product of options.shape/);
      expect(() => softmax(z, y, { shape: [2, 3], classAxis: 2 })).toThrow(
        /Expected an axis in \[-2, 2\) for options.classAxis/,
      );
      expect(() => softmax(z, y, { shape: [2, -3] })).toThrow(/options.shape\[1\]/);
      expect(() => softmax(z, y, { shape: [2, 3], numClasses: 2 })).toThrow(/differs from options.shape/);
      expect(() => softmax(z, y, { shape: [6] })).toThrow(RangeError);
      expect(() => softmax(z, y, { numClasses: 3, classAxis: 1 })).toThrow(/classAxis needs options.shape/);
    });

    it('rejects bad weights', () => {
      expect(() => sigmoid(logits, targets, { weights: f64(1, 1, 1) })).toThrow(
        /Expected 4 weights \(one per element\)/,
      );
      expect(() => sigmoid(logits, targets, { weights: f64(1, -1, 1, 1) })).toThrow(
        'Expected a finite weight >= 0 for options.weights[1] but received -1 of type number',
      );
      expect(() => sigmoid(logits, targets, { weights: f64(1, 1, Infinity, 1) })).toThrow(/options.weights\[2\]/);
      expect(() => softmax(z, y, { numClasses: 3, weights: f64(1, NaN) })).toThrow(
        /options.weights\[1\] but received NaN/,
      );
      expect(() => softmax(z, y, { numClasses: 3, weights: 'w' as never })).toThrow(TypeError);
    });

    it('rejects bad option values of every other kind', () => {
      expect(() => sigmoid(logits, targets, { labelSmoothing: 1.5 })).toThrow(RangeError);
      expect(() => sigmoid(logits, targets, { input: 'probs' as never })).toThrow(
        /'logits', 'probabilities' for options.input/,
      );
      expect(() => sigmoid(logits, targets, { gradient: 1 as never })).toThrow(TypeError);
      expect(() => softmax(z, y, { numClasses: 3, ignoreIndex: 0.5 })).toThrow(/an integer for options.ignoreIndex/);
      expect(() => sigmoid(f64(0.5, 1.2), [1, 0], { input: 'probabilities' })).toThrow(
        /a probability in \[0, 1\] \(options.input is 'probabilities'\) for logits\[1\] but received 1.2/,
      );
    });

    it('rejects output buffers of the wrong type, length or memory', () => {
      expect(() => sigmoid(logits, targets, { reduction: 'none', out: { loss: new Float32Array(4) } })).toThrow(
        /Expected a Float64Array \(the logits' type\) for options.out.loss/,
      );
      expect(() => sigmoid(logits, targets, { gradient: true, out: { grad: new Float64Array(3) } })).toThrow(
        RangeError,
      );
      expect(() => sigmoid(logits, targets, { out: { loss: new Float64Array(4) } })).toThrow(
        /only written with reduction 'none'/,
      );
      expect(() => sigmoid(logits, targets, { gradient: false, out: { grad: new Float64Array(4) } })).toThrow(
        RangeError,
      );
      expect(() => sigmoid(logits, targets, { out: { grad: logits } })).toThrow(/must not share memory with an input/);
      const shared = new Float64Array(8);
      expect(() =>
        sigmoid(shared.subarray(0, 4), targets, { reduction: 'none', out: { loss: shared.subarray(2, 6) } }),
      ).toThrow(/must not share memory/);
      expect(() => sigmoid(logits, targets, { out: { los: new Float64Array(4) } as never })).toThrow(TypeError);
    });
  });

  describe(`${name}: inputs and outputs`, () => {
    it('never modifies its inputs', () => {
      const x = f64(0.5, -1, 2, NaN);
      const t = f64(1, 0, 0.3, 1);
      const w = f64(1, 2, 0, 1);
      const copies = [x.slice(), t.slice(), w.slice()];
      sigmoid(x, t, { weights: w, reduction: 'none', gradient: true, labelSmoothing: 0.1 });
      expect([x, t, w]).toEqual(copies);
      const zs = z.slice();
      const soft = f64(0.2, 0.3, 0.5, 1, 0, 0);
      const softCopy = soft.slice();
      softmax(z, soft, { numClasses: 3, gradient: true, labelSmoothing: 0.1 });
      expect(z).toEqual(zs);
      expect(soft).toEqual(softCopy);
    });

    it('writes into the buffers it is given', () => {
      const out = { loss: new Float64Array(4), grad: new Float64Array(4) };
      const r = sigmoid(logits, targets, { reduction: 'none', out });
      expect(r.loss).toBe(out.loss);
      expect(r.grad).toBe(out.grad);
      const fresh = sigmoid(logits, targets, { reduction: 'none', gradient: true });
      expect(out.loss).toEqual(fresh.loss);
      expect(out.grad).toEqual(fresh.grad);
      const g = new Float64Array(6);
      const s = softmax(z, y, { numClasses: 3, out: { grad: g } });
      expect(s.grad).toBe(g);
      expect(Array.from(g).some((v) => v !== 0)).toBe(true);
    });

    it('keeps the dtype: float32 in, float32 out; number[] is float64', () => {
      const r32 = sigmoid(new Float32Array(logits), targets, { reduction: 'none', gradient: true });
      expect(r32.loss).toBeInstanceOf(Float32Array);
      expect(r32.grad).toBeInstanceOf(Float32Array);
      const rArr = sigmoid([0.5, -1], [1, 0], { reduction: 'none', gradient: true });
      expect(rArr.loss).toBeInstanceOf(Float64Array);
      const s32 = softmax(new Float32Array(z), y, { numClasses: 3, reduction: 'none', gradient: true });
      expect(s32.loss).toBeInstanceOf(Float32Array);
      expect(s32.grad).toBeInstanceOf(Float32Array);
    });

    it('accepts typed arrays that view part of a larger buffer', () => {
      const big = new Float64Array(10);
      big.set(logits, 3);
      const view = big.subarray(3, 7);
      const labels = new Uint8Array(16);
      labels.set(targets, 5);
      const a = sigmoid(view, labels.subarray(5, 9), { reduction: 'none', gradient: true });
      const b = sigmoid(logits, targets, { reduction: 'none', gradient: true });
      expect(a.loss).toEqual(b.loss);
      expect(a.grad).toEqual(b.grad);
    });

    it('handles empty batches', () => {
      expect(sigmoid(new Float64Array(0), new Uint8Array(0)).loss).toBe(0);
      expect(sigmoid(new Float64Array(0), new Uint8Array(0), { reduction: 'sum' }).loss).toBe(0);
      expect(softmax(new Float64Array(0), new Int32Array(0), { numClasses: 3 }).loss).toBe(0);
      expect(softmax(new Float64Array(0), new Int32Array(0), { numClasses: 3, gradient: true }).grad).toEqual(
        new Float64Array(0),
      );
    });
  });
}

for (const { name, api } of backends) {
  describe(`${name}: detached buffers`, () => {
    const detached = <V extends ArrayBufferView>(view: V): V => {
      structuredClone(view.buffer, { transfer: [view.buffer as ArrayBuffer] });
      return view;
    };
    it('are a TypeError, not an empty batch', () => {
      expect(() => api.sigmoidFocalLoss(detached(new Float32Array(4)), new Uint8Array(0))).toThrow(
        /Expected a typed array on a live ArrayBuffer for logits but received Float32Array, whose buffer was detached/,
      );
      expect(() => api.sigmoidFocalLoss(new Float32Array(0), detached(new Uint8Array(4)))).toThrow(/for targets/);
      expect(() => api.softmaxFocalLoss(new Float64Array(0), detached(new Int32Array(4)), { numClasses: 2 })).toThrow(
        /for labels/,
      );
      expect(() =>
        api.sigmoidFocalLoss(new Float64Array(0), new Uint8Array(0), { weights: detached(new Float64Array(2)) }),
      ).toThrow(/for options.weights/);
      expect(() =>
        api.sigmoidFocalLoss(new Float64Array(0), new Uint8Array(0), {
          reduction: 'none',
          out: { loss: detached(new Float64Array(3)) },
        }),
      ).toThrow(/for options.out.loss/);
    });
    it('still accept genuinely empty arrays', () => {
      expect(api.sigmoidFocalLoss(new Float32Array(0), new Uint8Array(0)).loss).toBe(0);
    });
  });
}
