// The vectorized class-last softmax kernels (native/simd/simd_softmax.inc) against an exact
// reference, element by element, at every SIMD level the CPU runs: float32 logits are computed in
// float arithmetic there (z - M kept exact in two parts), float64 logits in double, and both must
// keep docs/NUMERICS.md's contract (1e-6 and 1e-12 relative) for C = 3 ... 1000, gamma 0 ... 4,
// large logit gaps, ties at the maximum, +-FLT_MAX, ignored rows, alpha arrays and weights (small,
// zero and huge). The largest relative error of each setting is printed.
//
// The reference is test/reference.ts's decimal arithmetic (80 digits) specialised to one hard label,
// O(C) per row instead of refSoftmax's O(C^2) (C = 1000 would take minutes); it is checked against
// refSoftmax itself on the small rows first.
import { describe, expect, it } from 'vitest';
import { nativeBackend } from './backends.js';
import { Checker, TOL, mulberry32, type DType } from './helpers.js';
import { D, exact, log1p, num, refSoftmax, type Dec } from './reference.js';
import type { BackendInfo } from '../lib/types.js';

type Level = BackendInfo['simdLevels'][number];

const FLT_MAX = 3.4028234663852886e38;
const CLASSES = [3, 7, 10, 16, 17, 32, 33, 100, 257, 1000];
const GAMMAS = [0, 0.5, 2, 4];

interface Row {
  z: number[]; // float32 values
  label: number;
}

/** The rows of one C: ordinary and extreme, labels at and away from the maximum. */
function rowsFor(C: number, random: () => number): Row[] {
  const f = Math.fround;
  const base = (scale: number) => Array.from({ length: C }, () => f((random() - 0.5) * scale));
  const rows: Row[] = [];
  const push = (z: number[], label: number) => rows.push({ z: z.map(f), label: ((label % C) + C) % C });
  const argmax = (z: number[]) => z.indexOf(Math.max(...z));
  for (const gap of [40, 100, 1e4]) {
    // one class `gap` above the others; the label at it and below it
    const z = base(4);
    const top = Math.floor(random() * C);
    z[top] = f(z[top]! + gap);
    push(z, top);
    push(z, top + 1);
    // the others spread over the gap (some e_k far below FLT_MIN)
    const spread = base(2).map((v, j) => (j === top ? v : f(v - random() * gap)));
    push(spread, top);
    push(spread, top + 2);
  }
  // ties at the maximum (two or three classes), the label at one of them or elsewhere
  const tied = base(6);
  const t0 = Math.floor(random() * C);
  tied[t0] = 10;
  tied[(t0 + 1) % C] = 10;
  if (C > 3) tied[(t0 + 2) % C] = 10;
  push(tied, t0);
  push(tied, t0 + C - 1);
  // every logit equal
  push(
    Array.from({ length: C }, () => 1.5),
    0,
  );
  // +-FLT_MAX
  const huge = base(10);
  huge[0] = FLT_MAX;
  huge[1 % C] = -FLT_MAX;
  push(huge, 0);
  push(huge, 2);
  const low = base(10).map(() => -FLT_MAX);
  low[C - 1] = f(-FLT_MAX / 2);
  push(low, 0);
  // p_y near 1 (q_y = 1 - p_y tiny, formed directly) and a label far below the maximum
  const sure = base(2).map((v) => f(v - 20));
  sure[0] = 0;
  push(sure, 0);
  push(sure, 1);
  // small differences around a large value
  push(
    base(1e-3).map((v) => f(1000 + v)),
    Math.floor(random() * C),
  );
  // ordinary logits, enough rows for a full 16-row tile and a remainder
  for (let i = 0; i < (C > 100 ? 4 : 20); i++) {
    const z = base(i % 2 ? 60 : 8);
    push(z, random() < 0.3 ? argmax(z) : Math.floor(random() * C));
  }
  return rows;
}

/** Exact pieces of one row that do not depend on gamma or the weights. */
interface Exact {
  p: Dec[];
  logPy: Dec;
  qy: Dec;
}

function exactRow({ z, label }: Row): Exact {
  const Z = z.map(exact);
  let mi = 0;
  for (let j = 1; j < Z.length; j++) if (Z[j]!.gt(Z[mi]!)) mi = j;
  const M = Z[mi]!;
  const e = Z.map((zj) => zj.minus(M).exp());
  let rest = new D(0);
  let others = new D(0); // sum of e_i over i != label, summed directly (not S - e_y)
  for (let j = 0; j < e.length; j++) {
    if (j !== mi) rest = rest.plus(e[j]!);
    if (j !== label) others = others.plus(e[j]!);
  }
  const S = rest.plus(1);
  return { p: e.map((ej) => ej.div(S)), logPy: Z[label]!.minus(M).minus(log1p(rest)), qy: others.div(S) };
}

/** Loss and gradient of one hard-label row with weight a = alpha_y * w (a = 0: silenced). */
function reference(x: Exact, label: number, gamma: number, a: number): { loss: number; grad: number[] } {
  if (a === 0) return { loss: 0, grad: x.p.map(() => 0) };
  const A = exact(a);
  const { p, logPy, qy } = x;
  const u = gamma === 0 ? new D(1) : qy.isZero() ? new D(0) : qy.pow(gamma);
  // B = gamma q^(gamma-1) p_y log p_y - q^gamma; dL/dz_y = a B q_y, dL/dz_k = -a B p_k
  let B: Dec;
  if (gamma === 0) B = new D(-1);
  else if (qy.isZero()) B = new D(0);
  else B = new D(gamma).times(u.div(qy)).times(p[label]!).times(logPy).minus(u);
  const aB = A.times(B);
  return {
    loss: num(A.times(u).times(logPy).neg()),
    grad: p.map((pk, k) => num(k === label ? aB.times(qy) : aB.times(pk).neg())),
  };
}

async function nativeLevels(): Promise<Level[]> {
  const { backend } = await import('../lib/index.js');
  return backend().name === 'native' ? backend().simdLevels : [];
}

/** Largest relative error where the reference is a normal number of the dtype (0 where it is exact). */
function relErr(got: number, ref: number, dtype: DType): number {
  // (a reference that rounds to an infinity must be that infinity: the Checker's exact test)
  if (!Number.isFinite(TOL[dtype].round(ref)) || Math.abs(ref) < TOL[dtype].normalMin) return 0;
  return Math.abs(got - ref) / Math.abs(ref);
}

describe.skipIf(!nativeBackend)(
  'native softmax kernels, float32 and float64: every level against the exact reference',
  () => {
    const api = nativeBackend?.api as NonNullable<typeof nativeBackend>['api'];
    const random = mulberry32(1212);
    const cases = CLASSES.map((C) => {
      const rows = rowsFor(C, random);
      return { C, rows, exact: rows.map(exactRow) };
    });

    it('the O(C) hard-label reference agrees with refSoftmax', () => {
      let checked = 0;
      for (const { C, rows, exact: ex } of cases.filter((c) => c.C <= 17)) {
        for (const [r, row] of rows.entries()) {
          if (row.z.some((v) => Math.abs(v) === FLT_MAX) && C > 3) continue; // same code path; keep it quick
          for (const gamma of [0, 0.5, 4]) {
            const mine = reference(ex[r]!, row.label, gamma, 1);
            const theirs = refSoftmax(row.z, row.label, { gamma, alpha: null });
            const close = (a: number, b: number) => a === b || Math.abs(a - b) <= 1e-15 * Math.abs(b);
            expect(close(mine.loss, theirs.loss), `C=${C} row ${r} gamma ${gamma} loss`).toBe(true);
            for (let k = 0; k < C; k++) expect(close(mine.grad[k]!, theirs.grad[k]!), `grad[${k}]`).toBe(true);
            checked++;
          }
        }
      }
      expect(checked).toBeGreaterThan(100);
    });

    // Three ways of weighting the rows: none; alpha per class with ignored rows and ordinary weights
    // (zero among them); huge weights, whose gradient factor lifts e_k below FLT_MIN back into range.
    const settings = ['plain', 'alpha, weights, ignored rows', 'huge weights'] as const;
    // The exact results of one (setting, C, gamma), shared by every level and dtype.
    const references = new Map<string, ReturnType<typeof reference>[]>();
    const referencesFor = (key: string, compute: () => ReturnType<typeof reference>[]) => {
      const hit = references.get(key);
      if (hit) return hit;
      const computed = compute();
      references.set(key, computed);
      return computed;
    };

    it('float32 within 1e-6 and float64 within 1e-12 of the exact reference, element by element', async () => {
      const levels = await nativeLevels();
      expect(levels.length).toBeGreaterThan(0);
      const table: string[] = [];
      for (const dtype of ['float32', 'float64'] as const) {
        const check = new Checker(TOL[dtype]);
        for (const level of levels) {
          for (const setting of settings) {
            const worst = new Map<number, number>(); // gamma -> max relative error
            for (const { C, rows, exact: ex } of cases) {
              const n = rows.length;
              const alpha =
                setting === 'plain' ? null : Array.from({ length: C }, (_, j) => 0.05 + ((j * 7) % 13) / 14);
              const weightValues = Array.from({ length: n }, (_, r) =>
                setting === 'plain'
                  ? 1
                  : setting === 'huge weights'
                    ? [1e3, Math.fround(1e20), 7][r % 3]! // float32 values: one reference for both dtypes
                    : [0.5, 2, 0, 1.25][r % 4]!,
              );
              const ignored = (r: number) => setting === 'alpha, weights, ignored rows' && r % 5 === 3;
              const labels = Int32Array.from(rows, (row, r) => (ignored(r) ? -100 : row.label));
              const flat = rows.flatMap((row) => row.z);
              const z = dtype === 'float32' ? Float32Array.from(flat) : Float64Array.from(flat);
              const weights = dtype === 'float32' ? Float32Array.from(weightValues) : Float64Array.from(weightValues);
              for (const gamma of GAMMAS) {
                const r = api.softmaxFocalLoss(z, labels, {
                  numClasses: C,
                  gamma,
                  alpha,
                  weights: setting === 'plain' ? undefined : weights,
                  reduction: 'none',
                  gradient: true,
                  simd: level,
                });
                const loss = r.loss as Float32Array | Float64Array;
                let w = worst.get(gamma) ?? 0;
                const refs = referencesFor(`${setting}|${C}|${gamma}`, () =>
                  rows.map((row, s) => {
                    const a = ignored(s) ? 0 : (alpha ? alpha[row.label]! : 1) * weights[s]!;
                    return reference(ex[s]!, row.label, gamma, setting === 'plain' ? 1 : a);
                  }),
                );
                for (let s = 0; s < n; s++) {
                  const ref = refs[s]!;
                  const what = () => `${level} ${dtype} ${setting} C=${C} gamma=${gamma} row=${s}`;
                  check.close(() => `${what()} loss`, loss[s]!, ref.loss);
                  w = Math.max(w, relErr(loss[s]!, ref.loss, dtype));
                  for (let k = 0; k < C; k++) {
                    const got = r.grad![s * C + k]!;
                    check.close(() => `${what()} grad[${k}] z=${rows[s]!.z[k]}`, got, ref.grad[k]!);
                    w = Math.max(w, relErr(got, ref.grad[k]!, dtype));
                  }
                }
                worst.set(gamma, w);
              }
            }
            table.push(
              `${dtype.padEnd(8)} ${level.padEnd(7)} ${setting.padEnd(29)} ` +
                GAMMAS.map((g) => `γ=${g}: ${(worst.get(g) ?? 0).toExponential(2)}`).join('  '),
            );
          }
        }
        check.assert();
      }
      console.log(`max relative error over C = ${CLASSES.join(', ')}:\n${table.join('\n')}`);
    });

    it('forward only gives the same losses as forward + gradient, and no gradient', async () => {
      for (const level of await nativeLevels()) {
        for (const { C, rows } of cases) {
          const z = Float32Array.from(rows.flatMap((row) => row.z));
          const labels = Int32Array.from(rows, (row) => row.label);
          for (const gamma of [0.5, 2]) {
            const options = { numClasses: C, gamma, reduction: 'none', simd: level } as const;
            const both = api.softmaxFocalLoss(z, labels, { ...options, gradient: true });
            const fwd = api.softmaxFocalLoss(z, labels, { ...options, gradient: false });
            expect(fwd.grad).toBeUndefined();
            expect(Array.from(fwd.loss as Float32Array)).toEqual(Array.from(both.loss as Float32Array));
          }
        }
      }
    });
  },
);
