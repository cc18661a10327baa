// worker_threads: the package loads and computes in 8 workers at once; each is terminated in the
// middle of a call and started again; the main thread keeps computing; every result is right.
// The addon keeps no process-wide JavaScript state, and is linked with -z nodelete so that an
// OpenMP thread pool cannot outlive the code it runs when a worker's environment goes away.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { backend, sigmoidFocalLoss, softmaxFocalLoss } from '../lib/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entry = pathToFileURL(join(root, 'dist', 'index.js')).href;
const script = join(root, 'test', 'fixtures', 'focal-worker.mjs');
const n = 200_000;

function expected() {
  const logits = new Float32Array(n).map((_, i) => ((i * 7919) % 2001) / 100 - 10);
  const targets = new Uint8Array(n).map((_, i) => (i % 13 === 0 ? 1 : 0));
  const labels = new Int32Array(n / 10).map((_, i) => i % 10);
  return {
    sigmoid: sigmoidFocalLoss(logits, targets).loss,
    softmax: softmaxFocalLoss(logits, labels, { numClasses: 10 }).loss,
  };
}

interface Report {
  sigmoid: number;
  softmax: number;
  backend: string;
}

/** Starts a worker and resolves with its worker object and first report. */
function start(): Promise<{ worker: Worker; first: Report }> {
  const worker = new Worker(script, { workerData: { entry, n } });
  return new Promise((resolvePromise, reject) => {
    worker.once('message', (first: Report) => resolvePromise({ worker, first }));
    worker.once('error', reject);
  });
}

describe('worker threads', () => {
  it('8 workers compute at once, are terminated mid-work and restarted, and agree with the main thread', async () => {
    const want = expected();
    for (let round = 0; round < 3; round++) {
      const started = await Promise.all(Array.from({ length: 8 }, start));
      for (const { first } of started) {
        expect(first.backend).toBe(backend().name);
        expect(first.sigmoid).toBe(want.sigmoid);
        expect(first.softmax).toBe(want.softmax);
      }
      // Each worker is in its next call by now: terminate them all while the main thread computes.
      const stopping = started.map(({ worker }) => worker.terminate());
      expect(expected()).toEqual(want);
      const codes = await Promise.all(stopping);
      expect(codes.every((code) => code === 1)).toBe(true); // terminated, not exited on their own
    }
    expect(expected()).toEqual(want);
  });
});
