/**
 * The JS backend: the same kernels as native/kernels/sigmoid_focal.cpp and native/kernels/softmax_focal.cpp, one
 * fused loop each, no intermediate arrays. All arithmetic is float64; float32 outputs are rounded
 * once when stored.
 */
import { lengthOfView } from '../../facade/arrays.js';
import {
  Blocks,
  mergeInto,
  runBlocks,
  runBlocksAsync,
  runSteppedBlocks,
  runSteppedBlocksAsync,
  type BlockFn,
  type BlockResult,
  type SteppedBlockFn,
  type Stepper,
} from './blocks.js';
import type { KernelInputError, Kernels, SigmoidPlan, SoftmaxPlan } from '../contract.js';
import { ReproducibleSum } from '../../reduce/reproducible-sum.js';
import { meanOf } from '../../facade/call.js';
import {
  isValidSigmoidTarget,
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
function sigmoidBlock(plan: SigmoidPlan, begin: number, end: number): BlockResult {
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
  const sum = new ReproducibleSum();
  for (let i = begin; i < end; i++) {
    const rawTarget = targets[i]!;
    if (!isValidSigmoidTarget(rawTarget, floatTargets)) {
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
    sum.add(lg.loss);
    if (lossOut) lossOut[i] = lg.loss;
    if (gradOut) gradOut[i] = lg.grad;
  }
  return { sum, count: end - begin };
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
function checkBlock(plan: SoftmaxPlan, checked: Checked, begin: number, end: number): BlockResult {
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
      if (!(y >= 0 && y < classes))
        return { sum: new ReproducibleSum(), count, error: { kind: 'label', index: s, value: y } };
      checked.labels![s] = y;
    }
    if (weights) {
      const w = weights[s]!;
      if (!isValidWeight(w))
        return { sum: new ReproducibleSum(), count, error: { kind: 'weight', index: s, value: w } };
      checked.weights![s] = w;
    }
    count++;
  }
  return { sum: new ReproducibleSum(), count };
}

// The passes over the classes of one softmax sample, in this order (each one skipped where it has
// nothing to do). A pass is the loop it always was over j = 0 .. C-1, cut into class ranges run in
// order: the sums add the same terms in the same order, so a sample split over many async steps
// returns the bits of the sync call, which makes each pass over all classes at once.
const START = 0; // the sample's label, weight and kind; no class touched
const TARGETS = 1; // soft targets: each read once into `row`, checked there
const MAX = 2; // M = max z (index m); a NaN anywhere makes the sample NaN
const REST = 3; // rest = sum_{j != m} exp(z_j - M), as in docs/NUMERICS.md; then the hard-label scalars
const SOFT = 4; // soft targets: the loss and each class's g_j into `scratch`
const HARD_GRAD = 5;
const SOFT_GRAD = 6;
const FILL = 7; // a gradient row of one value: 0 (ignored or silenced) or NaN

/**
 * Samples [begin, end) of a softmax plan, with the labels and weights checkBlock read, as a block
 * that can stop between any two class ranges: the per-sample scalars live here between steps.
 *
 * A hard label y with weight a = alpha[y] * w:
 *     L = -a * q_y^gamma * log p_y
 *     dL/dz_y = a * u * (gamma * p_y * log p_y - q_y)               u = q_y^gamma
 *     dL/dz_k = a * u * (1 - gamma * p_y * log(p_y) / q_y) * p_k     k != y
 * Soft targets, w_j = t_j * alpha_j * weight:
 *     L = -sum_j w_j * q_j^gamma * log p_j
 *     g_j = w_j * q_j^gamma * (gamma * p_j * log(p_j) / q_j - 1)
 *     dL/dz_k = g_k * q_k - p_k * sum_{j != k} g_j
 * The complement sum of the class with the largest |g| is accumulated on its own (see the C++).
 */
class SoftmaxBlock implements Stepper {
  private readonly sum = new ReproducibleSum();
  private sample: number;
  // The current sample: its pass, the next class of that pass, and what the passes so far found.
  private phase = START;
  private j = 0;
  private base = 0;
  private weight = 1;
  private hard = false;
  private a = 0;
  private y = -1;
  /** Soft targets from `row` (else from the smoothed label y). */
  private fromRow = false;
  private fill = 0;
  private loss = 0;
  private max = 0;
  private argmax = 0;
  private hasNaN = false;
  private rest = 0;
  private log1pRest = 0;
  // The hard-label gradient: of the label's class, and the factor of p_k of the others.
  private gradY = 0;
  private other = 0;
  // The soft-target gradient sums.
  private total = 0;
  private dominant = -1;
  private dominantG = 0;
  private others = 0;

  constructor(
    private readonly plan: SoftmaxPlan,
    private readonly checked: Checked,
    private readonly scale: number,
    private readonly scratch: Float64Array,
    private readonly row: Float64Array,
    begin: number,
    private readonly end: number,
  ) {
    this.sample = begin;
  }

  step(budget: number): BlockResult | null {
    const C = this.plan.classes;
    while (this.sample < this.end) {
      if (budget <= 0) return null;
      if (this.phase === START) {
        this.start();
        budget--;
        continue;
      }
      const from = this.j;
      const to = Math.min(C, from + budget);
      budget -= Math.max(1, to - from);
      const error = this.pass(from, to);
      if (error) return { sum: this.sum, count: 0, error };
      this.j = to;
      if (to === C) this.next();
    }
    return { sum: this.sum, count: 0 };
  }

  /** The sample's kind and its first pass. */
  private start(): void {
    const { classes: C, inner, alpha, alphaScale, labelSmoothing: smoothing } = this.plan;
    const { labels, weights } = this.checked;
    const sample = this.sample;
    this.base = Math.floor(sample / inner) * C * inner + (sample % inner);
    this.weight = weights ? weights[sample]! : 1;
    this.loss = 0;
    this.j = 0;
    if (!labels) {
      this.hard = false;
      this.fromRow = true;
      this.phase = TARGETS;
      return;
    }
    const y = labels[sample]!;
    if (y < 0) return this.fillRow(0); // ignored
    this.y = y;
    this.fromRow = false;
    if (smoothing === 0) {
      this.hard = true;
      this.a = (alpha ? alpha[y]! : alphaScale) * this.weight;
      if (this.a === 0) return this.fillRow(0);
    } else {
      // Label smoothing turns the hard label into the soft target (1 - s)*[j = y] + s/C (softPass).
      this.hard = false;
      if (this.weight === 0) return this.fillRow(0);
    }
    this.startMax();
  }

  /** Ends the current pass: the scalars it completes, and the next pass (or the next sample). */
  private next(): void {
    this.j = 0;
    switch (this.phase) {
      case TARGETS:
        // A zero weight silences the sample, even a NaN in its logits.
        if (this.weight === 0) return this.fillRow(0);
        return this.startMax();
      case MAX:
        if (this.hasNaN) {
          this.loss = NaN;
          return this.fillRow(NaN);
        }
        this.rest = 0;
        this.phase = REST;
        return;
      case REST:
        this.log1pRest = Math.log1p(this.rest);
        if (this.hard) return this.hardLabel();
        this.total = 0;
        this.dominant = -1;
        this.dominantG = 0;
        this.others = 0;
        this.phase = SOFT;
        return;
      case SOFT:
        if (this.plan.gradOut) this.phase = SOFT_GRAD;
        else this.finish();
        return;
      default: // HARD_GRAD, SOFT_GRAD, FILL
        this.finish();
    }
  }

  private startMax(): void {
    this.max = this.plan.logits[this.base]!;
    this.argmax = 0;
    this.hasNaN = false;
    this.phase = MAX;
  }

  private fillRow(value: number): void {
    this.fill = value;
    if (this.plan.gradOut) this.phase = FILL;
    else this.finish();
  }

  /** The hard-label loss and gradient scalars, from M and rest. */
  private hardLabel(): void {
    const { logits: z, inner: stride, gamma, gradOut } = this.plan;
    const { a, y } = this;
    const zy = z[this.base + y * stride]!;
    const ey = y === this.argmax ? 1 : Math.exp(this.shifted(zy));
    const logPy = this.shifted(zy) - this.log1pRest;
    const py = this.p(ey);
    const qy = this.q(y, ey);
    const u = Math.pow(qy, gamma);
    this.loss = a * u * (0 - logPy); // +0, not -0, when p_y = 1
    if (!gradOut) return this.finish();
    this.gradY = a * u * (gamma * timesUnlessZero(py, logPy) - qy);
    this.other = a * u * (1 - gamma * timesUnlessZero(py, logPOverQ(logPy, qy)));
    this.phase = HARD_GRAD;
  }

  /** The sample's loss into the block sum (and the 'none' losses); on to the next sample. */
  private finish(): void {
    this.sum.add(this.loss);
    if (this.plan.lossOut) this.plan.lossOut[this.sample] = this.loss;
    this.sample++;
    this.phase = START;
  }

  /** z - M; a logit equal to the maximum (even an infinite one) is 0 away from it. */
  private shifted(z: number): number {
    return z === this.max ? 0 : z - this.max;
  }
  /** 1 - p_j without a difference with 1: rest / S for the maximum, else (1 + rest - e_j) / S. */
  private q(j: number, e: number): number {
    return j === this.argmax ? this.rest / (1 + this.rest) : (1 + (this.rest - e)) / (1 + this.rest);
  }
  private p(e: number): number {
    return e / (1 + this.rest);
  }

  /** Classes [from, to) of the current pass; the error of a bad soft target. */
  private pass(from: number, to: number): KernelInputError | undefined {
    switch (this.phase) {
      case TARGETS:
        return this.targetsPass(from, to);
      case MAX:
        return this.maxPass(from, to);
      case REST:
        return this.restPass(from, to);
      case SOFT:
        return this.softPass(from, to);
      case HARD_GRAD:
        return this.hardGradPass(from, to);
      case SOFT_GRAD:
        return this.softGradPass(from, to);
      case FILL:
        return this.fillPass(from, to);
    }
  }

  private targetsPass(from: number, to: number): KernelInputError | undefined {
    const { targets, inner: stride } = this.plan;
    const { base, row } = this;
    for (let j = from; j < to; j++) {
      const v = targets![base + j * stride]!;
      if (!isValidTarget(v)) return { kind: 'target', index: base + j * stride, value: v };
      row[j] = v;
    }
    return undefined;
  }

  private maxPass(from: number, to: number): undefined {
    const { logits: z, inner: stride } = this.plan;
    const base = this.base;
    let { max, argmax, hasNaN } = this;
    for (let j = from; j < to; j++) {
      const v = z[base + j * stride]!;
      if (Number.isNaN(v)) hasNaN = true;
      if (v > max) {
        max = v;
        argmax = j;
      }
    }
    this.max = max;
    this.argmax = argmax;
    this.hasNaN = hasNaN;
    return undefined;
  }

  private restPass(from: number, to: number): undefined {
    const { logits: z, inner: stride } = this.plan;
    const { base, argmax } = this;
    let rest = this.rest;
    for (let j = from; j < to; j++) {
      if (j !== argmax) rest += Math.exp(this.shifted(z[base + j * stride]!));
    }
    this.rest = rest;
    return undefined;
  }

  private hardGradPass(from: number, to: number): undefined {
    const { logits: z, inner: stride, gradOut: grad } = this.plan;
    const { base, y, gradY, other, scale } = this;
    for (let k = from; k < to; k++) {
      const g = k === y ? gradY : other * this.p(Math.exp(this.shifted(z[base + k * stride]!)));
      grad![base + k * stride] = scale * g;
    }
    return undefined;
  }

  private softGradPass(from: number, to: number): undefined {
    const { logits: z, inner: stride, gradOut: grad } = this.plan;
    const { base, scratch, dominant, others, total, scale } = this;
    for (let k = from; k < to; k++) {
      const g = scratch[k]!;
      const e = Math.exp(this.shifted(z[base + k * stride]!));
      const sumOthers = k === dominant ? others : total - g;
      grad![base + k * stride] = scale * (g * this.q(k, e) - this.p(e) * sumOthers);
    }
    return undefined;
  }

  private fillPass(from: number, to: number): undefined {
    const { inner: stride, gradOut: grad } = this.plan;
    const { base, fill } = this;
    for (let j = from; j < to; j++) grad![base + j * stride] = fill;
    return undefined;
  }

  private softPass(from: number, to: number): undefined {
    const { logits: z, classes: C, inner: stride, gradOut: grad, alpha, alphaScale, gamma } = this.plan;
    const { labelSmoothing: smoothing } = this.plan;
    const { base, weight, scratch, row, fromRow, y } = this;
    let { loss, total, dominant, dominantG, others } = this;
    for (let j = from; j < to; j++) {
      const target = fromRow
        ? row[j]! * (1 - smoothing) + smoothing / C
        : (j === y ? 1 - smoothing : 0) + smoothing / C;
      const w = target * (alpha ? alpha[j]! : alphaScale) * weight;
      let g = 0;
      if (w !== 0) {
        const d = this.shifted(z[base + j * stride]!);
        const e = Math.exp(d);
        const p = this.p(e);
        const logP = d - this.log1pRest;
        const q = this.q(j, e);
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
    this.loss = loss;
    this.total = total;
    this.dominant = dominant;
    this.dominantG = dominantG;
    this.others = others;
    return undefined;
  }
}

function sigmoidWork(plan: SigmoidPlan): [Blocks, BlockFn] {
  return [new Blocks(lengthOfView(plan.logits), 1), (begin, end) => sigmoidBlock(plan, begin, end)];
}

/**
 * A sigmoid block in steps of `budget` elements (the async calls: a block of ~2e5 elements at once
 * would hold the event loop for too long). The sum is order-free, so the steps' sums merged are the
 * bits of the block in one go.
 */
function sigmoidStepper(plan: SigmoidPlan, begin: number, end: number): Stepper {
  const total: BlockResult = { sum: new ReproducibleSum(), count: 0 };
  let at = begin;
  return {
    step(budget) {
      const to = Math.min(end, at + Math.max(1, budget));
      const part = mergeInto(total, sigmoidBlock(plan, at, to));
      at = to;
      return part.error || at === end ? total : null;
    },
  };
}

/** The softmax blocks and their per-call state: checked labels and weights, gradient scratch, a row of targets. */
function softmaxWork(plan: SoftmaxPlan): {
  blocks: Blocks;
  check: BlockFn;
  compute: (count: number) => SteppedBlockFn;
} {
  const blocks = new Blocks(plan.outer * plan.inner, plan.classes);
  const checked = checkedArrays(plan);
  const scratch = new Float64Array(plan.gradOut ? plan.classes : 0);
  const row = new Float64Array(plan.targets ? plan.classes : 0);
  return {
    blocks,
    check: (begin, end) => checkBlock(plan, checked, begin, end),
    compute: (count) => {
      const scale = softmaxGradScale(plan, count);
      return (begin, end) => new SoftmaxBlock(plan, checked, scale, scratch, row, begin, end);
    },
  };
}

/** A block of no work (the result of a softmax without samples: an empty sum). */
const noBlock: BlockFn = () => ({ sum: new ReproducibleSum(), count: 0 });

export const jsKernels: Kernels = {
  simd: null,
  sigmoid(plan) {
    return runBlocks(...sigmoidWork(plan));
  },
  async sigmoidAsync(plan) {
    return runSteppedBlocksAsync(sigmoidWork(plan)[0], (begin, end) => sigmoidStepper(plan, begin, end));
  },
  softmax(plan) {
    if (plan.outer * plan.inner === 0) return runBlocks(new Blocks(0, 1), noBlock); // nothing to read, whatever the classes
    const work = softmaxWork(plan);
    const checked = runBlocks(work.blocks, work.check);
    if (checked.error) return checked;
    const result = runSteppedBlocks(work.blocks, work.compute(checked.count));
    return { ...result, count: checked.count };
  },
  async softmaxAsync(plan, stop) {
    if (plan.outer * plan.inner === 0) return runBlocks(new Blocks(0, 1), noBlock);
    const work = softmaxWork(plan);
    const checked = await runBlocksAsync(work.blocks, work.check, stop);
    if (checked.error || checked.stopped) return checked;
    const result = await runSteppedBlocksAsync(work.blocks, work.compute(checked.count), stop);
    return { ...result, count: checked.count };
  },
};

function softmaxGradScale(plan: SoftmaxPlan, count: number): number {
  return plan.gradScaleByCount ? meanOf(plan.gradScale, count) : plan.gradScale;
}
