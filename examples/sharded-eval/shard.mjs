// One shard: a pair of .npy files (logits [N, C] float32 or float64, labels [N] integers),
// evaluated chunk by chunk with a focal-loss meter. The meter's state is the job's return value:
// plain JSON, exact, carrying the shard's name so that the producer can never count it twice.
import { readFile } from 'node:fs/promises';
import { parse } from 'npyjs';
// In your own project: import { softmaxFocalLossMeter } from 'focal-loss';
import { softmaxFocalLossMeter } from '../../dist/index.js';

async function readNpy(path) {
  const bytes = await readFile(path);
  const array = parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  if (array.fortranOrder) throw new Error(`${path}: Fortran-ordered arrays are not supported`);
  return array;
}

/**
 * Evaluates one shard. `job` = { shard, logits, labels, options } where options are the meter's
 * (numClasses, gamma, alpha, ignoreIndex, perClass); `progress(samplesDone)` is called after each
 * chunk; `pauseMs` waits between chunks (a stand-in for slow storage, used by the test to kill a
 * worker mid-job).
 */
export async function evaluateShard(job, { chunkSamples = 4096, pauseMs = 0, progress = () => {} } = {}) {
  const [logits, labels] = await Promise.all([readNpy(job.logits), readNpy(job.labels)]);
  const classes = job.options.numClasses;
  if (logits.shape.length !== 2 || logits.shape[1] !== classes) {
    throw new Error(`${job.logits}: expected logits of shape [N, ${classes}], got [${logits.shape.join(', ')}]`);
  }
  const samples = logits.shape[0];
  const meter = softmaxFocalLossMeter({ ...job.options, shard: job.shard });
  for (let start = 0; start < samples; start += chunkSamples) {
    const end = Math.min(samples, start + chunkSamples);
    await meter.addAsync(logits.data.subarray(start * classes, end * classes), labels.data.subarray(start, end));
    await progress(end);
    if (pauseMs > 0 && end < samples) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  return meter.state();
}
