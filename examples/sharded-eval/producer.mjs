// The producer: one job per shard, waits for every shard's state, merges them, prints the report.
//
//   node producer.mjs [--redis URL] --num-classes C [--gamma 2] [--alpha a0,a1,...]
//                     [--ignore-index 255] [--per-class] logits0.npy:labels0.npy ...
//
// Prints one JSON object: { result, state }. `result` is the same number, to the last bit, as one
// meter (or one softmaxFocalLoss call) over all the files in one process: the meter's sum does not
// depend on how the data was split, in what order shards finished, or how many times a shard was
// retried (a shard's state is only ever merged once).
import { Queue, QueueEvents } from 'bullmq';
import { basename } from 'node:path';
import { resolve } from 'node:path';
// In your own project: import { softmaxFocalLossMeter } from 'focal-loss';
import { softmaxFocalLossMeter } from '../../dist/index.js';
import { JOB_OPTIONS, QUEUE, connectionFrom, readArgs } from './queue.mjs';

const { values, positionals } = readArgs({
  'num-classes': { type: 'string' },
  gamma: { type: 'string', default: '2' },
  alpha: { type: 'string' },
  'ignore-index': { type: 'string' },
  'per-class': { type: 'boolean', default: false },
});
if (values['num-classes'] === undefined || positionals.length === 0) {
  console.error('usage: node producer.mjs --num-classes C [options] logits.npy:labels.npy ...');
  process.exit(2);
}
const options = {
  numClasses: Number(values['num-classes']),
  gamma: Number(values.gamma),
  ...(values.alpha !== undefined && { alpha: values.alpha.split(',').map(Number) }),
  ...(values['ignore-index'] !== undefined && { ignoreIndex: Number(values['ignore-index']) }),
  perClass: values['per-class'],
};
const shards = positionals.map((pair) => {
  const [logits, labels] = pair.split(':');
  if (!logits || !labels) throw new Error(`expected logits.npy:labels.npy, got ${pair}`);
  return { shard: basename(logits), logits: resolve(logits), labels: resolve(labels), options };
});

const connection = connectionFrom(values.redis);
const queue = new Queue(QUEUE, { connection });
const events = new QueueEvents(QUEUE, { connection });
await events.waitUntilReady();
try {
  const jobs = await queue.addBulk(
    shards.map((data) => ({ name: 'shard', data, opts: { ...JOB_OPTIONS, jobId: data.shard } })),
  );
  const states = await Promise.all(jobs.map((job) => job.waitUntilFinished(events)));
  const total = softmaxFocalLossMeter(options);
  for (const state of states) total.merge(state); // throws if a shard's state came twice
  console.log(JSON.stringify({ result: total.result(), state: total.state() }));
} finally {
  await events.close();
  await queue.close();
}
