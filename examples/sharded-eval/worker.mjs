// A worker process: takes shard jobs off the queue and returns each shard's meter state.
//
//   node worker.mjs [--redis redis://127.0.0.1:6379] [--lock-ms 30000] [--chunk-samples 4096] [--pause-ms 0]
//
// If this process dies mid-job, its lock on the job expires after --lock-ms; another worker's
// stalled-job check then puts the job back on the queue and it is evaluated again from the start
// (a fresh meter: nothing of the dead worker's partial work is counted).
import { Worker } from 'bullmq';
import { QUEUE, connectionFrom, readArgs } from './queue.mjs';
import { evaluateShard } from './shard.mjs';

const { values } = readArgs({
  'lock-ms': { type: 'string', default: '30000' },
  'chunk-samples': { type: 'string', default: '4096' },
  'pause-ms': { type: 'string', default: '0' },
});
const lockDuration = Number(values['lock-ms']);
const chunkSamples = Number(values['chunk-samples']);
const pauseMs = Number(values['pause-ms']);

const worker = new Worker(
  QUEUE,
  (job) =>
    evaluateShard(job.data, {
      chunkSamples,
      pauseMs,
      progress: (done) => job.updateProgress({ pid: process.pid, done }),
    }),
  {
    connection: connectionFrom(values.redis),
    concurrency: 1,
    lockDuration,
    // Check for stalled jobs (workers that died holding one) more often than the lock lasts.
    stalledInterval: Math.max(500, lockDuration / 2),
    maxStalledCount: 2,
  },
);
worker.on('failed', (job, error) => console.error(`shard ${job?.id} failed: ${error.message}`));
worker.on('error', (error) => console.error(`worker: ${error.message}`));

async function stop() {
  await worker.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Started by another Node process with an IPC channel (the test): stop when it goes away.
process.on('disconnect', stop);
await worker.waitUntilReady();
process.send?.({ ready: process.pid });
console.error(`worker ${process.pid} ready on ${values.redis}`);
