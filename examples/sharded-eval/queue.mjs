// What the producer and the workers agree on: the queue's name, how to reach Redis, and the job
// options that make a shard survive a worker that dies mid-job.
import { parseArgs } from 'node:util';

export const QUEUE = 'focal-loss-eval';

/** BullMQ connection options from a redis:// URL (BullMQ passes them to ioredis). */
export function connectionFrom(url) {
  const { hostname, port } = new URL(url);
  // Workers block on Redis: ioredis must retry their commands forever (BullMQ requires null).
  return { host: hostname, port: Number(port || 6379), maxRetriesPerRequest: null };
}

/** Every job is one shard; its id is the shard's name, so adding the same shard twice adds one job. */
export const JOB_OPTIONS = {
  // A worker that throws (a bad file) is retried with backoff, then the job fails for good.
  attempts: 3,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: false,
  removeOnFail: false,
};

/** Command-line options shared by both scripts (node:util's parser). */
export function readArgs(options) {
  return parseArgs({
    options: { redis: { type: 'string', default: 'redis://127.0.0.1:6379' }, ...options },
    allowPositionals: true,
  });
}
