// Errors: every one carries `code`, `argument` (without an index) and, for a bad element, `index`;
// options are the known properties of the options object and its prototypes below Object.prototype;
// absurd shapes and subnormal normalizers are the facade's errors, the same on both backends.
import { describe, expect, it } from 'vitest';
import { backends } from './backends.js';

const f64 = (...v: number[]) => new Float64Array(v);

function caught(f: () => unknown): Record<string, unknown> {
  try {
    f();
  } catch (e) {
    const error = e as Error & Record<string, unknown>;
    return { type: error.constructor.name, code: error.code, argument: error.argument, index: error.index };
  }
  throw new Error('did not throw');
}

for (const { name, api } of backends) {
  const { sigmoidFocalLoss: sigmoid, softmaxFocalLoss: softmax } = api;
  const x = f64(0.5, -1, 2, 0);
  const t = new Uint8Array([1, 0, 1, 0]);
  const z = f64(0, 1, 2, 3, 4, 5);
  const y = new Int32Array([2, 0]);

  describe(`${name}: error fields`, () => {
    it('code, argument and index', () => {
      const cases: Array<[() => unknown, Record<string, unknown>]> = [
        [() => sigmoid('x' as never, t), { type: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', argument: 'logits' }],
        [
          () => sigmoid([1, 'a'] as never, [1, 0]),
          { type: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', argument: 'logits', index: 1 },
        ],
        [
          () => sigmoid(x, new Uint8Array([1, 0, 2, 0])),
          { type: 'RangeError', code: 'ERR_OUT_OF_RANGE', argument: 'targets', index: 2 },
        ],
        [
          () => softmax(z, new Int32Array([0, 7]), { numClasses: 3 }),
          { type: 'RangeError', code: 'ERR_OUT_OF_RANGE', argument: 'labels', index: 1 },
        ],
        [
          () => softmax(z, [0, 1.5], { numClasses: 3 }),
          { type: 'RangeError', code: 'ERR_OUT_OF_RANGE', argument: 'labels', index: 1 },
        ],
        [
          () => sigmoid(x, t, { weights: f64(1, -1, 1, 1) }),
          { type: 'RangeError', code: 'ERR_OUT_OF_RANGE', argument: 'options.weights', index: 1 },
        ],
        [
          () => softmax(z, y, { numClasses: 3, alpha: [0.5, 2, 0.5] }),
          { type: 'RangeError', code: 'ERR_OUT_OF_RANGE', argument: 'options.alpha', index: 1 },
        ],
        [
          () => softmax(z, y, { shape: [2, -3] }),
          { type: 'RangeError', code: 'ERR_OUT_OF_RANGE', argument: 'options.shape', index: 1 },
        ],
        [
          () => sigmoid(x, t, { gamma: -1 }),
          { type: 'RangeError', code: 'ERR_OUT_OF_RANGE', argument: 'options.gamma' },
        ],
        [
          () => sigmoid(x, t, { gamma: '2' as never }),
          { type: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', argument: 'options.gamma' },
        ],
        [
          () => sigmoid(x, t, { gama: 2 } as never),
          { type: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', argument: 'options.gama' },
        ],
        [
          () => sigmoid(x, t, { out: { los: f64(1) } } as never),
          { type: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', argument: 'options.out.los' },
        ],
        [
          () => sigmoid(x, t, { normalizer: 2, reduction: 'mean' }),
          { type: 'RangeError', code: 'ERR_INVALID_ARG_VALUE', argument: 'options.normalizer' },
        ],
        [
          () => sigmoid(x, t, { out: { grad: new Float32Array(4) } }),
          { type: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', argument: 'options.out.grad' },
        ],
        [
          () => sigmoid(x, t, { out: { grad: x } }),
          { type: 'RangeError', code: 'ERR_INVALID_ARG_VALUE', argument: 'options.out.grad' },
        ],
        [() => softmax(z, y, { numClasses: 4 }), { type: 'RangeError', code: 'ERR_OUT_OF_RANGE', argument: 'logits' }],
        [
          () => softmax(z, y, {} as never),
          { type: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', argument: 'options.numClasses' },
        ],
        [
          () => sigmoid(f64(0.5, 1.2), [1, 0], { input: 'probabilities' }),
          { type: 'RangeError', code: 'ERR_OUT_OF_RANGE', argument: 'logits', index: 1 },
        ],
      ];
      for (const [f, want] of cases) expect(caught(f)).toEqual({ index: undefined, ...want });
    });

    it('the fields are plain enumerable own properties, as on Node errors', () => {
      try {
        softmax(z, new Int32Array([0, 7]), { numClasses: 3 });
      } catch (e) {
        expect(Object.keys(e as object)).toEqual(['code', 'argument', 'index']);
      }
    });
  });

  describe(`${name}: options on the prototype chain`, () => {
    it('a typo in an inherited option is an unknown option', () => {
      expect(caught(() => sigmoid(x, t, Object.create({ gama: 2 }) as never))).toMatchObject({
        code: 'ERR_INVALID_ARG_VALUE',
        argument: 'options.gama',
      });
      class Options {
        get gama() {
          return 2;
        }
      }
      expect(() => sigmoid(x, t, new Options() as never)).toThrow(/Unknown option 'gama'/);
      expect(() => sigmoid(x, t, Object.defineProperty({}, 'gama', { value: 2 }) as never)).toThrow(/'gama'/);
    });

    it('an inherited known option counts, from an object or a class', () => {
      const want = sigmoid(x, t, { gamma: 0.5, reduction: 'sum' }).loss;
      expect(sigmoid(x, t, Object.create({ gamma: 0.5, reduction: 'sum' }) as never).loss).toBe(want);
      class Options {
        reduction = 'sum' as const;
        get gamma() {
          return 0.5;
        }
      }
      expect(sigmoid(x, t, new Options()).loss).toBe(want);
      expect(sigmoid(x, t, Object.assign(Object.create(null), { gamma: 0.5, reduction: 'sum' })).loss).toBe(want);
    });

    it('a property added to Object.prototype is not an option', () => {
      const proto = Object.prototype as Record<string, unknown>;
      proto.reduction = 'none';
      try {
        expect(typeof sigmoid(x, t, {}).loss).toBe('number');
      } finally {
        delete proto.reduction;
      }
    });
  });

  describe(`${name}: absurd shapes, tiny normalizers, empty calls`, () => {
    it('a shape whose product passes 2^53 is a RangeError naming options.shape, even with a zero dimension', () => {
      for (const shape of [
        [0, 3, 2 ** 53 - 1, 2 ** 53 - 1],
        [2 ** 27, 2 ** 27, 0],
        [0, 2 ** 30, 2 ** 30],
      ]) {
        expect(caught(() => softmax(new Float64Array(0), new Int32Array(0), { shape }))).toEqual({
          type: 'RangeError',
          code: 'ERR_OUT_OF_RANGE',
          argument: 'options.shape',
          index: undefined,
        });
      }
    });

    it('no sample with a huge class count is an empty result, not an internal error', async () => {
      for (const options of [
        { shape: [0, 2 ** 40] },
        { numClasses: 2 ** 53 - 1, gradient: true },
        { shape: [2 ** 45, 10, 0] },
      ]) {
        const r = softmax(new Float64Array(0), new Int32Array(0), options);
        expect([r.loss, r.count]).toEqual([0, 0]);
        const a = await api.softmaxFocalLossAsync(new Float64Array(0), new Int32Array(0), options);
        expect([a.loss, a.count]).toEqual([0, 0]);
      }
    });

    it('a subnormal normalizer is a RangeError; the smallest normal one gives g / normalizer', () => {
      expect(caught(() => sigmoid(x, t, { normalizer: 1e-310, gradient: true }))).toMatchObject({
        type: 'RangeError',
        argument: 'options.normalizer',
      });
      const tiny = 2 ** -1022;
      const r = sigmoid(x, t, { normalizer: tiny, gradient: true, weights: f64(1e-300, 0, 1e-300, 1e-300) });
      const g = sigmoid(x, t, { reduction: 'sum', gradient: true, weights: f64(1e-300, 0, 1e-300, 1e-300) });
      expect(r.loss).toBe((g.loss as number) / tiny);
      for (let i = 0; i < 4; i++) {
        expect(Number.isNaN(r.grad![i])).toBe(false);
        expect(r.grad![i]).toBe(g.grad![i]! * (1 / tiny));
      }
      expect(r.grad![1]).toBe(0);
    });
  });
}
