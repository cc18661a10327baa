/**
 * focal-loss/tfjs: the adapter's loss and gradient equal tfjs autodiff of the same formula written in
 * tfjs ops; a small model trains with it through model.fit; bad options are the library's errors and
 * bad tensors clear ones; no tensor is left behind. CI runs this file under FOCAL_LOSS_BACKEND=native
 * and =js: the adapter goes through the public API, so it uses whichever backend that selects.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { backend, sigmoidFocalLoss, softmaxFocalLoss } from '../lib/index.js';
import { sigmoidFocalLossTf, softmaxFocalLossTf, type TfLossFunction } from '../lib/tfjs.js';
import { oneHotLabels } from '../lib/tfjs/inputs.js';
import { mulberry32, uniform } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

// ---------------------------------------------------------------------------------------------------
// The reference: the focal loss written with tfjs ops, differentiated by tfjs. Stable enough on the
// moderate logits used here (|x| <= 4): the cross-entropy uses the softplus form, the softmax
// log-softmax; 1 - p_t is a difference, which is fine while p_t is not close to 1.

function refSigmoid(t: tf.Tensor, x: tf.Tensor, gamma: number, alpha: number | null): tf.Scalar {
  const p = tf.sigmoid(x);
  const ce = tf.add(tf.sub(tf.relu(x), tf.mul(x, t)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
  const notT = tf.sub(1, t);
  const m = tf.add(tf.mul(t, tf.sub(1, p)), tf.mul(notT, p));
  const focal = tf.mul(tf.pow(m, gamma), ce);
  const weighted = alpha === null ? focal : tf.mul(tf.add(tf.mul(t, alpha), tf.mul(notT, 1 - alpha)), focal);
  return tf.mean(weighted);
}

/** The same with probabilities p (in (0, 1)) as the input instead of logits. */
function refSigmoidProbabilities(t: tf.Tensor, p: tf.Tensor, gamma: number, alpha: number): tf.Scalar {
  const notT = tf.sub(1, t);
  const ce = tf.neg(tf.add(tf.mul(t, tf.log(p)), tf.mul(notT, tf.log(tf.sub(1, p)))));
  const m = tf.add(tf.mul(t, tf.sub(1, p)), tf.mul(notT, p));
  const a = tf.add(tf.mul(t, alpha), tf.mul(notT, 1 - alpha));
  return tf.mean(tf.mul(a, tf.mul(tf.pow(m, gamma), ce)));
}

/** Keras' categorical focal form: -sum_j t_j alpha_j (1 - p_j)^gamma log p_j, the mean over samples. */
function refSoftmax(t: tf.Tensor, z: tf.Tensor, gamma: number, alpha: number | number[] | null): tf.Scalar {
  const logp = tf.logSoftmax(z);
  const q = tf.sub(1, tf.exp(logp));
  const w = alpha === null ? t : tf.mul(t, Array.isArray(alpha) ? tf.tensor1d(alpha) : alpha);
  return tf.neg(tf.mean(tf.sum(tf.mul(w, tf.mul(tf.pow(q, gamma), logp)), -1))) as tf.Scalar;
}

// ---------------------------------------------------------------------------------------------------

type LossOf = (y: tf.Tensor) => tf.Scalar;

/** Loss value and gradient with respect to x, as plain arrays; every tensor made is disposed. */
function valueAndGrad(f: LossOf, x: tf.Tensor): ValueAndGrad {
  return tf.tidy(() => {
    const { value, grad } = tf.valueAndGrad(f)(x);
    return { value: value.dataSync()[0]!, grad: grad.dataSync() as Float32Array };
  });
}

/**
 * float32 ops against the library's float64-internal kernels: the loss within 2e-6 relative, every
 * gradient element within 2e-6 of the largest (elements near 0 carry the error of their neighbours).
 * Measured worst: 1.2e-7 and 2.6e-7, on both backends.
 */
interface ValueAndGrad {
  value: number;
  grad: Float32Array;
}

function expectSame(got: ValueAndGrad, ref: ValueAndGrad): void {
  expect(Math.abs(got.value - ref.value)).toBeLessThanOrEqual(2e-6 * Math.abs(ref.value) + 1e-12);
  const scale = ref.grad.reduce((m, g) => Math.max(m, Math.abs(g)), 0);
  expect(scale).toBeGreaterThan(0);
  let worst = 0;
  for (let i = 0; i < ref.grad.length; i++) worst = Math.max(worst, Math.abs(got.grad[i]! - ref.grad[i]!));
  expect(worst / scale).toBeLessThanOrEqual(2e-6);
}

function randomTensor(seed: number, shape: number[], lo: number, hi: number): tf.Tensor {
  const rng = mulberry32(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: size }, () => uniform(rng, lo, hi)),
    shape,
    'float32',
  );
}

function randomLabels(seed: number, n: number, classes: number): Int32Array {
  const rng = mulberry32(seed);
  return Int32Array.from({ length: n }, () => Math.floor(rng() * classes));
}

/** Random distributions over the last axis (soft targets). */
function softTargets(seed: number, shape: number[]): tf.Tensor {
  return tf.tidy(() => {
    const raw = randomTensor(seed, shape, 0, 1);
    return tf.div(raw, tf.sum(raw, -1, true));
  });
}

describe('focal-loss/tfjs', () => {
  // CI runs this file once per backend: make sure the variable did select it.
  const asked = process.env.FOCAL_LOSS_BACKEND;
  it.runIf(asked === 'native' || asked === 'js')(`computes with the ${asked} backend`, () => {
    expect(backend().name).toBe(asked);
  });

  describe('equals tfjs autodiff of the same formula', () => {
    const GAMMAS = [0, 0.5, 1, 2, 3.5];

    it('sigmoid: hard and soft targets, every gamma, alpha 0.25 / 0.75 / none', () => {
      const x = randomTensor(1, [64, 5], -4, 4);
      const hard = tf.tensor(Float32Array.from(randomLabels(2, 320, 2)), [64, 5]);
      const soft = randomTensor(3, [64, 5], 0, 1);
      for (const t of [hard, soft]) {
        for (const gamma of GAMMAS) {
          for (const alpha of [0.25, 0.75, null]) {
            const got = valueAndGrad((y) => sigmoidFocalLossTf({ gamma, alpha })(t, y), x);
            const ref = valueAndGrad((y) => refSigmoid(t, y, gamma, alpha), x);
            expectSame(got, ref);
          }
        }
      }
      tf.dispose([x, hard, soft]);
    });

    it('sigmoid: int32 and bool labels give the same as float32 0/1 targets', () => {
      const x = randomTensor(4, [40], -4, 4);
      const labels = randomLabels(5, 40, 2);
      const loss = sigmoidFocalLossTf({ gamma: 2, alpha: 0.25 });
      const [asFloat, asInt, asBool] = [
        tf.tensor1d(Float32Array.from(labels)),
        tf.tensor1d(labels, 'int32'),
        tf.tensor1d(Uint8Array.from(labels), 'bool'),
      ].map((t) => {
        const r = valueAndGrad((y) => loss(t, y), x);
        t.dispose();
        return r;
      });
      expect(asInt).toEqual(asFloat);
      expect(asBool).toEqual(asFloat);
      x.dispose();
    });

    it("sigmoid: input 'probabilities' is differentiated with respect to p", () => {
      const p = randomTensor(6, [50], 0.02, 0.98);
      const t = tf.tensor1d(Float32Array.from(randomLabels(7, 50, 2)));
      for (const gamma of GAMMAS) {
        const loss = sigmoidFocalLossTf({ gamma, alpha: 0.25, input: 'probabilities' });
        const got = valueAndGrad((y) => loss(t, y), p);
        const ref = valueAndGrad((y) => refSigmoidProbabilities(t, y, gamma, 0.25), p);
        expectSame(got, ref);
      }
      tf.dispose([p, t]);
    });

    it('softmax: labels [N] and [N, 1], one-hot and soft targets; per-class, scalar or no alpha', () => {
      const n = 48;
      const c = 4;
      const z = randomTensor(8, [n, c], -4, 4);
      const labels = randomLabels(9, n, c);
      const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), c).toFloat();
      const soft = softTargets(10, [n, c]);
      const targets: [tf.Tensor, tf.Tensor][] = [
        // [yTrue given to the adapter, its one-hot / soft form for the reference]
        [tf.tensor1d(labels, 'int32'), oneHot],
        [tf.tensor2d(labels, [n, 1], 'int32'), oneHot],
        [tf.tensor1d(Float32Array.from(labels)), oneHot], // float32 labels, as model data often is
        [oneHot, oneHot],
        [soft, soft],
      ];
      for (const [yTrue, forRef] of targets) {
        for (const gamma of GAMMAS) {
          for (const alpha of [[0.1, 0.2, 0.3, 0.4], 0.5, null]) {
            const got = valueAndGrad((y) => softmaxFocalLossTf({ gamma, alpha })(yTrue, y), z);
            const ref = valueAndGrad((y) => refSoftmax(forRef, y, gamma, alpha), z);
            expectSame(got, ref);
          }
        }
      }
      tf.dispose([z, soft, ...targets.map(([t]) => t)]);
    });

    it('softmax: classes on the last axis of a higher-rank yPred [N, H, W, C]', () => {
      const z = randomTensor(11, [2, 3, 4, 5], -4, 4);
      const labels = randomLabels(12, 24, 5);
      const yTrue = tf.tensor3d(labels, [2, 3, 4], 'int32');
      const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), 5).reshape([2, 3, 4, 5]).toFloat();
      const got = valueAndGrad((y) => softmaxFocalLossTf({ gamma: 2 })(yTrue, y), z);
      const ref = valueAndGrad((y) => refSoftmax(oneHot, y, 2, null), z);
      expectSame(got, ref);
      tf.dispose([z, yTrue, oneHot]);
    });

    it('float32 tensors cast from int32, whose data the cpu backend keeps as an Int32Array', () => {
      const ints = tf.tensor2d([-3, 0, 2, 1, 4, -1], [2, 3], 'int32');
      const z = tf.cast(ints, 'float32');
      expect(z.dataSync()).toBeInstanceOf(Int32Array); // why the adapter converts by array type, not dtype
      const plain = tf.tensor2d([-3, 0, 2, 1, 4, -1], [2, 3]);
      const oneHot = tf.oneHot(tf.tensor1d([2, 0], 'int32'), 3).toFloat();
      for (const loss of [softmaxFocalLossTf({ gamma: 2 }), sigmoidFocalLossTf({ gamma: 2 })]) {
        expectSame(
          valueAndGrad((y) => loss(oneHot, y), z),
          valueAndGrad((y) => loss(oneHot, y), plain),
        );
      }
      tf.dispose([ints, z, plain, oneHot]);
    });

    it("reduction 'sum' and a normalizer give the sum and the sum / normalizer", () => {
      const x = randomTensor(13, [30], -4, 4);
      const t = tf.tensor1d(Float32Array.from(randomLabels(14, 30, 2)));
      const mean = valueAndGrad((y) => refSigmoid(t, y, 2, 0.25), x);
      const scaled = (k: number) => ({ value: mean.value * k, grad: mean.grad.map((g) => g * k) });
      expectSame(
        valueAndGrad((y) => sigmoidFocalLossTf({ reduction: 'sum' })(t, y), x),
        scaled(30),
      );
      expectSame(
        valueAndGrad((y) => sigmoidFocalLossTf({ normalizer: 6 })(t, y), x),
        scaled(5),
      );
      tf.dispose([x, t]);
    });

    it('the gradient is scaled by dy, the gradient flowing into the loss', () => {
      const x = randomTensor(15, [20, 3], -4, 4);
      const t = tf.oneHot(tf.tensor1d(randomLabels(16, 20, 3), 'int32'), 3).toFloat();
      const loss = softmaxFocalLossTf({ gamma: 2, alpha: [0.25, 0.5, 1] });
      const once = valueAndGrad((y) => loss(t, y), x);
      const scaled = valueAndGrad((y) => tf.mul(-2.5, loss(t, y)) as tf.Scalar, x);
      const twice = valueAndGrad((y) => tf.add(loss(t, y), loss(t, y)) as tf.Scalar, x);
      expectSame(scaled, { value: -2.5 * once.value, grad: once.grad.map((g) => -2.5 * g) });
      expectSame(twice, { value: 2 * once.value, grad: once.grad.map((g) => 2 * g) });
      tf.dispose([x, t]);
    });

    it('equals the array API on the same data', () => {
      const x = randomTensor(17, [100], -6, 6);
      const t = randomTensor(18, [100], 0, 1);
      const options = { gamma: 1.5, alpha: 0.4, labelSmoothing: 0.1 };
      const got = valueAndGrad((y) => sigmoidFocalLossTf(options)(t, y), x);
      const lib = sigmoidFocalLoss(x.dataSync() as Float32Array, t.dataSync() as Float32Array, {
        ...options,
        gradient: true,
      });
      expect(got.value).toBe(Math.fround(lib.loss as number));
      expect(got.grad).toEqual(lib.grad);
      tf.dispose([x, t]);
    });
  });

  // -------------------------------------------------------------------------------------------------

  describe('trains a model with model.fit', () => {
    /** An imbalanced set: 20 negatives for each positive, in 2-D, positives around (1, 1). */
    function imbalanced(seed: number, n: number): { x: tf.Tensor2D; labels: Int32Array } {
      const rng = mulberry32(seed);
      const labels = Int32Array.from({ length: n }, (_, i) => (i % 21 === 0 ? 1 : 0));
      const x = new Float32Array(2 * n);
      labels.forEach((y, i) => {
        x[2 * i] = y + uniform(rng, -0.8, 0.8);
        x[2 * i + 1] = y + uniform(rng, -0.8, 0.8);
      });
      return { x: tf.tensor2d(x, [n, 2]), labels };
    }

    function model(outputs: number, seed: number): tf.Sequential {
      const m = tf.sequential();
      m.add(
        tf.layers.dense({
          inputShape: [2],
          units: 8,
          activation: 'relu',
          kernelInitializer: tf.initializers.glorotUniform({ seed }),
        }),
      );
      // No activation: the adapter takes logits.
      const kernelInitializer = tf.initializers.glorotUniform({ seed: seed + 1 });
      m.add(tf.layers.dense({ units: outputs, kernelInitializer }));
      return m;
    }

    async function fit(m: tf.Sequential, loss: TfLossFunction, x: tf.Tensor, y: tf.Tensor) {
      m.compile({ optimizer: tf.train.adam(0.05), loss });
      const history = await m.fit(x, y, { epochs: 12, batchSize: 64, shuffle: false, verbose: 0 });
      return history.history.loss as number[];
    }

    it('sigmoid (1:20): the loss falls, and the same seeds give the same history', async () => {
      const { x, labels } = imbalanced(21, 420);
      const y = tf.tensor2d(Float32Array.from(labels), [420, 1]);
      const run = async () => {
        const m = model(1, 100);
        const losses = await fit(m, sigmoidFocalLossTf({ gamma: 2, alpha: 0.25 }), x, y);
        // The trained model ranks the rare positives above the negatives on average.
        const logits = tf.tidy(() => m.predict(x) as tf.Tensor).dataSync();
        let pos = 0;
        let neg = 0;
        labels.forEach((l, i) => (l ? (pos += logits[i]! / 20) : (neg += logits[i]! / 400)));
        m.dispose();
        return { losses, pos, neg };
      };
      const first = await run();
      expect(first.losses.length).toBe(12);
      expect(first.losses.at(-1)!).toBeLessThan(0.5 * first.losses[0]!);
      expect(first.pos).toBeGreaterThan(first.neg);
      expect((await run()).losses).toEqual(first.losses);
      tf.dispose([x, y]);
    });

    it('softmax (3 classes, 400:20:20, one-hot targets, per-class alpha): the loss falls', async () => {
      const rng = mulberry32(22);
      const n = 440;
      const labels = Int32Array.from({ length: n }, (_, i) => (i < 400 ? 0 : i < 420 ? 1 : 2));
      const centre = [
        [0, 0],
        [1.5, 0],
        [0, 1.5],
      ];
      const features = (_: unknown, k: number) => centre[labels[k >> 1]!]![k & 1]! + uniform(rng, -0.7, 0.7);
      const x = tf.tensor2d(Float32Array.from({ length: 2 * n }, features), [n, 2]);
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 3).toFloat();
      const m = model(3, 200);
      const losses = await fit(m, softmaxFocalLossTf({ gamma: 2, alpha: [0.1, 0.45, 0.45] }), x, y);
      expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]!);
      m.dispose();
      tf.dispose([x, y]);
    });

    it('softmax with integer labels [N] in a custom loop (optimizer.minimize)', () => {
      const { x, labels } = imbalanced(23, 210);
      const y = tf.tensor1d(labels, 'int32');
      const m = model(2, 300);
      const loss = softmaxFocalLossTf({ gamma: 2, alpha: [0.25, 0.75] });
      const optimizer = tf.train.adam(0.05);
      const step = () => optimizer.minimize(() => loss(y, m.apply(x) as tf.Tensor), true)!;
      const losses = Array.from({ length: 30 }, () => {
        const cost = step();
        const value = cost.dataSync()[0]!;
        cost.dispose();
        return value;
      });
      expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]!);
      optimizer.dispose();
      m.dispose();
      tf.dispose([x, y]);
    });
  });

  // -------------------------------------------------------------------------------------------------

  describe('errors', () => {
    /** The error the array API throws for the same options. */
    function libraryError(call: () => unknown): Error {
      try {
        call();
      } catch (error) {
        return error as Error;
      }
      throw new Error('the library accepted the options');
    }

    it("bad options are the library's TypeError / RangeError, thrown when the loss is made", () => {
      const x = new Float32Array(1);
      const cases: [Record<string, unknown>, ErrorConstructor][] = [
        [{ gamma: -1 }, RangeError],
        [{ gamma: '2' }, TypeError],
        [{ alpha: 1.5 }, RangeError],
        [{ labelSmoothing: 2 }, RangeError],
        [{ input: 'probs' }, RangeError],
        [{ reduction: 'avg' }, RangeError],
        [{ threads: 0 }, RangeError],
      ];
      for (const [options, Kind] of cases) {
        const expected = libraryError(() => sigmoidFocalLoss(x, x, options));
        expect(expected).toBeInstanceOf(Kind);
        expect(() => sigmoidFocalLossTf(options)).toThrow(expected);
        expect(() => sigmoidFocalLossTf(options)).toThrow(Kind);
      }
      const softmaxCases: [Record<string, unknown>, ErrorConstructor][] = [
        [{ gamma: NaN }, RangeError],
        [{ alpha: [0.5, 2] }, RangeError],
        [{ alpha: 'none' }, TypeError],
        [{ ignoreIndex: 1.5 }, RangeError],
      ];
      for (const [options, Kind] of softmaxCases) {
        const twoClasses = { numClasses: 2, ...options };
        const z = new Float32Array(2);
        const expected = libraryError(() => softmaxFocalLoss(z, new Int32Array(1), twoClasses));
        expect(() => softmaxFocalLossTf(options)).toThrow(expected);
        expect(() => softmaxFocalLossTf(options)).toThrow(Kind);
      }
      expect(() => sigmoidFocalLossTf(2 as never)).toThrow(TypeError);
      expect(() => sigmoidFocalLossTf(2 as never)).toThrow(
        /Expected an options object for the options of sigmoidFocalLossTf/,
      );
    });

    it("an unknown option names the adapter's function and lists the adapter's own options", () => {
      const unknown = (call: () => unknown, message: string) => {
        expect(call).toThrow(TypeError);
        expect(call).toThrow(message);
        expect(libraryError(call)).toHaveProperty('code', 'ERR_INVALID_ARG_VALUE');
      };
      unknown(
        () => sigmoidFocalLossTf({ gama: 2 } as never),
        "Unknown option 'gama' for sigmoidFocalLossTf (did you mean 'gamma'?); known options: " +
          'gamma, alpha, reduction, normalizer, labelSmoothing, input, threads, simd',
      );
      // The softmax loss takes logits only: `input` is not one of its options.
      unknown(
        () => softmaxFocalLossTf({ input: 'probabilities' } as never),
        "Unknown option 'input' for softmaxFocalLossTf; known options: " +
          'gamma, alpha, reduction, normalizer, labelSmoothing, ignoreIndex, threads, simd',
      );
      unknown(() => softmaxFocalLossTf({ ignoreIndx: 0 } as never), "(did you mean 'ignoreIndex'?)");
    });

    it('options that make no sense in a tfjs loss are refused, saying why', () => {
      for (const key of ['gradient', 'out', 'weights']) {
        expect(() => sigmoidFocalLossTf({ [key]: undefined } as never)).toThrow(
          new RegExp(`^Option '${key}' is not accepted by sigmoidFocalLossTf: `),
        );
        expect(() => softmaxFocalLossTf({ [key]: undefined } as never)).toThrow(TypeError);
      }
      for (const key of ['numClasses', 'shape', 'classAxis']) {
        expect(() => softmaxFocalLossTf({ [key]: 3 } as never)).toThrow(
          /reads the classes from the last axis of yPred/,
        );
      }
      expect(() => sigmoidFocalLossTf({ reduction: 'none' } as never)).toThrow(RangeError);
      expect(() => softmaxFocalLossTf({ reduction: 'none' } as never)).toThrow(
        "Expected 'mean' or 'sum' (a tfjs loss is one scalar) for options.reduction " +
          "but received 'none' of type string",
      );
    });

    /** The error's class, code and whole message. */
    function expectError(call: () => unknown, Kind: ErrorConstructor, message: string | RegExp): void {
      expect(call).toThrow(Kind);
      expect(call).toThrow(message);
      const code = Kind === TypeError ? 'ERR_INVALID_ARG_TYPE' : 'ERR_OUT_OF_RANGE';
      expect(libraryError(call)).toHaveProperty('code', code);
      // The library's fields, as its own errors carry them: the argument the message names.
      if (typeof message === 'string') {
        expect(libraryError(call)).toHaveProperty(
          'argument',
          /^Expected .* for (\S+) but received /.exec(message)?.[1],
        );
      }
    }

    it('tensors of the wrong shape or dtype are clear errors', () => {
      const sigmoid = sigmoidFocalLossTf();
      const softmax = softmaxFocalLossTf();
      tf.tidy(() => {
        const x = tf.zeros([4, 2]);
        expectError(
          () => sigmoid(tf.zeros([8]), x),
          RangeError,
          "Expected yPred's shape [4, 2] for yTrue but received a float32 tensor of shape [8]",
        );
        expectError(
          () => sigmoid(tf.zeros([4, 2]), tf.zeros([4, 2], 'int32')),
          TypeError,
          'Expected a float32 tensor (logits) for yPred but received a int32 tensor of shape [4, 2]',
        );
        const notTensor = 'Expected a tf.Tensor for yTrue but received an array of length 2';
        expectError(() => sigmoid([1, 0] as never, x), TypeError, notTensor);
        expectError(
          () => sigmoid(tf.zeros([4, 2]), new Float32Array(8) as never),
          TypeError,
          'Expected a tf.Tensor for yPred but received Float32Array(8)',
        );
        expectError(
          () => softmax(tf.zeros([4, 3]), x),
          RangeError,
          "Expected yPred's shape [4, 2] (one-hot or soft targets), or [4] or [4, 1] (class labels) " +
            'for yTrue but received a float32 tensor of shape [4, 3]',
        );
        expectError(() => softmax(tf.zeros([4]), tf.zeros([4])), RangeError, /Expected logits \[N, C\]/);
        // Element errors come from the library, with the index in the flattened tensor.
        expectError(
          () => sigmoid(tf.tensor2d([0, 1, 0, 2, 0, 0, 0, 0], [4, 2], 'int32'), x),
          RangeError,
          /Expected a label of 0 or 1 for targets\[3\] but received 2/,
        );
        const badLabel = /for labels\[2\] but received 5/;
        expectError(() => softmax(tf.tensor1d([0, 1, 5, 0], 'int32'), x), RangeError, badLabel);
        expectError(
          () => softmax(tf.tensor1d([0, 1.5, 1, 0]), x),
          RangeError,
          'Expected an integer class for yTrue[1] but received 1.5 of type number',
        );
        // A per-class alpha fixes C: another C is the library's error.
        expectError(
          () => softmaxFocalLossTf({ alpha: [0.5, 0.5, 0.5] })(tf.tensor1d([0, 1, 1, 0]), x),
          RangeError,
          /Expected 2 class weights \(numClasses\) for options.alpha/,
        );
      });
    });
  });

  // -------------------------------------------------------------------------------------------------

  describe('leaves no tensor behind', () => {
    const count = () => tf.memory().numTensors;

    it('across calls, gradients, and calls that throw', () => {
      const x = randomTensor(31, [16, 3], -3, 3);
      const t = tf.oneHot(tf.tensor1d(randomLabels(32, 16, 3), 'int32'), 3).toFloat();
      const labels = tf.tensor1d(randomLabels(32, 16, 3), 'int32');
      const bad = tf.tensor1d([0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 'int32');
      const sigmoid = sigmoidFocalLossTf();
      const softmax = softmaxFocalLossTf({ alpha: [0.2, 0.3, 0.5] });
      const start = count();
      for (let i = 0; i < 5; i++) {
        sigmoid(t, x).dispose(); // outside tidy: the caller disposes the one tensor returned
        tf.tidy(() => {
          softmax(labels, x); // returns nothing: tidy disposes the loss and whatever the call made
        });
        const { value, grad } = tf.valueAndGrad((y: tf.Tensor) => softmax(t, y))(x);
        tf.dispose([value, grad]);
        tf.grad((y: tf.Tensor) => sigmoid(t, y))(x).dispose();
        expect(() => tf.grad((y: tf.Tensor) => softmax(bad, y))(x)).toThrow(RangeError);
        expect(() => tf.tidy(() => sigmoid(tf.zeros([3]), x))).toThrow(RangeError);
        expect(count()).toBe(start);
      }
      tf.dispose([x, t, labels, bad]);
    });

    it('across epochs of model.fit', async () => {
      const x = randomTensor(33, [128, 2], -1, 1);
      const y = tf.tensor2d(Float32Array.from(randomLabels(34, 128, 2)), [128, 1]);
      const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1 })] });
      m.compile({ optimizer: tf.train.adam(0.01), loss: sigmoidFocalLossTf() });
      await m.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 }); // creates the optimizer's variables
      const start = count();
      await m.fit(x, y, { epochs: 3, batchSize: 32, verbose: 0 });
      expect(count()).toBe(start);
      m.dispose();
      tf.dispose([x, y]);
    });
  });
});

describe('one-hot targets take the integer-label kernel', () => {
  it('oneHotLabels finds the class of exactly one-hot rows, and nothing else', () => {
    expect(Array.from(oneHotLabels(new Float32Array([0, 1, 0, 1, 0, 0]), 3)!)).toEqual([1, 0]);
    expect(oneHotLabels(new Float32Array([0, 1, 0, 0.5, 0.5, 0]), 3)).toBeNull(); // a soft row
    expect(oneHotLabels(new Float32Array([0, 1, 0, 0, 0, 0]), 3)).toBeNull(); // no class
    expect(oneHotLabels(new Float32Array([0, 1, 1, 1, 0, 0]), 3)).toBeNull(); // two classes
    expect(oneHotLabels(new Float32Array([0, 1, 0, 0, 2, 0]), 3)).toBeNull(); // not a 1
    expect(oneHotLabels(new Float32Array([0, 1, 0, NaN, 1, 0]), 3)).toBeNull();
  });

  it('the loss and gradient equal the soft-target path, with every option', () => {
    const random = mulberry32(77);
    const n = 300;
    const c = 6;
    const labels = Int32Array.from({ length: n }, () => Math.floor(random() * c));
    const targets = new Float32Array(n * c);
    labels.forEach((y, i) => (targets[i * c + y] = 1));
    const logits = new Float32Array(n * c).map(() => uniform(random, -6, 6));
    for (const options of [
      { gamma: 2 },
      { gamma: 0.5, alpha: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], labelSmoothing: 0.1 },
      { gamma: 0, alpha: 0.25, reduction: 'sum' as const },
    ]) {
      const soft = softmaxFocalLoss(logits, targets, { ...options, numClasses: c, gradient: true });
      const hard = softmaxFocalLoss(logits, oneHotLabels(targets, c)!, { ...options, numClasses: c, gradient: true });
      expect(hard.loss as number).toBeCloseTo(soft.loss as number, 5);
      const worst = hard.grad!.reduce((m, g, i) => Math.max(m, Math.abs(g - soft.grad![i]!)), 0);
      expect(worst, JSON.stringify(options)).toBeLessThan(1e-6);
    }
  });
});

describe('without @tensorflow/tfjs-core (a project that has not installed it; child processes)', () => {
  // A project whose node_modules holds a copy of the package (dist/ and package.json) and links to
  // every dependency of the repository except @tensorflow/*, so tfjs-core cannot resolve.
  const root = fileURLToPath(new URL('..', import.meta.url));
  function project(): string {
    const dir = mkdtempSync(join(tmpdir(), 'focal-loss-no-tfjs-'));
    const modules = join(dir, 'node_modules');
    const pkg = join(modules, 'focal-loss');
    mkdirSync(pkg, { recursive: true });
    cpSync(join(root, 'dist'), join(pkg, 'dist'), { recursive: true });
    cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
    for (const name of readdirSync(join(root, 'node_modules'))) {
      if (name !== '@tensorflow' && name !== 'focal-loss' && !name.startsWith('.')) {
        symlinkSync(join(root, 'node_modules', name), join(modules, name));
      }
    }
    return dir;
  }

  function run(dir: string, args: string[]) {
    // The project copy has no addon: the JS backend, whatever FOCAL_LOSS_BACKEND this run asks for
    // (the message under test is about tfjs-core, not the addon).
    const env = { ...process.env, FOCAL_LOSS_BACKEND: 'js' };
    const r = spawnSync(process.execPath, args, { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  const clear =
    'focal-loss/tfjs needs @tensorflow/tfjs-core, an optional peer dependency of focal-loss, and it is not ' +
    'installed. Install it (npm install @tensorflow/tfjs-core) or any TensorFlow.js distribution, which ' +
    'brings it (@tensorflow/tfjs, @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu).';

  it("import and require of 'focal-loss/tfjs' fail with one message naming the peer to install", () => {
    const dir = project();
    try {
      const esm = run(dir, [
        '--input-type=module',
        '-e',
        `try { await import('focal-loss/tfjs'); } catch (e) { console.log(JSON.stringify({ message: e.message, code: e.code })); }`,
      ]);
      expect(esm.stderr).toBe('');
      expect(JSON.parse(esm.stdout)).toEqual({ message: clear, code: 'ERR_MODULE_NOT_FOUND' });
      const cjs = run(dir, [
        '-e',
        `try { require('focal-loss/tfjs'); } catch (e) { console.log(JSON.stringify({ message: e.message, code: e.code })); }`,
      ]);
      expect(cjs.stderr).toBe('');
      expect(JSON.parse(cjs.stdout)).toEqual({ message: clear, code: 'ERR_MODULE_NOT_FOUND' });
      // Uncaught, it is what the user reads first.
      const uncaught = run(dir, ['--input-type=module', '-e', `import 'focal-loss/tfjs';`]);
      expect(uncaught.status).toBe(1);
      expect(uncaught.stderr).toContain(`Error: ${clear}`);
      // The main entry point never needs tfjs-core.
      const main = run(dir, [
        '--input-type=module',
        '-e',
        `import { sigmoidFocalLoss } from 'focal-loss'; console.log(sigmoidFocalLoss([0], [1], { gamma: 0, alpha: null }).loss);`,
      ]);
      expect(main.stderr).toBe('');
      expect(Number(main.stdout)).toBeCloseTo(Math.LN2, 12);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
