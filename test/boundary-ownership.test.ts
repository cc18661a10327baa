// Arrays the package returned (a gradient, a 'none' loss) belong to the caller like any other: fed
// back into an async call, they are copied and delivered like the caller's own arrays. Before, a
// global "the facade made it" mark let them skip the snapshot: transferring one mid-call crashed the
// native backend (heap-use-after-free) and gave NaN on the JS one, and a rejected call overwrote a
// reused gradient although a failed async call leaves `out` alone.
import { describe, expect, it } from 'vitest';
import { backends } from './backends.js';
import { inChild } from './boundary-child.js';

const CASES = ['grad as out.grad', 'grad as logits', 'none loss as logits', 'grad as weights'] as const;

describe('returned arrays fed back into async calls (child processes)', () => {
  for (const { name } of backends) {
    it(`${name}: transferring a returned array during the call is a TypeError or the exact result, never a crash`, () => {
      const body = `
        const n = backendName === 'native' ? 1 << 22 : 1 << 18;
        const x = new Float64Array(n);
        for (let i = 0; i < n; i++) x[i] = ((i * 37) % 101) / 10 - 5;
        const t = new Uint8Array(n).map((_, i) => (i % 3 === 0 ? 1 : 0));
        for (const what of ${JSON.stringify(CASES)}) {
          const first = what.startsWith('none')
            ? api.sigmoidFocalLoss(x, t, { reduction: 'none' })
            : api.sigmoidFocalLoss(x, t, { gradient: true });
          const mine = what.startsWith('none') ? first.loss : first.grad;
          let p, expected;
          if (what === 'grad as out.grad') {
            expected = api.sigmoidFocalLoss(x, t, { gradient: true });
            p = api.sigmoidFocalLossAsync(x, t, { out: { grad: mine } });
          } else if (what === 'grad as weights') {
            const w = mine.map(Math.abs);
            mine.set(w);
            expected = api.sigmoidFocalLoss(x, t, { weights: w.slice(), gradient: true });
            p = api.sigmoidFocalLossAsync(x, t, { weights: mine, gradient: true });
          } else {
            expected = api.sigmoidFocalLoss(mine.slice(), t, { gradient: true });
            p = api.sigmoidFocalLossAsync(mine, t, { gradient: true });
          }
          structuredClone(mine.buffer, { transfer: [mine.buffer] });
          // A large native result is an external buffer, which Node's structured clone copies
          // instead of detaching (docs/RESULT-MEMORY.md): the array is then still there.
          const kept = mine.length > 0;
          globalThis.gc();
          const o = await outcome(() => p);
          let same = null;
          if (o.ok && expected) {
            const r = await p;
            same = r.loss === expected.loss && r.grad.every((g, i) => Object.is(g, expected.grad[i]));
          }
          report({ what, same, kept, ...o });
        }`;
      const run = inChild(name, body, ['--expose-gc']);
      expect(run.ended).toBe('status 0');
      const failures: string[] = [];
      for (const what of CASES) {
        const line = run.lines.find((l) => l.what === what);
        if (!line) {
          failures.push(`${what}: no outcome`);
          continue;
        }
        const argument = what.endsWith('out.grad')
          ? 'options.out.grad'
          : what.endsWith('weights')
            ? 'options.weights'
            : 'logits';
        const named = !line.ok && line.type === 'TypeError' && String(line.message).includes(`for ${argument} (`);
        // A detached out.grad leaves nowhere to deliver the gradient: always the TypeError. An input:
        // the exact result when its copy was made before the transfer, else the TypeError naming it.
        // An array the transfer left in place: the exact result.
        const exact = line.ok && line.same === true;
        const good = !line.kept ? (what.endsWith('out.grad') ? named : line.ok ? line.same === true : named) : exact;
        if (!good) failures.push(`${what}: ${JSON.stringify(line)}`);
      }
      expect(failures).toEqual([]);
    });

    it(`${name}: a rejected async call leaves a reused returned gradient as it was`, async () => {
      const { api } = backends.find((b) => b.name === name)!;
      const n = 1 << 16;
      const x = new Float32Array(n).map((_, i) => ((i * 37) % 101) / 10 - 5);
      const t = new Uint8Array(n).map((_, i) => i % 2);
      const grad = api.sigmoidFocalLoss(x, t, { gradient: true }).grad!;
      const before = grad.slice();
      const bad = t.slice();
      bad[n - 1] = 7;
      // Other logits, so that a gradient written into `grad` would differ from the one it holds.
      const other = x.map((v) => 3 - v);
      await expect(api.sigmoidFocalLossAsync(other, bad, { out: { grad } })).rejects.toThrow(/targets\[65535\]/);
      expect(Buffer.from(grad.buffer).equals(Buffer.from(before.buffer))).toBe(true);
      const labels = new Int32Array(n / 4).map((_, i) => i % 4);
      const sgrad = api.softmaxFocalLoss(x, labels, { numClasses: 4, gradient: true }).grad!;
      const sbefore = sgrad.slice();
      labels[n / 4 - 1] = 9;
      await expect(api.softmaxFocalLossAsync(other, labels, { numClasses: 4, out: { grad: sgrad } })).rejects.toThrow(
        /labels\[16383\]/,
      );
      expect(Buffer.from(sgrad.buffer).equals(Buffer.from(sbefore.buffer))).toBe(true);
    });
  }
});
