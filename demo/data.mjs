// Deterministic synthetic anchors (see DISTRIBUTION in config.mjs): nothing is downloaded, the same
// seed gives the same bits on every machine (integer PRNG, Math functions only on its output).

/** Kinds of anchor, as stored in `kind`. */
export const EASY = 0;
export const HARD = 1;
export const POSITIVE = 2;
export const KIND_NAMES = ['easy negative', 'hard negative', 'positive'];

/** mulberry32: a tiny, well-mixed 32-bit PRNG, uniform in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An independent stream per purpose (training data, test data, weights, batch order), so that
 * e.g. a larger test set does not change the training data.
 */
export function stream(seed, purpose) {
  return mulberry32(Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(purpose + 1, 0x85ebca6b));
}

export const STREAM = Object.freeze({ train: 1, test: 2, init: 3, order: 4 });

/** Standard normal deviates by Box-Muller, using both outputs. */
export function normalSource(rng) {
  let spare = NaN;
  return () => {
    if (!Number.isNaN(spare)) {
      const s = spare;
      spare = NaN;
      return s;
    }
    const u = 1 - rng(); // in (0, 1]: log(u) is finite
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * rng();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}

/**
 * `n` anchors with exact proportions (per thousand) in random order: an exact count keeps the
 * number of positives, and so the precision of the metrics, the same from seed to seed.
 * Returns features [n, d] (float32, as a network's activations would be), 0/1 labels and kinds.
 */
export function generateAnchors(n, rng, dist) {
  const d = dist.features;
  const { positive, hard } = dist.perThousand;
  const total = dist.perThousand.positive + dist.perThousand.hard + dist.perThousand.easy;
  const nPositive = Math.max(1, Math.round((n * positive) / total));
  const nHard = Math.round((n * hard) / total);
  const kind = new Uint8Array(n); // EASY is 0
  kind.fill(POSITIVE, 0, nPositive);
  kind.fill(HARD, nPositive, nPositive + nHard);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = kind[i];
    kind[i] = kind[j];
    kind[j] = t;
  }
  const normal = normalSource(rng);
  const x = new Float32Array(n * d);
  const labels = new Uint8Array(n);
  const { object, background, sd: objectnessSd } = dist.objectness;
  for (let i = 0; i < n; i++) {
    const o = i * d;
    const k = kind[i];
    x[o] = (k === EASY ? background : object) + objectnessSd * normal();
    if (k === POSITIVE) {
      labels[i] = 1;
      x[o + 1] = dist.positive.appearanceSd * normal();
      x[o + 2] = dist.positive.appearanceSd * normal();
    } else if (k === HARD) {
      // abs(): a radius is never negative (P(r < 0) is 1e-7 here; the density below ignores it).
      const r = Math.abs(dist.hard.ringRadius + dist.hard.ringSd * normal());
      const theta = 2 * Math.PI * rng();
      x[o + 1] = r * Math.cos(theta);
      x[o + 2] = r * Math.sin(theta);
    } else {
      x[o + 1] = dist.easy.appearanceSd * normal();
      x[o + 2] = dist.easy.appearanceSd * normal();
    }
    for (let j = 3; j < d; j++) x[o + j] = normal();
  }
  return { n, d, x, labels, kind, counts: { positive: nPositive, hard: nHard, easy: n - nPositive - nHard } };
}

const LOG_2PI = Math.log(2 * Math.PI);
const logNormal = (v, mean, sd) => -0.5 * ((v - mean) / sd) ** 2 - Math.log(sd) - 0.5 * LOG_2PI;

/**
 * The Bayes-optimal score: log P(positive | x) - log P(negative | x) from the generating densities.
 * No classifier can rank better on average, so its AP is the ceiling for both runs. The nuisance
 * features have the same density for every kind and cancel.
 */
export function oracleLogOdds(data, dist) {
  const { n, d, x } = data;
  const total = dist.perThousand.positive + dist.perThousand.hard + dist.perThousand.easy;
  const logPrior = (k) => Math.log(dist.perThousand[k] / total);
  const { object, background, sd } = dist.objectness;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    const x0 = x[o];
    const a1 = x[o + 1];
    const a2 = x[o + 2];
    const r = Math.hypot(a1, a2);
    const pos =
      logPrior('positive') +
      logNormal(x0, object, sd) +
      logNormal(a1, 0, dist.positive.appearanceSd) +
      logNormal(a2, 0, dist.positive.appearanceSd);
    // Ring: radius normal, angle uniform; in the plane the density is f(r) / (2 pi r).
    const hard =
      logPrior('hard') +
      logNormal(x0, object, sd) +
      logNormal(r, dist.hard.ringRadius, dist.hard.ringSd) -
      Math.log(2 * Math.PI * r);
    const easy =
      logPrior('easy') +
      logNormal(x0, background, sd) +
      logNormal(a1, 0, dist.easy.appearanceSd) +
      logNormal(a2, 0, dist.easy.appearanceSd);
    const m = Math.max(hard, easy);
    out[i] = pos - (m + Math.log(Math.exp(hard - m) + Math.exp(easy - m)));
  }
  return out;
}
