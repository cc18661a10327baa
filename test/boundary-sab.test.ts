// SharedArrayBuffer-backed arrays are supported: every kernel reads each element once (read, check,
// use that same value). A worker writes out-of-range labels, targets and weights while calls loop:
// each call returns finite numbers or throws the RangeError naming the element, never NaN from a
// value checked in one pass and used (changed) in another, never a crash. (Before, the JS softmax
// checked the labels in one pass and indexed alpha with them in a second: NaN.)
import { describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inChild } from './boundary-child.js';

const writer = JSON.stringify(
  pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'sab-writer.mjs')).href,
);

describe('SharedArrayBuffer inputs written by another thread during the call (child process)', () => {
  it('js: every call gives finite numbers or a RangeError naming a bad element', () => {
    const body = `
      const { Worker } = await import('node:worker_threads');
      const N = 4096, C = 5;
      const shared = (Ctor, n) => new Ctor(new SharedArrayBuffer(n * Ctor.BYTES_PER_ELEMENT));
      const logits = new Float64Array(N * C).map((_, i) => ((i * 37) % 101) / 10 - 5);
      const labels = shared(Int32Array, N).map((_, i) => i % C);
      const soft = shared(Float64Array, N * C).fill(1 / C);
      const weights = shared(Float64Array, N).fill(1);
      const targets = shared(Uint8Array, N * C).map((_, i) => i % 2);
      const stop = new SharedArrayBuffer(4);
      const worker = new Worker(new URL(${writer}), { execArgv: [], workerData: { stop, arrays: [
        { buffer: labels.buffer, type: 'Int32Array', good: [0, 1, 2, 3, 4], bad: [5, 1 << 30, -5, -(1 << 30)] },
        { buffer: soft.buffer, type: 'Float64Array', good: [0.2], bad: [NaN, 2, -1, Infinity] },
        { buffer: weights.buffer, type: 'Float64Array', good: [1, 0.5], bad: [NaN, -1, Infinity] },
        { buffer: targets.buffer, type: 'Uint8Array', good: [0, 1], bad: [2, 255] },
      ] } });
      await new Promise((resolve) => worker.once('online', resolve));
      const alpha = [0.1, 0.2, 0.3, 0.4, 0.5];
      const calls = [
        ['softmax labels', () => api.softmaxFocalLoss(logits, labels, { numClasses: C, alpha, weights, gradient: true, reduction: 'none' })],
        ['softmax labels smoothed', () => api.softmaxFocalLoss(logits, labels, { numClasses: C, alpha, labelSmoothing: 0.1, gradient: true })],
        ['softmax soft targets', () => api.softmaxFocalLoss(logits, soft, { numClasses: C, weights, gradient: true, reduction: 'none' })],
        ['sigmoid targets', () => api.sigmoidFocalLoss(logits, targets, { gradient: true, reduction: 'none' })],
      ];
      const tally = {};
      const bad = [];
      const finite = (v) => typeof v === 'number' ? Number.isFinite(v) : v.every(Number.isFinite);
      const until = performance.now() + 3000;
      while (performance.now() < until) {
        for (const [what, f] of calls) {
          const t = (tally[what] ??= { ok: 0, rangeError: 0 });
          try {
            const r = f();
            if (!finite(r.loss) || !finite(r.grad)) bad.push(what + ': a non-finite result');
            else t.ok++;
          } catch (e) {
            if (e instanceof RangeError && typeof e.index === 'number' && /\\[\\d+\\] but received/.test(e.message)) t.rangeError++;
            else bad.push(what + ': ' + e?.constructor?.name + ' ' + e?.message);
          }
        }
        if (bad.length > 5) break;
      }
      Atomics.store(new Int32Array(stop), 0, 1);
      await worker.terminate();
      report({ tally, bad: bad.slice(0, 5) });`;
    const run = inChild('js', body);
    expect(run.ended, run.stderr).toBe('status 0');
    const line = run.lines[0]!;
    expect(line.bad).toEqual([]);
    // Both outcomes happened for every call (the worker really raced the reads).
    for (const [what, t] of Object.entries(line.tally as Record<string, { ok: number; rangeError: number }>)) {
      expect(t.ok + t.rangeError, what).toBeGreaterThan(10);
    }
  });
});
