/**
 * The streaming meters (lib/meter): exact and order-free. Random data cut at random points into
 * random chunks, added to several meters in random order with random thread counts, sync and
 * async, merged (as meters and as JSON states) in a random tree, gives the same bits as one meter
 * over all the data and as the one-shot call's 'sum' and 'mean'; on each backend (the backends may
 * differ from each other within the contract, each is exactly order-free). States from outside are
 * checked; a shard can never be merged twice.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backends, type TestBackend } from './backends.js';
import { mulberry32 } from './helpers.js';
import type { FocalLossMeter } from '../lib/meter/meter.js';

type Kind = 'sigmoid' | 'softmax';

interface Case {
  kind: Kind;
  seed: number;
  samples: number;
  classes: number;
  float32: boolean;
  perClass: boolean;
  weights: boolean;
  ignore: boolean;
  gamma: number;
  cuts: number[];
  meters: number;
  /** A permutation key per chunk: chunks are added in this order, to meter (key % meters). */
  order: number[];
  threads: number[];
  asyncAdds: boolean[];
  /** Merge as JSON states (true) or as meter objects. */
  viaJson: boolean;
}

const IGNORE = 7;

function build(c: Case) {
  const rng = mulberry32(c.seed);
  const n = c.kind === 'sigmoid' ? c.samples : c.samples * c.classes;
  const Float = c.float32 ? Float32Array : Float64Array;
  const logits = new Float(Array.from({ length: n }, () => (rng() - 0.5) * 30));
  const targets =
    c.kind === 'sigmoid'
      ? Uint8Array.from({ length: n }, () => (rng() < 0.3 ? 1 : 0))
      : Int32Array.from({ length: c.samples }, () =>
          c.ignore && rng() < 0.1 ? IGNORE : Math.floor(rng() * c.classes),
        );
  const weights = c.weights ? new Float(Array.from({ length: c.samples }, () => rng() * 3)) : null;
  return { logits, targets, weights, perSample: c.kind === 'sigmoid' ? 1 : c.classes };
}

function meterOptions(c: Case, shard: string, threads?: number) {
  const alpha = c.kind === 'softmax' ? Array.from({ length: c.classes }, (_, k) => (k + 1) / (c.classes + 1)) : 0.3;
  return c.kind === 'sigmoid'
    ? { gamma: c.gamma, alpha, shard, ...(threads && { threads }) }
    : {
        numClasses: c.classes,
        gamma: c.gamma,
        alpha,
        ignoreIndex: IGNORE,
        perClass: c.perClass,
        shard,
        ...(threads && { threads }),
      };
}

function bitsOf(m: FocalLossMeter) {
  const r = m.result();
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' ? (Object.is(v, -0) ? '-0' : String(v)) : v));
}

async function run(b: TestBackend, c: Case) {
  const { logits, targets, weights, perSample } = build(c);
  const points = [...new Set(c.cuts.map((f) => Math.floor(f * c.samples)))].sort((x, y) => x - y);
  const bounds = [0, ...points.filter((p) => p > 0 && p < c.samples), c.samples];
  const chunks = bounds.slice(1).map((end, i) => ({ begin: bounds[i]!, end }));
  const meters = Array.from({ length: c.meters }, (_, i) =>
    b.api.focalLossMeter(c.kind, meterOptions(c, `shard-${i}`, c.threads[i % c.threads.length])),
  );
  const order = chunks
    .map((_, i) => i)
    .sort((x, y) => c.order[x % c.order.length]! - c.order[y % c.order.length]! || x - y);
  for (const [j, i] of order.entries()) {
    const { begin, end } = chunks[i]!;
    const m = meters[j % c.meters]!;
    const x = logits.subarray(begin * perSample, end * perSample);
    const t = c.kind === 'sigmoid' ? targets.subarray(begin, end) : targets.subarray(begin, end);
    const opts = weights ? { weights: weights.subarray(begin, end) } : undefined;
    if (c.asyncAdds[j % c.asyncAdds.length]) await m.addAsync(x, t, opts);
    else m.add(x, t, opts);
  }
  // Merge in a tree: pairs, then pairs of pairs, from the end.
  let level = meters;
  while (level.length > 1) {
    const next: FocalLossMeter[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      const [a, z] = [level[i + 1]!, level[i]!];
      next.push(a.merge(c.viaJson ? JSON.parse(JSON.stringify(z.state())) : z));
    }
    if (level.length % 2) next.push(level[level.length - 1]!);
    level = next;
  }
  const merged = level[0]!;
  const single = b.api.focalLossMeter(c.kind, meterOptions(c, 'all'));
  single.add(logits, targets, weights ? { weights } : undefined);
  const { perClass: _p, shard: _s, ...callOptions } = meterOptions(c, 'x') as Record<string, unknown>;
  const call = (reduction: 'sum' | 'mean') =>
    c.kind === 'sigmoid'
      ? b.api.sigmoidFocalLoss(logits, targets, { ...callOptions, reduction, ...(weights && { weights }) })
      : b.api.softmaxFocalLoss(logits, targets, { ...callOptions, reduction, ...(weights && { weights }) });
  return { merged, single, sum: call('sum'), mean: call('mean') };
}

const caseArb = fc.record({
  kind: fc.constantFrom<Kind>('sigmoid', 'softmax'),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  samples: fc.integer({ min: 1, max: 3000 }),
  classes: fc.integer({ min: 2, max: 40 }),
  float32: fc.boolean(),
  perClass: fc.boolean(),
  weights: fc.boolean(),
  ignore: fc.boolean(),
  gamma: fc.constantFrom(0, 0.5, 2, 3),
  cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
  meters: fc.integer({ min: 1, max: 5 }),
  order: fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 12 }),
  threads: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
  asyncAdds: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
  viaJson: fc.boolean(),
});

describe.each(backends)('meters ($name)', (b) => {
  it('give the same bits whatever the chunks, their order, threads, sync/async and merge tree, and equal the one-shot call', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const { merged, single, sum, mean } = await run(b, c);
        expect(bitsOf(merged)).toBe(bitsOf(single));
        const r = merged.result();
        expect(r.sum).toBe(sum.loss);
        expect(r.loss).toBe(mean.loss);
        expect(r.count).toBe(sum.count);
        expect(merged.shards).toEqual(Array.from({ length: c.meters }, (_, i) => `shard-${i}`).sort());
      }),
      { seed: 20_261_202, numRuns: 60 },
    );
  }, 120_000);

  it('keeps per-class totals that add up to the whole', () => {
    const m = b.api.focalLossMeter('softmax', { numClasses: 3, perClass: true, ignoreIndex: 9 });
    m.add([0, 1, 2], [2]);
    const chunk = m.add([3, 0, 0, 5, 5, 5, 1, 1, 1], [0, 9, 1]);
    // add returns the chunk's own result: that of a meter given only this chunk.
    const alone = b.api.focalLossMeter('softmax', { numClasses: 3, perClass: true, ignoreIndex: 9 });
    alone.add([3, 0, 0, 5, 5, 5, 1, 1, 1], [0, 9, 1]);
    expect(chunk).toEqual(alone.result());
    expect(chunk.count).toBe(2);
    const r = m.result();
    expect(r.count).toBe(3);
    expect(r.perClass!.map((c) => c.count)).toEqual([1, 1, 1]);
    const shares = r.perClass!.reduce((s, c) => s + c.share, 0);
    expect(shares).toBeCloseTo(1, 12);
    const one = b.api.softmaxFocalLoss([0, 1, 2], [2], { numClasses: 3 });
    expect(r.perClass![2]!.loss).toBe(one.loss);
    const ce = b.api.softmaxFocalLoss([0, 1, 2], [2], { numClasses: 3, gamma: 0 });
    expect(r.perClass![2]!.crossEntropy).toBe(ce.loss);
  });

  it('refuses a shard twice, other options, the other loss, and leaves itself unchanged', () => {
    const a = b.api.focalLossMeter('sigmoid', { shard: 'a' });
    a.add([1, -2], [1, 0]);
    const before = JSON.stringify(a.state());
    const copy = JSON.parse(before);
    expect(() => a.merge(copy)).toThrow(/shard 'a' is already in this meter/);
    expect(() => a.merge(a)).toThrow(RangeError);
    const other = b.api.focalLossMeter('sigmoid', { shard: 'b', gamma: 1 });
    expect(() => a.merge(other)).toThrow(/gamma/);
    const soft = b.api.focalLossMeter('softmax', { numClasses: 2, shard: 'c' });
    expect(() => a.merge(soft.state())).toThrow(/sigmoid/);
    expect(JSON.stringify(a.state())).toBe(before);
  });

  it('adds nothing from a chunk with a bad element', async () => {
    const m = b.api.focalLossMeter('softmax', { numClasses: 2, shard: 's' });
    m.add([0, 1], [1]);
    const before = JSON.stringify(m.state());
    expect(() => m.add([0, 1, 2, 3], [1, 2])).toThrow(expect.objectContaining({ argument: 'labels', index: 1 }));
    await expect(m.addAsync([0, 1, 2, 3], [1, 2])).rejects.toThrow(RangeError);
    expect(() => m.add([0, 1], [1], { weights: [-1] })).toThrow(
      expect.objectContaining({ argument: 'options.weights' }),
    );
    expect(JSON.stringify(m.state())).toBe(before);
  });

  it('addAsync with an aborted signal rejects with an AbortError and adds nothing; add takes no signal', async () => {
    const m = b.api.focalLossMeter('softmax', { numClasses: 2, shard: 's' });
    m.add([0, 1], [1]);
    const before = JSON.stringify(m.state());
    const big = new Float32Array(2 * 200_000).fill(0.5);
    const labels = new Int32Array(200_000);
    await expect(m.addAsync(big, labels, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
    const controller = new AbortController();
    const pending = m.addAsync(big, labels, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(JSON.stringify(m.state())).toBe(before);
    expect(() => m.add([0, 1], [1], { signal: controller.signal } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    await m.addAsync(big, labels, { signal: new AbortController().signal });
    expect(m.result().count).toBe(200_001);
  });

  it('validates its options and add options with the loss functions\u2019 errors', () => {
    expect(() => b.api.focalLossMeter('softmax', {})).toThrow(
      expect.objectContaining({ argument: 'options.numClasses' }),
    );
    expect(() => b.api.focalLossMeter('sigmoid', { gamma: -1 })).toThrow(
      expect.objectContaining({ argument: 'options.gamma' }),
    );
    expect(() => b.api.focalLossMeter('sigmoid', { reduction: 'sum' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => b.api.focalLossMeter('sigmoid', { shard: '' })).toThrow(
      expect.objectContaining({ argument: 'options.shard' }),
    );
    expect(() => b.api.focalLossMeter('softmax', { numClasses: 2, alpha: [0.5] })).toThrow(
      expect.objectContaining({ argument: 'options.alpha' }),
    );
    const m = b.api.focalLossMeter('softmax', { numClasses: 2, perClass: true });
    expect(() => m.add([0, 1], [0.5, 0.5])).toThrow(expect.objectContaining({ argument: 'labels' }));
    expect(() => m.add([0, 1], [1], { gradient: true } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    // An alpha array is read once, when the meter is made: changing it later changes nothing.
    const alpha = [0.25, 0.75];
    const fixed = b.api.focalLossMeter('softmax', { numClasses: 2, alpha, shard: 'x' });
    alpha[1] = 0;
    fixed.add([0, 1], [1]);
    expect(fixed.result().sum).toBe(
      b.api.softmaxFocalLoss([0, 1], [1], { numClasses: 2, alpha: [0.25, 0.75], reduction: 'sum' }).loss,
    );
  });

  it('sigmoid perClass: element i of [N, C, ...inner] is in class (i / inner) % C; ignoreIndex leaves elements out', async () => {
    const [N, C, S] = [37, 3, 5];
    const rng = mulberry32(5);
    const logits = Float64Array.from({ length: N * C * S }, () => (rng() - 0.5) * 20);
    const targets = Int8Array.from({ length: N * C * S }, () => {
      const r = rng();
      return r < 0.1 ? -1 : r < 0.4 ? 1 : 0;
    });
    const before = Int8Array.from(targets);
    const options = { perClass: true, numClasses: C, ignoreIndex: -1, gamma: 1.5, alpha: 0.3 };
    const m = b.api.focalLossMeter('sigmoid', { ...options, shard: 'a' });
    const rows = [0, 10, 11, N];
    for (let j = 0; j + 1 < rows.length; j++) {
      const [begin, end] = [rows[j]! * C * S, rows[j + 1]! * C * S];
      const shape = [rows[j + 1]! - rows[j]!, C, S];
      if (j === 1) await m.addAsync(logits.subarray(begin, end), targets.subarray(begin, end), { shape });
      else m.add(logits.subarray(begin, end), targets.subarray(begin, end), { shape });
    }
    expect(targets, 'the caller\u2019s targets are not changed').toEqual(before);
    const r = m.result();
    // Each class: the same bits as a plain meter over the kept elements of that column alone.
    const kept = (k: number | null) =>
      [...targets.keys()].filter((i) => targets[i] !== -1 && (k === null || Math.floor(i / S) % C === k));
    const plain = (k: number | null) => {
      const idx = kept(k);
      const p = b.api.focalLossMeter('sigmoid', { gamma: 1.5, alpha: 0.3, shard: 'p' });
      p.add(
        Float64Array.from(idx, (i) => logits[i]!),
        Int8Array.from(idx, (i) => targets[i]!),
      );
      return p.result();
    };
    expect(r.perClass).toHaveLength(C);
    const all = plain(null);
    expect([r.sum, r.count, r.crossEntropy]).toEqual([all.sum, all.count, all.crossEntropy]);
    for (let k = 0; k < C; k++) {
      const one = plain(k);
      expect(r.perClass![k]).toEqual({
        class: k,
        count: one.count,
        loss: one.loss,
        crossEntropy: one.crossEntropy,
        share: one.sum / r.sum,
      });
    }
    // The same data as [N * C * S] chunks of another layout give the same classes: (N, C, S) with
    // classAxis 1 is (N, C, S) whatever the rows per chunk; as one chunk, and through a state.
    const whole = b.api.focalLossMeter('sigmoid', { ...options, shard: 'w' });
    whole.add(logits, targets, { shape: [N, C, S], classAxis: -2 });
    expect(bitsOf(whole)).toBe(bitsOf(m));
    const back = b.api.focalLossMeterFromState('sigmoid', JSON.parse(JSON.stringify(m.state())));
    expect(bitsOf(back)).toBe(bitsOf(m));
    expect(() => back.merge(whole.state())).not.toThrow();
    expect(back.result().count).toBe(2 * r.count);
    // [N, C] without a shape: the column.
    const cols = b.api.focalLossMeter('sigmoid', { perClass: true, numClasses: C * S, shard: 'c' });
    cols.add(
      logits,
      targets.map((t) => (t === -1 ? 0 : t)),
    );
    expect(cols.result().perClass!.map((c) => c.count)).toEqual(Array.from({ length: C * S }, () => N));
  });

  it('sigmoid perClass options and add options are validated', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ perClass: true }, /options\.numClasses/],
      [{ numClasses: 3 }, /options\.numClasses needs options\.perClass/],
      [{ perClass: true, numClasses: 0 }, /options\.numClasses/],
      [{ perClass: true, numClasses: 2.5 }, /options\.numClasses/],
      [{ ignoreIndex: 0.5 }, /options\.ignoreIndex/],
      [{ ignoreIndex: '1' }, /options\.ignoreIndex/],
    ];
    for (const [options, message] of bad) {
      expect(() => b.api.focalLossMeter('sigmoid', options), JSON.stringify(options)).toThrow(message);
    }
    const plain = b.api.focalLossMeter('sigmoid', { shard: 'x' });
    expect(() => plain.add([0, 1], [0, 1], { shape: [1, 2] })).toThrow(/options\.shape needs a meter with perClass/);
    const m = b.api.focalLossMeter('sigmoid', { perClass: true, numClasses: 2, shard: 'y' });
    expect(() => m.add([0, 1, 2], [0, 1, 0])).toThrow(/multiple of numClasses \(2\)/);
    expect(() => m.add([0, 1, 2, 3], [0, 1, 0, 1], { shape: [2, 3] })).toThrow(/options\.shape\[1\] \(3\)/);
    expect(() => m.add([0, 1, 2, 3], [0, 1, 0, 1], { shape: [3, 2] })).toThrow(/logits of length 6/);
    expect(() => m.add([0, 1], [0, 1], { classAxis: 0 })).toThrow(/options\.classAxis needs options\.shape/);
    expect(() => m.add([0, 1], [0, 1], { shape: [1, 2], classAxis: 2 })).toThrow(/options\.classAxis/);
    expect(() => m.add([0, 1], [0, 1], { shape: [1, 'two'] as never })).toThrow(/options\.shape/);
    expect(m.result().count).toBe(0);
    // A sigmoid state's perClass and numClasses are checked together.
    m.add([0, 1], [0, 1]);
    const good = () => JSON.parse(JSON.stringify(m.state()));
    const s1 = good();
    s1.options.numClasses = null;
    expect(() => b.api.focalLossMeterFromState('sigmoid', s1)).toThrow(/state\.options\.numClasses/);
    const s2 = good();
    s2.options.perClass = false;
    expect(() => b.api.focalLossMeterFromState('sigmoid', s2)).toThrow(/state\.options\.numClasses/);
    const s3 = good();
    s3.perClass.pop();
    expect(() => b.api.focalLossMeterFromState('sigmoid', s3)).toThrow(/state\.perClass/);
    const s4 = good();
    s4.options.ignoreIndex = 'x';
    expect(() => b.api.focalLossMeterFromState('sigmoid', s4)).toThrow(/state\.options\.ignoreIndex/);
    // Other per-class options do not merge.
    const other = b.api.focalLossMeter('sigmoid', { perClass: true, numClasses: 2, ignoreIndex: -1, shard: 'z' });
    expect(() => other.merge(m)).toThrow(/ignoreIndex/);
  });

  it('reads a state from outside once and checks it', () => {
    const m = b.api.focalLossMeter('softmax', { numClasses: 2, perClass: true, shard: 's' });
    m.add([0, 3, 1, 0], [1, 0]);
    const good = () => JSON.parse(JSON.stringify(m.state()));
    expect(b.api.focalLossMeterFromState('softmax', good()).result()).toEqual(m.result());
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a parsed JSON state, edited
    const broken: [string, (s: Record<string, any>) => void, RegExp][] = [
      ['format', (s) => (s.format = 'other'), /state\.format/],
      ['version', (s) => (s.version = 2), /state\.version/],
      ['extra key', (s) => (s.extra = 1), /state\.extra/],
      ['count', (s) => (s.count = -1), /state\.count/],
      ['count vs classes', (s) => (s.count = 5), /state\.perClass/],
      ['shards', (s) => (s.shards = []), /state\.shards/],
      ['shard type', (s) => (s.shards = [3]), /state\.shards\[0\]/],
      ['sum primaries', (s) => (s.sum.primaries = [1, 2]), /state\.sum\.primaries/],
      ['sum not canonical', (s) => (s.sum.primaries[0] *= 1.5), /state\.sum\.primaries/],
      ['class count', (s) => (s.perClass[0].count += 1), /state\.perClass/],
      ['options', (s) => (s.options.gamma = 'two'), /state\.options\.gamma/],
      ['perClass length', (s) => s.perClass.pop(), /state\.perClass/],
    ];
    for (const [what, change, message] of broken) {
      const s = good();
      change(s);
      expect(() => b.api.focalLossMeterFromState('softmax', s), what).toThrow(message);
      expect(() => m.merge(s), what).toThrow();
    }
    // Each property is read once: a getter runs once.
    let reads = 0;
    const s = good();
    const count = s.count;
    Object.defineProperty(s, 'count', { enumerable: true, get: () => (reads++, count) });
    b.api.focalLossMeterFromState('softmax', s);
    expect(reads).toBe(1);
    expect(() => b.api.focalLossMeterFromState('sigmoid', good())).toThrow(/sigmoid meter state/);
  });
});
