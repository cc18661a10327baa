// The files a user's project would hold, written into each fresh project by pack.pack.ts.

/**
 * The consumer's package.json, approving (true) or denying (false) the tarball's install script.
 * npm 11.19 still runs unapproved scripts, with a warning (a future npm will not), so an explicit
 * entry is what makes the test mean the same on both. An entry matches the dependency's resolved
 * identity, which for a tarball is `file:<absolute path>` (what `npm install-scripts approve` writes);
 * a `'focal-loss'` entry does not match a tarball.
 */
export function packageJson(tarball: string, allowScripts: boolean): string {
  const pkg = { name: 'consumer', version: '1.0.0', private: true, type: 'module' };
  return JSON.stringify({ ...pkg, allowScripts: { [`file:${tarball}`]: allowScripts } }, null, 2);
}

/** ES module: named imports, a computation, the backend. */
export const MJS = `
import { sigmoidFocalLoss, softmaxFocalLoss, backend } from 'focal-loss';
const s = sigmoidFocalLoss(new Float64Array([2, -1]), new Uint8Array([1, 0]), { gamma: 0, alpha: null });
const m = softmaxFocalLoss([0, 0], [1], { numClasses: 2, gamma: 0 });
console.log(JSON.stringify({ kind: 'mjs', sigmoid: s.loss, softmax: m.loss, backend: backend() }));
`;

/** CommonJS: require() of the same package. */
export const CJS = `
const { sigmoidFocalLoss, softmaxFocalLoss, backend } = require('focal-loss');
const s = sigmoidFocalLoss(new Float64Array([2, -1]), new Uint8Array([1, 0]), { gamma: 0, alpha: null });
const m = softmaxFocalLoss([0, 0], [1], { numClasses: 2, gamma: 0 });
console.log(JSON.stringify({ kind: 'cjs', sigmoid: s.loss, softmax: m.loss, backend: backend() }));
`;

/**
 * TypeScript (ES module), under --strict: the results are narrowed by the options, so none of this
 * needs a cast; each @ts-expect-error is a place where the type must be narrow (tsc fails on an
 * unused one).
 */
export const TS = `
import {
  sigmoidFocalLoss,
  sigmoidFocalLossAsync,
  softmaxFocalLoss,
  softmaxFocalLossAsync,
  backend,
  type SigmoidFocalLossOptions,
} from 'focal-loss';

const logits32 = new Float32Array([2.1, -0.3, 0.8, -4.0]);
const targets = new Uint8Array([1, 0, 0, 0]);

// Defaults: 'mean' is a number, no gradient.
const a = sigmoidFocalLoss(logits32, targets);
const aLoss: number = a.loss;
const aGrad: undefined = a.grad;
// @ts-expect-error without gradient: true there is no grad to read
a.grad.length;

// reduction 'none' and gradient: arrays of the logits' element type, defined.
const b = sigmoidFocalLoss(logits32, targets, { reduction: 'none', gradient: true });
const bLoss: Float32Array = b.loss;
const bGrad: Float32Array = b.grad;
// @ts-expect-error a 'none' loss is an array, not a number
const bNumber: number = b.loss;

// out.grad turns the gradient on; float64 logits give float64 arrays.
const grad64 = new Float64Array(4);
const c = sigmoidFocalLoss(new Float64Array(4), targets, { out: { grad: grad64 }, reduction: 'sum' });
const cGrad: Float64Array = c.grad;
const cLoss: number = c.loss;
// @ts-expect-error float64 logits never give a Float32Array
const cWrong: Float32Array = c.grad;

// number[] logits: float64; normalizer: a number.
const d = softmaxFocalLoss([0, 0, 5, 0], [1, 0], { numClasses: 2, normalizer: 2, gradient: true });
const dLoss: number = d.loss;
const dGrad: Float64Array = d.grad;

// Options not known at compile time: the wide result.
const options: SigmoidFocalLossOptions = { gamma: 2, alpha: 0.25, gradient: true };
const e = sigmoidFocalLoss(logits32, targets, options);
const eGrad: Float32Array | undefined = e.grad;
const eLoss: number | Float32Array = e.loss;

// Async: the same narrowing.
async function f() {
  const g = await softmaxFocalLossAsync(new Float32Array(6), new Int32Array([2, 1]), { numClasses: 3, reduction: 'none' });
  const gLoss: Float32Array = g.loss;
  const h = await sigmoidFocalLossAsync(logits32, targets, { gradient: true });
  const hGrad: Float32Array = h.grad;
  return [gLoss, hGrad];
}

// @ts-expect-error a typo in an option name is a compile error
sigmoidFocalLoss(logits32, targets, { gamma: 2, gama: 3 });
// @ts-expect-error gamma must be a number
sigmoidFocalLoss(logits32, targets, { gamma: '2' });

// The zero-allocation loop: feed the returned gradient back as out.grad.
let r = sigmoidFocalLoss(logits32, targets, { gradient: true });
for (let i = 0; i < 3; i++) r = sigmoidFocalLoss(logits32, targets, { out: { grad: r.grad } });
const rGrad: Float32Array = r.grad;

const name: 'native' | 'js' = backend().name;

export { name, aLoss, aGrad, bLoss, bGrad, bNumber, cGrad, cLoss, cWrong, dLoss, dGrad, eGrad, eLoss, f, rGrad };
`;

/** TypeScript (CommonJS): the require-side types. */
export const CTS = `
import focal = require('focal-loss');
const r = focal.softmaxFocalLoss(new Float64Array([0, 1]), new Int32Array([1]), { numClasses: 2 });
const loss: number = r.loss;
const s = focal.sigmoidFocalLoss(new Float32Array(2), new Uint8Array(2), { reduction: 'none', gradient: true });
const grad: Float32Array = s.grad;
const each: Float32Array = s.loss;
export = [loss, grad, each];
`;

export const TSCONFIG = JSON.stringify(
  {
    compilerOptions: {
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'es2022',
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: [],
    },
    include: ['*.ts', '*.cts'],
  },
  null,
  2,
);

/**
 * The same computations on two machines, compared by pack.pack.ts: losses and gradients of both
 * functions, float32 and float64, hard and soft targets, the tiled (C = 10) and generic (C = 40)
 * softmax, as plain numbers (JSON keeps a double's value exactly).
 */
export const ACROSS_MACHINES = `
import { sigmoidFocalLoss, softmaxFocalLoss, backend } from 'focal-loss';
let seed = 12345;
const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const out = {};
for (const F of [Float32Array, Float64Array]) {
  const x = F.from({ length: 203 }, () => (random() - 0.5) * 40);
  const t = Uint8Array.from(x, () => (random() < 0.3 ? 1 : 0));
  const soft = F.from(x, () => random());
  for (const [name, targets] of [['hard', t], ['soft', soft]]) {
    const r = sigmoidFocalLoss(x, targets, { gamma: 2, reduction: 'none', gradient: true });
    out['sigmoid ' + F.name + ' ' + name] = [...r.loss, ...r.grad];
  }
  for (const C of [10, 40]) {
    const z = F.from({ length: 37 * C }, () => (random() - 0.5) * 20);
    const y = Int32Array.from({ length: 37 }, () => Math.floor(random() * C));
    const r = softmaxFocalLoss(z, y, { numClasses: C, gamma: 1.5, reduction: 'none', gradient: true });
    out['softmax ' + F.name + ' C=' + C] = [...r.loss, ...r.grad];
  }
}
console.log(JSON.stringify({ arch: process.arch, backend: backend(), out }));
`;
