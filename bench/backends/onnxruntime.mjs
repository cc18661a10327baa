// onnxruntime-node on its CPU execution provider: the native inference engine a Node user would
// reach for, running the focal losses as ONNX graphs made at bench time (onnx-model.mjs). One
// session per loss, gamma, mode and thread count, with `intraOpNumThreads` = the row's thread
// count; its default graph optimizations. Sigmoid targets are float32 (as for tfjs and PyTorch);
// softmax labels int32. Like focal-loss's `out`, the gradient is written into a preallocated
// output tensor, so the result's allocation is not timed (ORT's temporaries come from its arena).
//
// Its `run` returns a promise (it runs the graph on the main thread, after a setImmediate): a call
// is timed until the promise settles.
import { SIGMOID_ALPHA } from './focal-calls.mjs';
import { sigmoidModel, softmaxModel } from './onnx-model.mjs';

export async function loadOnnxruntime() {
  let ort;
  try {
    ort = (await import('onnxruntime-node')).default;
  } catch (error) {
    return { available: false, reason: `not installed (${error.code ?? error.message.split('\n')[0]})` };
  }
  const sessions = new Map(); // key -> Promise<InferenceSession>
  const sessionFor = (data, { gamma, gradient }, threads) => {
    const { kind, classes } = data.size;
    const key = `${kind}/${classes}/${gamma}/${gradient}/${threads}`;
    if (!sessions.has(key)) {
      const model =
        kind === 'sigmoid'
          ? sigmoidModel({ gamma, alpha: SIGMOID_ALPHA, gradient })
          : softmaxModel({ gamma, classes, gradient });
      sessions.set(
        key,
        ort.InferenceSession.create(model, {
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
          executionMode: 'sequential',
          graphOptimizationLevel: 'all',
        }),
      );
    }
    return sessions.get(key);
  };
  const inputs = new WeakMap(); // data set -> its input tensors (views of its arrays, made once)
  const feedsFor = (data) => {
    if (!inputs.has(data)) {
      const { size } = data;
      const feeds =
        size.kind === 'sigmoid'
          ? {
              x: new ort.Tensor('float32', data.logits, [size.n]),
              t: new ort.Tensor('float32', data.targetsF32, [size.n]),
            }
          : {
              z: new ort.Tensor('float32', data.logits, [size.rows, size.classes]),
              y: new ort.Tensor('int32', data.labels, [size.rows]),
            };
      inputs.set(data, feeds);
    }
    return inputs.get(data);
  };
  const gradDims = ({ size }) => (size.kind === 'sigmoid' ? [size.n] : [size.rows, size.classes]);
  return {
    available: true,
    version: ort.env.versions.node ?? ort.env.versions.common,
    /** A closure that runs one call and resolves to the loss (the gradient lands in `data.grad`). */
    call(data, cell, threads) {
      const feeds = feedsFor(data);
      const fetches = cell.gradient
        ? { loss: null, grad: new ort.Tensor('float32', data.grad, gradDims(data)) }
        : ['loss'];
      const pending = sessionFor(data, cell, threads);
      return async () => (await (await pending).run(feeds, fetches)).loss.data[0];
    },
    /** The loss and a copy of the gradient of one call (for the gradient check). */
    async lossAndGradient(data, cell) {
      const loss = await this.call(data, { ...cell, gradient: true }, 1)();
      return { loss, grad: Float32Array.from(data.grad) };
    },
    /** Ends every session (and its thread pool). */
    async dispose() {
      const all = [...sessions.values()];
      sessions.clear();
      for (const session of all) await (await session).release();
    },
  };
}
