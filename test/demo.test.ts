// The demo (`npm run demo`): its metrics on small cases computed by hand, its data generator, and a
// `--quick` run in a child process (which inherits FOCAL_LOSS_BACKEND, so CI runs it on each backend)
// whose report must hold both runs' metrics as finite numbers in range. The child imports dist/,
// which `npm test` builds first.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { DISTRIBUTION, SIZES } from '../demo/config.mjs';
import { EASY, HARD, POSITIVE, STREAM, generateAnchors, oracleLogOdds, stream } from '../demo/data.mjs';
import { averagePrecision, precisionRecallAt } from '../demo/metrics.mjs';
import { mulberry32 } from './helpers.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const script = join(root, 'scripts', 'demo.mjs');

describe('demo metrics', () => {
  it('AP is the mean over positives of the precision at their rank, whatever the input order', () => {
    // Ranked: 0.9 (+), 0.8 (-), 0.7 (+), 0.6 (-), 0.5 (+): precisions 1/1, 2/3, 3/5.
    const scores = [0.6, 0.9, 0.5, 0.8, 0.7];
    const labels = [0, 1, 1, 0, 1];
    expect(averagePrecision(scores, labels)).toBeCloseTo((1 + 2 / 3 + 3 / 5) / 3, 14);
    expect(averagePrecision(Float32Array.from(scores), Uint8Array.from(labels))).toBeCloseTo(34 / 45, 7);
  });

  it('AP: a tie is one threshold, every positive in it gets the precision at its end', () => {
    // 0.9 (+) has precision 1; the tie at 0.5 holds a positive and a negative: precision 2/3 there.
    expect(averagePrecision([0.5, 0.9, 0.5, 0.1], [0, 1, 1, 0])).toBeCloseTo((1 + 2 / 3) / 2, 14);
    expect(averagePrecision([0.5, 0.9, 0.5, 0.1], [1, 1, 0, 0])).toBeCloseTo((1 + 2 / 3) / 2, 14);
    // All scores tied: AP is the prevalence.
    expect(averagePrecision([0, 0, 0, 0], [1, 0, 0, 0])).toBeCloseTo(1 / 4, 14);
  });

  it('AP: perfect, worst and empty rankings', () => {
    expect(averagePrecision([3, 2, 1, 0], [1, 1, 0, 0])).toBe(1);
    expect(averagePrecision([3, 2, 1, 0], [0, 0, 0, 1])).toBeCloseTo(1 / 4, 14);
    expect(averagePrecision([5, 4, 3, 2, 1], [0, 0, 0, 1, 1])).toBeCloseTo((1 / 4 + 2 / 5) / 2, 14);
    expect(averagePrecision([1, 2], [0, 0])).toBeNaN();
  });

  it('AP agrees with a direct walk down the ranking on random data', () => {
    const rng = mulberry32(7);
    for (let trial = 0; trial < 20; trial++) {
      const n = 50 + Math.floor(rng() * 200);
      const scores = Array.from({ length: n }, () => rng());
      const labels = scores.map(() => (rng() < 0.1 ? 1 : 0));
      labels[0] = 1;
      const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a]);
      let hits = 0;
      let sum = 0;
      order.forEach((i, rank) => {
        if (labels[i] === 1) sum += ++hits / (rank + 1);
      });
      expect(averagePrecision(scores, labels)).toBeCloseTo(sum / hits, 12);
    }
  });

  it('precision and recall at a threshold count scores equal to it as predicted positive', () => {
    const r = precisionRecallAt([2, 1, 0, -1, 0], [1, 0, 1, 1, 0], 0);
    expect(r).toMatchObject({ tp: 2, fp: 2, fn: 1, predicted: 4, positives: 3 });
    expect(r.precision).toBe(0.5);
    expect(r.recall).toBeCloseTo(2 / 3, 15);
    // Nothing predicted positive: precision 0 (not NaN), recall 0.
    const none = precisionRecallAt([2, 1, 0], [1, 0, 1], 10);
    expect(none).toMatchObject({ predicted: 0, precision: 0, recall: 0 });
  });

  it('refuses NaN scores, labels other than 0/1 and mismatched lengths', () => {
    expect(() => averagePrecision([0.1, NaN], [1, 0])).toThrow(/scores\[1\] is NaN/);
    expect(() => averagePrecision([0.1, 0.2], [1, 2])).toThrow(/labels\[1\]/);
    expect(() => precisionRecallAt([0.1], [1, 0], 0)).toThrow(/1 elements but labels has 2/);
  });
});

describe('demo data', () => {
  it('is the same bits for the same seed, with exact proportions of each kind', () => {
    const a = generateAnchors(20_000, stream(5, STREAM.train), DISTRIBUTION);
    const b = generateAnchors(20_000, stream(5, STREAM.train), DISTRIBUTION);
    const c = generateAnchors(20_000, stream(5, STREAM.test), DISTRIBUTION);
    expect(Buffer.from(a.x.buffer).equals(Buffer.from(b.x.buffer))).toBe(true);
    expect(Buffer.from(a.x.buffer).equals(Buffer.from(c.x.buffer))).toBe(false);
    expect(a.counts).toEqual({ positive: 20, hard: 200, easy: 19_780 });
    const counted = [0, 0, 0];
    a.kind.forEach((k, i) => {
      counted[k]++;
      expect(a.labels[i]).toBe(k === POSITIVE ? 1 : 0);
    });
    expect(counted[EASY]).toBe(19_780);
    expect(counted[HARD]).toBe(200);
  });

  it('makes the easy negatives easy and the hard ones hard for the Bayes-optimal scorer', () => {
    const data = generateAnchors(100_000, stream(1, STREAM.test), DISTRIBUTION);
    const logOdds = oracleLogOdds(data, DISTRIBUTION);
    const mean = (k: number) => {
      let s = 0;
      let c = 0;
      data.kind.forEach((kk, i) => {
        if (kk === k) {
          s += logOdds[i];
          c++;
        }
      });
      return s / c;
    };
    expect(mean(EASY)).toBeLessThan(mean(HARD) - 5);
    expect(mean(HARD)).toBeLessThan(mean(POSITIVE));
    const ap = averagePrecision(logOdds, data.labels);
    expect(ap).toBeGreaterThan(0.5);
    expect(ap).toBeLessThan(0.98);
  });
});

describe('npm run demo -- --quick (child process)', () => {
  let child: ReturnType<typeof spawnSync>;
  let out = '';
  let seconds = NaN;
  beforeAll(() => {
    const started = performance.now();
    child = spawnSync(process.execPath, [script, '--quick'], { encoding: 'utf8', timeout: 60_000 });
    seconds = (performance.now() - started) / 1000;
    out = String(child.stdout ?? '');
  }, 90_000);

  /** The two values of a results row, e.g. "  average precision (AP)   0.1234   0.2345". */
  function values(label: string): [string, string] {
    const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const m = out.match(new RegExp(`^ {2}${escaped}\\s+(\\S+)\\s+(\\S+)$`, 'm'));
    expect(m, `row '${label}' in:\n${out}`).not.toBeNull();
    return [m![1]!, m![2]!];
  }

  it('exits 0 and names the backend the environment asked for', () => {
    expect(child.status, String(child.stderr)).toBe(0);
    const wanted = process.env.FOCAL_LOSS_BACKEND;
    const name = out.match(/^backend: (native|js)\b/m)?.[1];
    expect(name).toBeDefined();
    if (wanted === 'js' || wanted === 'native') expect(name).toBe(wanted);
    // CI runs this on both backends: keep it well inside the 10 s budget.
    expect(seconds).toBeLessThan(30);
  });

  it('reports AP, precision and recall at 0.5 for both runs, in [0, 1]', () => {
    const rows = [
      'average precision (AP)',
      '  AP against the hard negatives only',
      '  AP against the easy negatives only',
      'precision at p >= 0.5',
      'recall at p >= 0.5',
    ];
    for (const label of rows) {
      for (const v of values(label)) {
        expect(v).toMatch(/^\d\.\d{4}$/);
        expect(Number(v)).toBeGreaterThanOrEqual(0);
        expect(Number(v)).toBeLessThanOrEqual(1);
      }
    }
    const bayes = Number(out.match(/Bayes-optimal scorer.*\n\s+AP (\d\.\d+),/)?.[1]);
    expect(bayes).toBeGreaterThan(0);
    expect(bayes).toBeLessThanOrEqual(1);
  });

  it('reports finite losses, different for the two losses, and loss curves of every epoch', () => {
    for (const v of values('log loss (mean BCE per anchor; calibration)')) {
      expect(Number(v)).toBeGreaterThan(0);
    }
    const [ce, focal] = values('final training loss (its own loss)').map(Number);
    expect(Number.isFinite(ce) && Number.isFinite(focal)).toBe(true);
    // gamma 2 and alpha 0.25 shrink every element's loss: the focal run's loss must be the smaller.
    expect(focal).toBeLessThan(ce!);
    for (const key of ['ce', 'focal']) {
      const line = out.match(new RegExp(`^ {2}${key} +((?:\\s+\\d+\\.\\d+)+)$`, 'm'));
      const curve = line?.[1]?.trim().split(/\s+/);
      expect(curve, `curve of ${key}`).toHaveLength(SIZES.quick.epochs);
      for (const v of curve!) expect(Number.isFinite(Number(v))).toBe(true);
    }
  });

  it('reports the time in the loss call as a part of the training time', () => {
    for (const key of ['ce', 'focal']) {
      const m = out.match(new RegExp(`^ {2}${key} +([\\d,]+) ms of ([\\d,]+) ms \\((\\d+\\.\\d)%\\)`, 'm'));
      expect(m, `time line of ${key}`).not.toBeNull();
      const [loss, total] = [m![1]!, m![2]!].map((s) => Number(s.replace(/,/g, '')));
      expect(loss).toBeLessThanOrEqual(total!);
      expect(total).toBeGreaterThan(0);
    }
  });
});

describe('demo options', () => {
  it('rejects a seed that is not an integer in [0, 2^32), before any work', () => {
    for (const seed of ['abc', '-1', '1.5', '', String(2 ** 32)]) {
      const args = [script, `--seed=${seed}`];
      const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 30_000 });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('--seed must be an integer');
    }
  });
});
