/**
 * examples/sharded-eval end to end: a real redis-server, three BullMQ worker processes, one of them
 * killed (SIGKILL) in the middle of a shard; BullMQ's stalled-job check hands that shard to another
 * worker, and the producer's merged result is the same bits as one meter, and one softmaxFocalLoss
 * call, over all the data in this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { softmaxFocalLoss, softmaxFocalLossMeter } from '../lib/index.js';
import { mulberry32 } from './helpers.js';
import { writeNpy } from './npy-writer.js';
import { startRedis, type RedisServer } from './redis-server.js';

const EXAMPLE = resolve(__dirname, '../examples/sharded-eval');
const CLASSES = 10;
const IGNORE = 255;
const OPTIONS = {
  numClasses: CLASSES,
  gamma: 2,
  alpha: Array.from({ length: CLASSES }, (_, c) => 0.05 + c / 20),
  ignoreIndex: IGNORE,
  perClass: true,
};
const SHARDS = 6;

interface Shard {
  logits: Float32Array;
  labels: Int32Array;
  files: string;
}

function makeShards(dir: string): Shard[] {
  const rng = mulberry32(1307);
  return Array.from({ length: SHARDS }, (_, s) => {
    const samples = 2000 + Math.floor(rng() * 4000);
    const logits = Float32Array.from({ length: samples * CLASSES }, () => (rng() - 0.5) * 12);
    const labels = Int32Array.from({ length: samples }, () => (rng() < 0.05 ? IGNORE : Math.floor(rng() * CLASSES)));
    const x = join(dir, `shard${s}-logits.npy`);
    const y = join(dir, `shard${s}-labels.npy`);
    writeNpy(x, '<f4', [samples, CLASSES], logits);
    writeNpy(y, '<i4', [samples], labels);
    return { logits, labels, files: `${x}:${y}` };
  });
}

function concat<T extends Float32Array | Int32Array>(parts: T[], Ctor: new (n: number) => T): T {
  const out = new Ctor(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function node(args: string[], ipc = false): ChildProcess {
  return spawn(process.execPath, args, {
    cwd: EXAMPLE,
    stdio: ipc ? ['ignore', 'pipe', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'],
  });
}

describe('examples/sharded-eval on BullMQ and a real redis-server', () => {
  let redis: RedisServer;
  let dir: string;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'focal-sharded-'));
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('merges the shards of 3 workers, one killed mid-job, into the bits of a single-process evaluation', async () => {
    const shards = makeShards(dir);
    for (let i = 0; i < 3; i++) {
      const w = node(
        ['worker.mjs', '--redis', redis.url, '--lock-ms', '1500', '--chunk-samples', '1000', '--pause-ms', '50'],
        true,
      );
      workers.push(w);
      await once(w, 'message'); // { ready: pid }
    }
    const events = new QueueEvents('focal-loss-eval', { connection: { host: '127.0.0.1', port: redis.port } });
    await events.waitUntilReady();
    let killed: { jobId: string; pid: number } | undefined;
    const stalled: string[] = [];
    events.on('progress', ({ jobId, data }) => {
      const { pid, done } = data as { pid: number; done: number };
      if (killed || done <= 0) return;
      const victim = workers.find((w) => w.pid === pid)!;
      killed = { jobId, pid };
      victim.kill('SIGKILL'); // mid-job: the shard has more chunks to go
    });
    events.on('stalled', ({ jobId }) => stalled.push(jobId));

    const producer = node([
      'producer.mjs',
      '--redis',
      redis.url,
      '--num-classes',
      String(CLASSES),
      '--gamma',
      '2',
      '--alpha',
      OPTIONS.alpha.join(','),
      '--ignore-index',
      String(IGNORE),
      '--per-class',
      ...shards.map((s) => s.files),
    ]);
    let stdout = '';
    producer.stdout!.on('data', (chunk) => (stdout += chunk));
    const [code] = await once(producer, 'exit');
    await events.close();
    expect(code).toBe(0);
    expect(killed).toBeDefined();
    expect(stalled).toContain(killed!.jobId);
    const victim = workers.find((w) => w.pid === killed!.pid)!;
    expect(victim.signalCode).toBe('SIGKILL');

    const { result, state } = JSON.parse(stdout) as {
      result: ReturnType<ReturnType<typeof softmaxFocalLossMeter>['result']>;
      state: unknown;
    };
    // One meter over all the data, in this process, in one piece.
    const logits = concat(
      shards.map((s) => s.logits),
      Float32Array,
    );
    const labels = concat(
      shards.map((s) => s.labels),
      Int32Array,
    );
    const single = softmaxFocalLossMeter(OPTIONS);
    single.add(logits, labels);
    expect(result).toEqual(single.result());
    expect(Object.is(result.sum, single.result().sum)).toBe(true);
    // ... and one softmaxFocalLoss call.
    const { perClass: _, ...callOptions } = OPTIONS;
    const call = softmaxFocalLoss(logits, labels, { ...callOptions, reduction: 'sum' });
    expect(result.sum).toBe(call.loss);
    expect(result.count).toBe(call.count);
    // Every shard once: the merged state names all six, and merging one again is refused.
    const again = softmaxFocalLossMeter.fromState(state as never);
    const shard0 = softmaxFocalLossMeter({ ...OPTIONS, shard: 'shard0-logits.npy' });
    expect(() => again.merge(shard0.state())).toThrow(/shard0-logits\.npy/);
  }, 120_000);
});
