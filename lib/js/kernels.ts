/**
 * The JS backend: the same kernels as native/sigmoid_focal.cpp and native/softmax_focal.cpp, one
 * fused loop each, no intermediate arrays. All arithmetic is float64; float32 outputs are rounded
 * once when stored.
 */
import { lengthOfView } from '../arrays.js';
import { Blocks, runBlocks, runBlocksAsync, type BlockFn } from '../blocks.js';
import type { KernelResult, Kernels, SigmoidPlan, SoftmaxPlan } from '../kernels.js';
import type { FloatArray } from '../types.js';
import {
  isValidTarget,
  isValidWeight,
  logPOverQ,
  sigmoidClassWeight,
  sigmoidFocalFromLogit,
  sigmoidFocalFromProbability,
  smoothedComplement,
  smoothedTarget,
  timesUnlessZero,
} from './math.js';

function isFloatArray(a: ArrayLike<number>): boolean {
  return a instanceof Float32Array || a instanceof Float64Array;
}

/** Elements [begin, end) of a sigmoid plan; stops at the first bad target, weight or probability. */
function sigmoidBlock(plan: SigmoidPlan, begin: number, end: number): KernelResult {
  const {
    logits,
    targets,
    weights,
    gamma,
    alpha,
    labelSmoothing: s,
    probabilities,
    gradScale,
    lossOut,
    gradOut,
  } = plan;
  const eps = plan.probabilityEpsilon;
  const floatTargets = isFloatArray(targets);
  let sum = 0;
  for (let i = begin; i < end; i++) {
    const rawTarget = targets[i]!;
    if (floatTargets ? !isValidTarget(rawTarget) : rawTarget !== 0 && rawTarget !== 1) {
      return { sum, count: i - begin, error: { kind: 'target', index: i, value: rawTarget } };
    }
    const w = weights ? weights[i]! : 1;
    if (weights && !isValidWeight(w)) return { sum, count: i - begin, error: { kind: 'weight', index: i, value: w } };
    let x = logits[i]!;
    if (probabilities) {
      if (x < 0 || x > 1) return { sum, count: i - begin, error: { kind: 'probability', index: i, value: x } };
      x = Math.min(Math.max(x, eps), 1 - eps);
    }
    // t' and 1 - t' each formed directly; w and gradScale are applied inside (math.ts).
    const t = smoothedTarget(rawTarget, s);
    const u = smoothedComplement(rawTarget, s);
    const a = sigmoidClassWeight(alpha, t, u);
    const lg = (probabilities ? sigmoidFocalFromProbability : sigmoidFocalFromLogit)(x, t, u, a, w, gamma, gradScale);
    sum += lg.loss;
    if (lossOut) lossOut[i] = lg.loss;
    if (gradOut) gradOut[i] = lg.grad;
  }
  return { sum, count: end - begin };
}

/** The log-sum-exp of one sample, as in docs/NUMERICS.md: M = max z (index m), rest = sum_{j != m} exp(z_j - M). */
class SoftmaxStats {
  max = 0;
  argmax = 0;
  rest = 0;
  log1pRest = 0;
  hasNaN = false;

  constructor(z: FloatArray, base: number, stride: number, classes: number) {
    this.max = z[base]!;
    for (let j = 0; j < classes; j++) {
      const v = z[base + j * stride]!;
      if (Number.isNaN(v)) this.hasNaN = true;
      if (v > this.max) {
        this.max = v;
        this.argmax = j;
      }
    }
    if (this.hasNaN) return;
    let rest = 0;
    for (let j = 0; j < classes; j++) {
      if (j !== this.argmax) rest += Math.exp(this.shifted(z[base + j * stride]!));
    }
    this.rest = rest;
    this.log1pRest = Math.log1p(rest);
  }

  /** z - M; a logit equal to the maximum (even an infinite one) is 0 away from it. */
  shifted(z: number): number {
    return z === this.max ? 0 : z - this.max;
  }
  logP(z: number): number {
    return this.shifted(z) - this.log1pRest;
  }
  /** 1 - p_j without a difference with 1: rest / S for the maximum, else (1 + rest - e_j) / S. */
  q(j: number, e: number): number {
    return j === this.argmax ? this.rest / (1 + this.rest) : (1 + (this.rest - e)) / (1 + this.rest);
  }
  p(e: number): number {
    return e / (1 + this.rest);
  }
}

function fillRow(grad: FloatArray, base: number, stride: number, classes: number, value: number): void {
  for (let j = 0; j < classes; j++) grad[base + j * stride] = value;
}

/**
 * One sample with hard label y and weight a = alpha[y] * w:
 *     L = -a * q_y^gamma * log p_y
 *     dL/dz_y = a * u * (gamma * p_y * log p_y - q_y)               u = q_y^gamma
 *     dL/dz_k = a * u * (1 - gamma * p_y * log(p_y) / q_y) * p_k     k != y
 */
function hardLabelSample(
  z: FloatArray,
  base: number,
  stride: number,
  classes: number,
  y: number,
  a: number,
  gamma: number,
  scale: number,
  grad: FloatArray | null,
): number {
  if (a === 0) {
    if (grad) fillRow(grad, base, stride, classes, 0);
    return 0;
  }
  const s = new SoftmaxStats(z, base, stride, classes);
  if (s.hasNaN) {
    if (grad) fillRow(grad, base, stride, classes, NaN);
    return NaN;
  }
  const zy = z[base + y * stride]!;
  const ey = y === s.argmax ? 1 : Math.exp(s.shifted(zy));
  const logPy = s.logP(zy);
  const py = s.p(ey);
  const qy = s.q(y, ey);
  const u = Math.pow(qy, gamma);
  if (grad) {
    const ratio = timesUnlessZero(py, logPOverQ(logPy, qy));
    const other = a * u * (1 - gamma * ratio);
    for (let k = 0; k < classes; k++) {
      const g =
        k === y
          ? a * u * (gamma * timesUnlessZero(py, logPy) - qy)
          : other * s.p(Math.exp(s.shifted(z[base + k * stride]!)));
      grad[base + k * stride] = scale * g;
    }
  }
  return a * u * (0 - logPy); // +0, not -0, when p_y = 1
}

/**
 * One sample with soft targets, w_j = t_j * alpha_j * weight:
 *     L = -sum_j w_j * q_j^gamma * log p_j
 *     g_j = w_j * q_j^gamma * (gamma * p_j * log(p_j) / q_j - 1)
 *     dL/dz_k = g_k * q_k - p_k * sum_{j != k} g_j
 * The complement sum of the class with the largest |g| is accumulated on its own (see the C++).
 */
function softTargetSample(
  z: FloatArray,
  base: number,
  stride: number,
  classes: number,
  target: (j: number) => number,
  alpha: Float64Array | null,
  alphaScale: number,
  weight: number,
  gamma: number,
  scale: number,
  grad: FloatArray | null,
  scratch: Float64Array,
): number {
  if (weight === 0) {
    // A zero weight silences the sample, even a NaN in its logits.
    if (grad) fillRow(grad, base, stride, classes, 0);
    return 0;
  }
  const s = new SoftmaxStats(z, base, stride, classes);
  if (s.hasNaN) {
    if (grad) fillRow(grad, base, stride, classes, NaN);
    return NaN;
  }
  let loss = 0;
  let total = 0;
  let dominant = -1;
  let dominantG = 0;
  let others = 0;
  for (let j = 0; j < classes; j++) {
    const w = target(j) * (alpha ? alpha[j]! : alphaScale) * weight;
    let g = 0;
    if (w !== 0) {
      const d = s.shifted(z[base + j * stride]!);
      const e = Math.exp(d);
      const p = s.p(e);
      const logP = d - s.log1pRest;
      const q = s.q(j, e);
      const u = Math.pow(q, gamma);
      loss -= w * u * logP;
      g = w * u * (gamma * timesUnlessZero(p, logPOverQ(logP, q)) - 1);
    }
    if (!grad) continue;
    scratch[j] = g;
    total += g;
    if (Math.abs(g) > Math.abs(dominantG) || dominant < 0) {
      if (dominant >= 0) others += dominantG;
      dominant = j;
      dominantG = g;
    } else {
      others += g;
    }
  }
  if (grad) {
    for (let k = 0; k < classes; k++) {
      const g = scratch[k]!;
      const e = Math.exp(s.shifted(z[base + k * stride]!));
      const sumOthers = k === dominant ? others : total - g;
      grad[base + k * stride] = scale * (g * s.q(k, e) - s.p(e) * sumOthers);
    }
  }
  return loss;
}

/**
 * The labels and weights of a softmax plan as read by checkBlock: each element of the plan's arrays
 * is read once, checked, and the same value used (the caller's memory may be a SharedArrayBuffer that
 * another thread writes meanwhile: a label checked, then read again to index alpha, could be anything).
 */
interface Checked {
  /** The class, or -1 for an ignored sample (float64: a class may not fit an Int32 on huge logits). */
  labels: Float64Array | null;
  weights: Float64Array | null;
}

function checkedArrays(plan: SoftmaxPlan): Checked {
  const samples = plan.outer * plan.inner;
  return {
    labels: plan.labels ? new Float64Array(samples) : null,
    weights: plan.weights ? new Float64Array(samples) : null,
  };
}

/** Checks labels and weights of samples [begin, end) into `checked`; counts the samples not ignored. */
function checkBlock(plan: SoftmaxPlan, checked: Checked, begin: number, end: number): KernelResult {
  const { labels, weights, classes, ignoreIndex } = plan;
  let count = 0;
  for (let s = begin; s < end; s++) {
    if (labels) {
      const y = labels[s]!;
      if (y === ignoreIndex) {
        // Any value that is not a class marks the sample ignored (the ignoreIndex may not fit an Int32).
        checked.labels![s] = -1;
        continue;
      }
      if (!(y >= 0 && y < classes)) return { sum: 0, count, error: { kind: 'label', index: s, value: y } };
      checked.labels![s] = y;
    }
    if (weights) {
      const w = weights[s]!;
      if (!isValidWeight(w)) return { sum: 0, count, error: { kind: 'weight', index: s, value: w } };
      checked.weights![s] = w;
    }
    count++;
  }
  return { sum: 0, count };
}

/** Samples [begin, end) of a softmax plan, with the labels and weights checkBlock read. */
function softmaxBlock(
  plan: SoftmaxPlan,
  checked: Checked,
  scale: number,
  scratch: Float64Array,
  row: Float64Array,
  begin: number,
  end: number,
): KernelResult {
  const { logits: z, targets, classes: C, inner, gamma, alpha, alphaScale } = plan;
  const { labelSmoothing: smoothing, lossOut, gradOut } = plan;
  const { labels, weights } = checked;
  let sum = 0;
  for (let sample = begin; sample < end; sample++) {
    const base = Math.floor(sample / inner) * C * inner + (sample % inner);
    const w = weights ? weights[sample]! : 1;
    let loss = 0;
    if (labels) {
      const y = labels[sample]!;
      if (y < 0) {
        if (gradOut) fillRow(gradOut, base, inner, C, 0);
      } else if (smoothing === 0) {
        const a = (alpha ? alpha[y]! : alphaScale) * w;
        loss = hardLabelSample(z, base, inner, C, y, a, gamma, scale, gradOut);
      } else {
        // Label smoothing turns the hard label into the soft target (1 - s)*[j = y] + s/C.
        const target = (j: number) => (j === y ? 1 - smoothing : 0) + smoothing / C;
        loss = softTargetSample(z, base, inner, C, target, alpha, alphaScale, w, gamma, scale, gradOut, scratch);
      }
    } else {
      // The sample's targets, each read once into `row`, checked there, and used from there.
      const t = targets!;
      for (let j = 0; j < C; j++) {
        const v = t[base + j * inner]!;
        if (!isValidTarget(v)) return { sum, count: 0, error: { kind: 'target', index: base + j * inner, value: v } };
        row[j] = v;
      }
      const target = (j: number) => row[j]! * (1 - smoothing) + smoothing / C;
      loss = softTargetSample(z, base, inner, C, target, alpha, alphaScale, w, gamma, scale, gradOut, scratch);
    }
    sum += loss;
    if (lossOut) lossOut[sample] = loss;
  }
  return { sum, count: 0 };
}

function sigmoidWork(plan: SigmoidPlan): [Blocks, BlockFn] {
  return [new Blocks(lengthOfView(plan.logits), 1), (begin, end) => sigmoidBlock(plan, begin, end)];
}

/** The softmax blocks and their per-call state: checked labels and weights, gradient scratch, a row of targets. */
function softmaxWork(plan: SoftmaxPlan): { blocks: Blocks; check: BlockFn; compute: (count: number) => BlockFn } {
  const blocks = new Blocks(plan.outer * plan.inner, plan.classes);
  const checked = checkedArrays(plan);
  const scratch = new Float64Array(plan.gradOut ? plan.classes : 0);
  const row = new Float64Array(plan.targets ? plan.classes : 0);
  return {
    blocks,
    check: (begin, end) => checkBlock(plan, checked, begin, end),
    compute: (count) => {
      const scale = softmaxGradScale(plan, count);
      return (begin, end) => softmaxBlock(plan, checked, scale, scratch, row, begin, end);
    },
  };
}

export const jsKernels: Kernels = {
  simd: null,
  sigmoid(plan) {
    return runBlocks(...sigmoidWork(plan));
  },
  async sigmoidAsync(plan) {
    return runBlocksAsync(...sigmoidWork(plan));
  },
  softmax(plan) {
    if (plan.outer * plan.inner === 0) return { sum: 0, count: 0 }; // nothing to read, whatever the classes
    const work = softmaxWork(plan);
    const checked = runBlocks(work.blocks, work.check);
    if (checked.error) return checked;
    const result = runBlocks(work.blocks, work.compute(checked.count));
    return { ...result, count: checked.count };
  },
  async softmaxAsync(plan) {
    if (plan.outer * plan.inner === 0) return { sum: 0, count: 0 };
    const work = softmaxWork(plan);
    const checked = await runBlocksAsync(work.blocks, work.check);
    if (checked.error) return checked;
    const result = await runBlocksAsync(work.blocks, work.compute(checked.count));
    return { ...result, count: checked.count };
  },
};

function softmaxGradScale(plan: SoftmaxPlan, count: number): number {
  if (!plan.gradScaleByCount) return plan.gradScale;
  return count > 0 ? plan.gradScale / count : 0;
}
