// The arrays a native call returns lie on the addon's recycled result memory when they are large
// (lib/backends/native/result-memory.ts, native/binding/result_pool.hpp). Recycled memory holds
// whatever its last user left, and the caller is not trusted with what the package returned: each
// case runs in a child process (a crash is a failed test), with gc exposed so that blocks come back
// to the pool when the test says.
import { describe, expect, it } from 'vitest';
import { nativeBackend } from './backends.js';
import { inChild } from './boundary-child.js';

// drain(target): collects and waits until at most target result blocks are out, or their number
// has not changed for 40 turns (finalizers run on the event loop after a collection, later on a
// loaded machine; some blocks may be alive). settle(): the latter only.
const PRELUDE = `
  const stats = () => addon.resultMemory();
  const turn = () => new Promise((r) => setTimeout(r, 5));
  const drain = async (target = 0) => {
    let last = -1;
    for (let i = 0, still = 0; i < 2000 && stats().regionsOut > target && still < 40; i++) {
      globalThis.gc();
      await turn();
      still = stats().regionsOut === last ? still + 1 : 0;
      last = stats().regionsOut;
    }
    return stats();
  };
  const settle = () => drain(-1);
  const bytesOf = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const same = (a, b) => a.length === b.length && bytesOf(a).equals(bytesOf(b));
`;

function run(body: string, env: Record<string, string> = {}) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const r = inChild('native', PRELUDE + body, ['--expose-gc']);
    if (r.status !== 0) console.error(r.stderr.slice(-3000)); // the cause, in the failure output
    return r;
  } finally {
    process.env = saved;
  }
}

describe.skipIf(!nativeBackend)('native result memory', () => {
  it('a recycled block full of garbage gives exactly the result arrays of a fresh call', () => {
    const r = run(`
      const n = 1 << 20; // 4 MiB of float32: on result memory
      const x = new Float32Array(n).map((_, i) => ((i * 7919) % 2001) / 100 - 10);
      const t = new Uint8Array(n).map((_, i) => (i % 3 === 0 ? 1 : 0));
      const w = new Float32Array(n).map((_, i) => (i % 5 === 0 ? 0 : 1 + (i % 7)));
      const rows = 1 << 19, c = 4; // loss 2 MiB, gradient 8 MiB
      const z = new Float32Array(rows * c).map((_, i) => ((i * 104729) % 3001) / 100 - 15);
      const labels = new Int32Array(rows).map((_, i) => (i % 11 === 0 ? -100 : i % c));
      const sw = new Float32Array(rows).map((_, i) => (i % 13 === 0 ? 0 : 0.5 + (i % 3)));
      const x64 = Float64Array.from(x);
      const calls = {
        sigmoid: () => api.sigmoidFocalLoss(x, t, { reduction: 'none', gradient: true, weights: w }),
        sigmoid64: () => api.sigmoidFocalLoss(x64, t, { reduction: 'none', gradient: true, alpha: 0.25 }),
        softmax: () => api.softmaxFocalLoss(z, labels, { shape: [rows, c], reduction: 'none', gradient: true, weights: sw }),
        softmaxInner: () =>
          api.softmaxFocalLoss(z, labels, { shape: [rows / 4, c, 4], reduction: 'none', gradient: true, weights: sw }),
        softmaxMean: () => api.softmaxFocalLoss(z, labels, { shape: [rows, c], gradient: true, gamma: 0.5 }),
      };
      for (const [name, call] of Object.entries(calls)) {
        addon.resultMemory(true);
        await drain();
        let fresh = call();
        const expected = { loss: typeof fresh.loss === 'number' ? fresh.loss : fresh.loss.slice(), grad: fresh.grad.slice() };
        const onResultMemory = stats().regionsOut > 0;
        fresh = null;
        // Garbage in every pooled block: take them all, fill, give back.
        let garbage = [];
        await drain();
        for (let k = 0; k < 4; k++) {
          for (const bytes of [2, 4, 8, 16].map((m) => m << 20)) {
            const g = new Uint8Array(addon.allocateResult(bytes));
            for (let i = 0; i < g.length; i += 1) g[i] = (i * 31 + k) & 0xff;
            garbage.push(g);
          }
        }
        garbage = null;
        const pooled = (await drain()).pooledRegions;
        const again = call();
        const reused = stats().pooledRegions < pooled;
        const lossSame = typeof again.loss === 'number' ? Object.is(again.loss, expected.loss) : same(again.loss, expected.loss);
        report({ name, onResultMemory, reused, lossSame, gradSame: same(again.grad, expected.grad) });
      }`);
    expect(r.ended).toBe('status 0');
    expect(r.lines.map((l) => l.name)).toEqual(['sigmoid', 'sigmoid64', 'softmax', 'softmaxInner', 'softmaxMean']);
    for (const line of r.lines) {
      expect(line, JSON.stringify(line)).toMatchObject({
        onResultMemory: true,
        reused: true,
        lossSame: true,
        gradSame: true,
      });
    }
  });

  it('a call that throws after its result arrays were made leaks no block', () => {
    const r = run(`
      const n = 1 << 20;
      const x = new Float32Array(n);
      const bad = new Uint8Array(n); bad[n - 1] = 7; // found by the kernel, after allocation
      await drain();
      const before = stats().regionsOut;
      for (const [what, f] of [
        ['kernel error', () => api.sigmoidFocalLoss(x, bad, { gradient: true, reduction: 'none' })],
        ['bad threads', () => api.sigmoidFocalLoss(x, new Uint8Array(n), { gradient: true, threads: -1 })],
        ['async kernel error', () => api.sigmoidFocalLossAsync(x, bad, { gradient: true })],
      ]) {
        const o = await outcome(f);
        report({ what, ok: o.ok, type: o.type, left: (await drain(before)).regionsOut - before });
      }`);
    expect(r.ended).toBe('status 0');
    expect(r.lines).toHaveLength(3);
    for (const line of r.lines) expect(line, JSON.stringify(line)).toMatchObject({ ok: false, left: 0 });
  });

  it('returned arrays survive transfer, postMessage, reuse as input or out, and being kept while others recycle', () => {
    const r = run(
      `
      const { Worker } = await import('node:worker_threads');
      const n = 1 << 20;
      const x = new Float32Array(n).map((_, i) => ((i * 7919) % 2001) / 100 - 10);
      const t = new Uint8Array(n).map((_, i) => i % 2);
      const kept = api.sigmoidFocalLoss(x, t, { gradient: true }).grad;
      const keptCopy = kept.slice();
      // Structured clone copies an external buffer (Node marks it untransferable): both stay usable.
      const cloned = structuredClone(kept.buffer, { transfer: [kept.buffer] });
      report({ what: 'transfer', keptLength: kept.length, clonedBytes: cloned.byteLength });
      // Fed back: as logits (sync and async), as out.grad (sync and async).
      const ref = api.sigmoidFocalLoss(keptCopy.slice(), t, { gradient: true });
      const asInput = api.sigmoidFocalLoss(kept, t, { gradient: true });
      const asInputAsync = await api.sigmoidFocalLossAsync(kept, t, { gradient: true });
      const g = api.sigmoidFocalLoss(x, t, { gradient: true }).grad;
      api.sigmoidFocalLoss(keptCopy, t, { out: { grad: g } });
      const g2 = api.sigmoidFocalLoss(x, t, { gradient: true }).grad;
      await api.sigmoidFocalLossAsync(keptCopy, t, { out: { grad: g2 } });
      report({
        what: 'fed back',
        input: same(asInput.grad, ref.grad) && same(asInputAsync.grad, ref.grad),
        out: same(g, ref.grad) && same(g2, ref.grad),
      });
      // Many calls whose results are dropped and recycled: the kept one is never handed out again.
      for (let i = 0; i < 30; i++) {
        const other = api.sigmoidFocalLoss(x.map((v) => -v), t, { gradient: true }).grad;
        other.fill(NaN);
        if (i % 5 === 0) await settle();
      }
      report({ what: 'kept', unchanged: same(kept, keptCopy) });
      // A worker posts its gradient to this thread (a copy) and exits with others alive.
      const expectedWorker = api.sigmoidFocalLoss(new Float32Array(n).fill(0.5), new Uint8Array(n), { gradient: true }).grad;
      const beforeWorker = (await settle()).regionsOut;
      const worker = new Worker(
        'Promise.all([import("node:worker_threads"), import(process.env.FOCAL_DIST)]).then(([{ parentPort }, { sigmoidFocalLoss }]) => {' +
          '  const n = 1 << 20, x = new Float32Array(n).fill(0.5), t = new Uint8Array(n), keep = [];' +
          '  for (let i = 0; i < 4; i++) keep.push(sigmoidFocalLoss(x, t, { gradient: true }).grad);' +
          '  parentPort.postMessage(keep[0], [keep[0].buffer]);' +
          '});',
        { eval: true },
      );
      // The exit listener first: a worker that exits before its message is read has the message
      // emitted and then 'exit' in one turn (Node drains the port on exit), before an await returns.
      const exited = new Promise((r) => worker.once('exit', r));
      const fromWorker = await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
      await exited;
      report({ what: 'worker', same: same(fromWorker, expectedWorker), left: (await drain(beforeWorker)).regionsOut - beforeWorker });
    `,
      { FOCAL_DIST: new URL('../dist/index.js', import.meta.url).href },
    );
    expect(r.ended).toBe('status 0');
    const by = Object.fromEntries(r.lines.map((l) => [l.what, l]));
    expect(by.transfer).toMatchObject({ keptLength: 1 << 20, clonedBytes: 4 << 20 });
    expect(by['fed back']).toMatchObject({ input: true, out: true });
    expect(by.kept).toMatchObject({ unchanged: true });
    // The worker's environment gave back the blocks of the gradients it still held when it exited
    // (what it posted arrived as a copy).
    expect(by.worker).toMatchObject({ same: true, left: 0 });
  });

  it('without external buffers (Electron), results are plain ArrayBuffers and the pool lends nothing', () => {
    const r = run(
      `
      const n = 1 << 20;
      const x = new Float32Array(n).map((_, i) => i / n - 0.5), t = new Uint8Array(n);
      const { grad } = api.sigmoidFocalLoss(x, t, { gradient: true });
      report({ plain: grad.buffer instanceof ArrayBuffer, out: stats().regionsOut, finite: grad.every(Number.isFinite) });`,
      { FOCAL_LOSS_TEST_NO_EXTERNAL_BUFFERS: '1' },
    );
    expect(r.ended).toBe('status 0');
    expect(r.lines[0]).toMatchObject({ plain: true, out: 0, finite: true });
  });
});
