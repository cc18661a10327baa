#!/usr/bin/env node
/**
 * The load test of the example service: starts main.mjs as a child process on 127.0.0.1 (its own
 * event loop, so that the client's work does not show in the server's figures), warms it up, then
 * sends a mix of valid batches and bad bodies with autocannon for `--duration` seconds, and reports:
 * requests per second, p50 and p99 latency, the server's event-loop delay p99 and RSS at the start
 * and end of the measured run (both read from the server's GET /v1/stats).
 *
 * Correctness is checked on every answer: each valid batch must get 200 with the loss a direct call
 * of the library gives (the same bits) and its count; each bad body must get its 4xx. The process
 * exits 1 if any check fails, 0 otherwise; the timing targets are reported, not enforced (they
 * depend on the machine and its load). `--json` ends the output with one JSON line of every figure.
 *
 *   node load-test.mjs [--duration 60] [--warmup 10] [--connections 8] [--threads 1] [--json]
 */
import autocannon from 'autocannon';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { backend, sigmoidFocalLoss, softmaxFocalLoss } from 'focal-loss';
import { MODELS } from './models.mjs';
import { encodeNpy } from './npy-body.mjs';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '10' },
    connections: { type: 'string', default: '8' },
    threads: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
const durationS = Number(values.duration);
const warmupS = Number(values.warmup);
const connections = Number(values.connections);
/** Small, so that oversized bodies are cheap to send; every valid batch below fits. */
const MAX_BODY_BYTES = 1 << 20;

/** A reproducible stream of numbers in [0, 1) (mulberry32), so every run sends the same batches. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
const next = random(13);
const logitsOf = (n) => Float32Array.from({ length: n }, () => (next() - 0.5) * 12);
const body = (...parts) => Buffer.concat(parts);

/** The valid batches, each with the answer a direct (synchronous) call of the library gives. */
function validBatch(kind, model, logits, shape, labels) {
  const { kind: _kind, ...options } = MODELS[model];
  const direct =
    MODELS[model].kind === 'sigmoid'
      ? sigmoidFocalLoss(logits, labels, options)
      : softmaxFocalLoss(logits, labels, options);
  return { kind, model, body: body(encodeNpy(logits, shape), encodeNpy(labels, [labels.length])), direct };
}
const anchors = 256 * 80; // a RetinaNet head's anchors x classes, flattened
const detectorHard = logitsOf(anchors);
const classifier = logitsOf(2048 * 10);
const classifierLabels = Int32Array.from({ length: 2048 }, () => (next() < 0.05 ? -100 : Math.floor(next() * 10)));
const valid = [
  validBatch(
    'detector, 0/1 targets',
    'detector',
    detectorHard,
    [anchors],
    Uint8Array.from({ length: anchors }, () => (next() < 0.01 ? 1 : 0)),
  ),
  validBatch(
    'detector, soft targets',
    'detector',
    logitsOf(64 * 80),
    [64 * 80],
    Float32Array.from({ length: 64 * 80 }, next),
  ),
  validBatch('classifier, 2048 samples', 'classifier', classifier, [2048, 10], classifierLabels),
  validBatch('classifier, 1 sample', 'classifier', logitsOf(10), [1, 10], Int32Array.of(3)),
];

/** Bad bodies, each with the status it must get. */
const detectorBody = valid[0].body;
const bad = [
  { kind: 'malformed (not .npy)', model: 'detector', status: 400, body: Buffer.from('logits=1,2,3&labels=0,1,0') },
  { kind: 'truncated', model: 'detector', status: 400, body: detectorBody.subarray(0, detectorBody.length - 1000) },
  { kind: 'oversized', model: 'classifier', status: 413, body: Buffer.alloc(MAX_BODY_BYTES + 1) },
  {
    kind: 'wrong dtype (float64 logits)',
    model: 'classifier',
    status: 400,
    body: body(encodeNpy(Float64Array.from(classifier), [2048, 10]), encodeNpy(classifierLabels, [2048])),
  },
  {
    kind: 'wrong dtype (int64 labels)',
    model: 'classifier',
    status: 400,
    body: body(encodeNpy(classifier, [2048, 10]), encodeNpy(BigInt64Array.from(classifierLabels, BigInt), [2048])),
  },
  {
    kind: 'label out of range',
    model: 'classifier',
    status: 400,
    body: body(encodeNpy(logitsOf(20), [2, 10]), encodeNpy(Int32Array.of(1, 10), [2])),
  },
  {
    kind: 'broken header',
    model: 'detector',
    status: 400,
    body: Buffer.from(encodeNpy(detectorHard, [anchors])).fill(0x20, 10, 40),
  },
];

/** Per kind of request: answers, and the answers that were not what they must be. */
const tally = new Map([...valid, ...bad].map((r) => [r.kind, { answered: 0, wrong: 0 }]));
/** The first wrong answers, to show. */
const wrongSamples = [];
/** Per model: what the valid answers of the current run add to the server's running total. */
const noTotals = () => Object.fromEntries(Object.keys(MODELS).map((m) => [m, { count: 0, batches: 0, sum: 0 }]));
let answeredTotals = noTotals();

function record(request, status, text) {
  const t = tally.get(request.kind);
  t.answered++;
  let ok;
  if (request.direct) {
    const answer = status === 200 ? JSON.parse(text) : null;
    ok = answer !== null && answer.loss === request.direct.loss && answer.count === request.direct.count;
    if (ok) {
      const total = answeredTotals[request.model];
      total.count += answer.count;
      total.batches += 1;
      total.sum += answer.sum;
    }
  } else ok = status === request.status;
  if (!ok) {
    t.wrong++;
    if (wrongSamples.length < 5) wrongSamples.push(`${request.kind}: ${status} ${text.trim().slice(0, 200)}`);
  }
}

/** The mix each connection cycles through: the valid batches, then one bad body, and so on. */
const mix = bad
  .flatMap((b) => [...valid, b])
  .map((request) => ({
    method: 'POST',
    path: `/v1/models/${request.model}/loss`,
    headers: { 'content-type': 'application/octet-stream' },
    body: request.body,
    onResponse: (status, text) => record(request, status, text),
  }));

async function startServer() {
  const child = fork(
    fileURLToPath(new URL('./main.mjs', import.meta.url)),
    [
      '--max-body-bytes',
      String(MAX_BODY_BYTES),
      '--threads',
      values.threads,
      // Room for every connection: a 503 would be a failed valid request here.
      '--max-queued',
      String(connections),
    ],
    { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
  );
  const exited = once(child, 'exit').then(([code]) => Promise.reject(new Error(`the server exited (${code})`)));
  const [message] = await Promise.race([once(child, 'message'), exited]);
  exited.catch(() => {}); // it exits later, on SIGTERM, which is awaited below
  return { child, url: `http://127.0.0.1:${message.listening}` };
}

async function get(url, method = 'GET') {
  const response = await fetch(url, { method });
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status}`);
  return response.json();
}

/** A timed run: when it ends, autocannon drops the requests still in flight (up to one per connection). */
function run(url, seconds) {
  return autocannon({ url, connections, duration: seconds, requests: mix, timeout: 30 });
}

/** A run of a fixed number of requests: every connection waits for all its answers, none is dropped. */
function runExactly(url, requests) {
  return autocannon({ url, connections, amount: requests, requests: mix, timeout: 30 });
}

async function readTotals(url) {
  const entries = Object.keys(MODELS).map(async (m) => [m, (await get(`${url}/v1/models/${m}`)).total]);
  return Object.fromEntries(await Promise.all(entries));
}

const { child, url } = await startServer();
const exited = once(child, 'exit');
let result;
let statsStart;
let statsEnd;
let totalsBefore;
let totalsAfter;
let exactAnswered;
let validAnswers;
let badAnswers;
try {
  if (warmupS > 0) await run(url, warmupS);
  // The measured window starts here: a fresh event-loop histogram and response counts.
  await get(`${url}/v1/stats/reset`, 'POST');
  statsStart = await get(`${url}/v1/stats`);
  for (const t of tally.values()) Object.assign(t, { answered: 0, wrong: 0 });
  result = await run(url, durationS);
  statsEnd = await get(`${url}/v1/stats`);
  validAnswers = valid.reduce((a, r) => a + tally.get(r.kind).answered, 0);
  badAnswers = bad.reduce((a, r) => a + tally.get(r.kind).answered, 0);
  // The running totals, checked exactly: what a run that drops nothing adds must be what it was answered.
  totalsBefore = await readTotals(url);
  answeredTotals = noTotals();
  await runExactly(url, mix.length * connections);
  exactAnswered = answeredTotals;
  totalsAfter = await readTotals(url);
} finally {
  child.kill('SIGTERM');
}
const [exitCode, signal] = await exited;

const MB = 1024 * 1024;
const rssGrowth = (statsEnd.rssBytes - statsStart.rssBytes) / statsStart.rssBytes;
const serverBad = Object.entries(statsEnd.responses)
  .filter(([status]) => status >= 400 && status < 500)
  .reduce((a, [, n]) => a + n, 0);
const figures = {
  machine: cpus()[0]?.model ?? 'unknown',
  cpus: cpus().length,
  node: process.version,
  backend: backend().name,
  uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE) || 4,
  threads: Number(values.threads),
  connections,
  durationS,
  warmupS,
  requestsPerSecond: result.requests.average,
  requests: result.requests.total,
  latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
  eventLoopDelayMs: statsEnd.eventLoopDelayMs,
  rssMiB: { start: statsStart.rssBytes / MB, end: statsEnd.rssBytes / MB },
  rssGrowth,
  validAnswers,
  badAnswers,
  byKind: Object.fromEntries(tally),
  wrongSamples,
  client: { errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx },
  serverResponses: statsEnd.responses,
  totals: totalsAfter,
  serverExit: { code: exitCode, signal },
};

/** The correctness facts; each failure is one line. */
const failures = [];
for (const [kind, t] of tally) {
  if (t.answered === 0) failures.push(`${kind}: no answer in the measured run`);
  if (t.wrong > 0) failures.push(`${kind}: ${t.wrong} of ${t.answered} answers wrong`);
}
if (result.errors > 0 || result.timeouts > 0)
  failures.push(`${result.errors} client errors, ${result.timeouts} timeouts`);
if (result.non2xx !== badAnswers) failures.push(`${result.non2xx} non-2xx answers for ${badAnswers} bad bodies`);
// The server may have answered (and counted) up to one request per connection that the client
// dropped at the end of the warm-up and of the measured run.
const serverBadMax = badAnswers + 2 * connections;
if (serverBad < badAnswers || serverBad > serverBadMax) {
  failures.push(`the server counted ${serverBad} 4xx answers for the ${badAnswers} bad bodies answered`);
}
for (const [model, answered] of Object.entries(exactAnswered)) {
  const before = totalsBefore[model];
  const after = totalsAfter[model];
  if (answered.batches === 0) failures.push(`${model}: no batch in the exact run`);
  if (after.batches - before.batches !== answered.batches || after.count - before.count !== answered.count) {
    failures.push(
      `${model}: the running total grew by ${after.batches - before.batches} batches / ${after.count - before.count}` +
        ` for ${answered.batches} / ${answered.count} answered`,
    );
  }
  // The order of the additions differs (server: as batches finish; here: as answers arrive).
  if (Math.abs(after.sum - before.sum - answered.sum) > 1e-9 * Math.abs(after.sum)) {
    failures.push(`${model}: the running sum grew by ${after.sum - before.sum} for ${answered.sum} answered`);
  }
}
if (exitCode !== 0) failures.push(`the server exited with ${exitCode ?? signal} after SIGTERM`);
figures.failures = failures;

const f = (x, digits = 1) => x.toFixed(digits);
console.log(`load test: ${figures.machine} (${figures.cpus} CPUs), node ${figures.node}, backend ${figures.backend}`);
console.log(
  `  ${connections} connections, ${durationS} s after ${warmupS} s of warm-up, UV_THREADPOOL_SIZE=${figures.uvThreadpoolSize}, threads=${figures.threads}`,
);
console.log(
  `  requests/s        ${f(result.requests.average)} (${result.requests.total} requests: ${validAnswers} valid, ${badAnswers} bad)`,
);
console.log(
  `  latency           p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`,
);
const eld = statsEnd.eventLoopDelayMs;
console.log(
  `  event-loop delay  p50 ${f(eld.p50, 2)} ms, p99 ${f(eld.p99, 2)} ms, max ${f(eld.max, 2)} ms (target p99 < 20 ms: ${eld.p99 < 20 ? 'met' : 'missed'})`,
);
console.log(
  `  RSS               ${f(figures.rssMiB.start)} MiB -> ${f(figures.rssMiB.end)} MiB, ${f(100 * rssGrowth)}% (target < 10%: ${rssGrowth < 0.1 ? 'met' : 'missed'})`,
);
console.log(
  `  bad bodies        ${badAnswers} sent, ${badAnswers - bad.reduce((a, r) => a + tally.get(r.kind).wrong, 0)} got their 4xx`,
);
for (const line of failures) console.log(`  FAILED: ${line}`);
for (const line of wrongSamples) console.log(`  wrong answer: ${line}`);
if (values.json) console.log(JSON.stringify(figures));
process.exitCode = failures.length > 0 ? 1 : 0;
