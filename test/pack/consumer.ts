// The files a user's project would hold, written into each fresh project by pack.pack.ts.

/** npm 11 runs a dependency's install script only when the project's allowScripts lists it. */
export function packageJson(allowScripts: boolean): string {
  const pkg = { name: 'consumer', version: '1.0.0', private: true, type: 'module' };
  return JSON.stringify(allowScripts ? { ...pkg, allowScripts: { 'focal-loss': true } } : pkg, null, 2);
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

/** TypeScript (ES module): must type-check, including the result types and an option error. */
export const TS = `
import { sigmoidFocalLoss, softmaxFocalLossAsync, backend, type SigmoidFocalLossOptions } from 'focal-loss';
const options: SigmoidFocalLossOptions = { gamma: 2, alpha: 0.25, gradient: true };
const r = sigmoidFocalLoss(new Float32Array([1, 2]), new Uint8Array([1, 0]), options);
const grad: Float32Array | undefined = r.grad;
const loss: number | Float32Array = r.loss;
const p: Promise<unknown> = softmaxFocalLossAsync(new Float64Array(4), new Int32Array([0, 1]), { numClasses: 2 });
const name: 'native' | 'js' = backend().name;
// @ts-expect-error gamma must be a number
sigmoidFocalLoss(new Float32Array(1), new Uint8Array(1), { gamma: '2' });
export { grad, loss, p, name };
`;

/** TypeScript (CommonJS): the require-side types. */
export const CTS = `
import focal = require('focal-loss');
const r = focal.softmaxFocalLoss(new Float64Array([0, 1]), new Int32Array([1]), { numClasses: 2 });
const loss: number | Float64Array = r.loss;
export = loss;
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
