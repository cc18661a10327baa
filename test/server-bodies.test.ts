/**
 * The example service (examples/server) as its users run it: `node main.mjs` in a child process on
 * 127.0.0.1, once per backend (FOCAL_LOSS_BACKEND). Valid batches get the loss of a direct call;
 * every kind of bad body gets its 4xx with a one-line reason, and the next request on the same
 * connection is served; the body limit, the request timeout, backpressure and the graceful close
 * do what docs/SERVER.md says.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNative } from '../lib/backends/native/loader.js';
import type { SigmoidFocalLossOptions, SoftmaxFocalLossOptions } from '../lib/types.js';
import { backends, type TestBackend } from './backends.js';
import { mulberry32 } from './helpers.js';
import { npyHeader } from './npy-writer.js';
import { ensureExampleInstalled, exampleDir, type ExampleModels } from './server-example.js';

let MODELS: ExampleModels;

beforeAll(async () => {
  ensureExampleInstalled();
  ({ MODELS } = (await import(pathToFileURL(join(exampleDir, 'models.mjs')).href)) as { MODELS: ExampleModels });
});

interface Server {
  child: ChildProcess;
  port: number;
  stderr: () => string;
}

async function startServer(backendName: string, args: string[] = []): Promise<Server> {
  const child = fork(join(exampleDir, 'main.mjs'), args, {
    env: { ...process.env, FOCAL_LOSS_BACKEND: backendName },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const [message] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(() => Promise.reject(new Error(`the server exited: ${stderr}`))),
  ])) as [{ listening: number }];
  return { child, port: message.listening, stderr: () => stderr };
}

async function stopServer(server: Server): Promise<number | null> {
  if (server.child.exitCode !== null) return server.child.exitCode;
  const exited = once(server.child, 'exit');
  server.child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

interface Answer {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One request; `agent` keeps the connection between requests (the same socket when maxSockets is 1). */
function post(port: number, path: string, body: Uint8Array, agent?: Agent, method = 'POST'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent, headers: { 'content-length': body.length } });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const npy = (descr: string, shape: number[], data: ArrayBufferView) =>
  Buffer.concat([npyHeader(descr, shape), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);

const next = mulberry32(2026);
const logits = (n: number) => Float32Array.from({ length: n }, () => (next() - 0.5) * 10);

const detectorLogits = logits(600);
const detectorTargets = Uint8Array.from({ length: 600 }, () => (next() < 0.1 ? 1 : 0));
const softTargets = Float32Array.from({ length: 600 }, next);
const classifierLogits = logits(50 * 10);
const classifierLabels = Int32Array.from({ length: 50 }, (_, i) => (i % 7 === 0 ? -100 : Math.floor(next() * 10)));
const detectorBody = Buffer.concat([npy('<f4', [600], detectorLogits), npy('|u1', [600], detectorTargets)]);
const classifierBody = Buffer.concat([npy('<f4', [50, 10], classifierLogits), npy('<i4', [50], classifierLabels)]);

function direct(api: TestBackend['api'], model: string, x: Float32Array, labels: ArrayBufferView & ArrayLike<number>) {
  const { kind, ...options } = MODELS[model]!;
  return kind === 'sigmoid'
    ? api.sigmoidFocalLoss(x, labels as Uint8Array, options as SigmoidFocalLossOptions)
    : api.softmaxFocalLoss(x, labels as Int32Array, options as SoftmaxFocalLossOptions);
}

/** Bad bodies: what each is, where it goes, the status and a word its reason must contain. */
function badBodies(): { what: string; model: string; body: Buffer; status: number; reason: RegExp }[] {
  const logitsNpy = npy('<f4', [50, 10], classifierLogits);
  const labelsNpy = npy('<i4', [50], classifierLabels);
  return [
    { what: 'empty', model: 'detector', body: Buffer.alloc(0), status: 400, reason: /not a \.npy array/ },
    { what: 'not .npy', model: 'detector', body: Buffer.from('{"logits": [1, 2]}'), status: 400, reason: /magic/ },
    {
      what: 'cut in the header',
      model: 'classifier',
      body: logitsNpy.subarray(0, 40),
      status: 400,
      reason: /truncated \.npy header/,
    },
    {
      what: 'cut in the data',
      model: 'classifier',
      body: Buffer.concat([logitsNpy, labelsNpy.subarray(0, labelsNpy.length - 4)]),
      status: 400,
      reason: /labels: truncated/,
    },
    { what: 'one array only', model: 'classifier', body: logitsNpy, status: 400, reason: /labels: missing/ },
    {
      what: 'bytes after the arrays',
      model: 'classifier',
      body: Buffer.concat([classifierBody, Buffer.alloc(3)]),
      status: 400,
      reason: /3 bytes after/,
    },
    {
      what: 'float64 logits',
      model: 'classifier',
      body: Buffer.concat([npy('<f8', [50, 10], Float64Array.from(classifierLogits)), labelsNpy]),
      status: 400,
      reason: /logits: dtype '<f8'/,
    },
    {
      what: 'int64 labels',
      model: 'classifier',
      body: Buffer.concat([logitsNpy, npy('<i8', [50], BigInt64Array.from(classifierLabels, BigInt))]),
      status: 400,
      reason: /labels: dtype '<i8'/,
    },
    {
      what: 'uint8 labels for softmax',
      model: 'classifier',
      body: Buffer.concat([logitsNpy, npy('|u1', [50], new Uint8Array(50))]),
      status: 400,
      reason: /labels: dtype '\|u1'/,
    },
    {
      what: 'big-endian logits',
      model: 'detector',
      body: Buffer.concat([npy('>f4', [600], detectorLogits), npy('|u1', [600], detectorTargets)]),
      status: 400,
      reason: /dtype '>f4'/,
    },
    {
      what: 'Fortran order',
      model: 'classifier',
      body: Buffer.concat([
        Buffer.concat([npyHeader('<f4', [50, 10], { fortranOrder: true }), Buffer.from(classifierLogits.buffer)]),
        labelsNpy,
      ]),
      status: 400,
      reason: /Fortran/,
    },
    {
      what: 'format version 3.0',
      model: 'classifier',
      body: Buffer.concat([
        npyHeader('<f4', [50, 10], { version: 3 }),
        Buffer.from(classifierLogits.buffer),
        labelsNpy,
      ]),
      status: 400,
      reason: /version 3\.0/,
    },
    {
      what: 'a header that is not a dict',
      model: 'classifier',
      body: Buffer.concat([npyHeader('<f4', [1], { dict: "['descr', '<f4']" }), labelsNpy]),
      status: 400,
      reason: /not a dict/,
    },
    {
      what: 'an unknown key',
      model: 'classifier',
      body: Buffer.concat([
        npyHeader('<f4', [1], { dict: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}" }),
        labelsNpy,
      ]),
      status: 400,
      reason: /malformed \.npy header/,
    },
    {
      what: 'a key twice',
      model: 'classifier',
      body: Buffer.concat([
        npyHeader('<f4', [1], { dict: "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}" }),
        labelsNpy,
      ]),
      status: 400,
      reason: /twice/,
    },
    {
      what: 'a missing key',
      model: 'classifier',
      body: Buffer.concat([npyHeader('<f4', [1], { dict: "{'descr': '<f4', 'shape': (1,)}" }), labelsNpy]),
      status: 400,
      reason: /needs 'descr'/,
    },
    {
      what: 'a shape beyond the body',
      model: 'classifier',
      body: Buffer.concat([npyHeader('<f4', [2 ** 40, 10]), labelsNpy]),
      status: 400,
      reason: /logits: truncated/,
    },
    {
      what: 'a header length beyond the body',
      model: 'classifier',
      body: Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0xff, 0xff, 0xff, 0x7f]),
      status: 400,
      reason: /too long/,
    },
    {
      what: 'softmax logits of the wrong width',
      model: 'classifier',
      body: Buffer.concat([npy('<f4', [50, 5], classifierLogits.subarray(0, 250)), labelsNpy]),
      status: 400,
      reason: /logits: shape \(50, 5\) is not \(N, 10\)/,
    },
    {
      what: 'one label too many',
      model: 'classifier',
      body: Buffer.concat([logitsNpy, npy('<i4', [51], new Int32Array(51))]),
      status: 400,
      reason: /labels: shape \(51\) is not \(50,\)/,
    },
    {
      what: 'sigmoid targets of another length',
      model: 'detector',
      body: Buffer.concat([npy('<f4', [600], detectorLogits), npy('|u1', [599], detectorTargets.subarray(0, 599))]),
      status: 400,
      reason: /599 targets for 600 logits/,
    },
    {
      what: 'a label out of range',
      model: 'classifier',
      body: Buffer.concat([logitsNpy, npy('<i4', [50], new Int32Array(50).fill(10))]),
      status: 400,
      reason: /labels/,
    },
    {
      what: 'NaN logits (not counted in the total)',
      model: 'detector',
      body: Buffer.concat([npy('<f4', [600], new Float32Array(600).fill(NaN)), npy('|u1', [600], detectorTargets)]),
      status: 400,
      reason: /logits: element 0 is NaN; logits must be finite/,
    },
    {
      what: 'an infinite logit',
      model: 'classifier',
      body: Buffer.concat([
        npy(
          '<f4',
          [50, 10],
          classifierLogits.map((x, i) => (i === 0 ? -Infinity : x)),
        ),
        npy('<i4', [50], new Int32Array(50)),
      ]),
      status: 400,
      reason: /logits: element 0 is -Infinity; logits must be finite/,
    },
    {
      what: 'a soft target above 1',
      model: 'detector',
      body: Buffer.concat([npy('<f4', [600], detectorLogits), npy('<f4', [600], new Float32Array(600).fill(1.5))]),
      status: 400,
      reason: /targets/,
    },
  ];
}

const names = backends
  .map((b) => b.name)
  .filter((name) => process.env.FOCAL_LOSS_BACKEND === undefined || process.env.FOCAL_LOSS_BACKEND === name);
const byName = new Map(backends.map((b) => [b.name, b]));

describe.each(names)('example server, FOCAL_LOSS_BACKEND=%s', (backendName) => {
  const api = byName.get(backendName)!.api;
  let server: Server;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });

  beforeAll(async () => {
    server = await startServer(backendName);
  });
  afterAll(async () => {
    agent.destroy();
    expect(await stopServer(server)).toBe(0);
  });

  it('answers the loss a direct call gives, and keeps the running total', async () => {
    const softBody = Buffer.concat([npy('<f4', [600], detectorLogits), npy('<f4', [600], softTargets)]);
    const batches = [
      { model: 'detector', body: detectorBody, expected: direct(api, 'detector', detectorLogits, detectorTargets) },
      { model: 'detector', body: softBody, expected: direct(api, 'detector', detectorLogits, softTargets) },
      {
        model: 'classifier',
        body: classifierBody,
        expected: direct(api, 'classifier', classifierLogits, classifierLabels),
      },
    ];
    // What the totals must be: one meter per model over the same batches, in this process.
    const meters: Record<string, { meter: ReturnType<typeof api.focalLossMeter>; batches: number }> = {};
    const data = [
      [detectorLogits, detectorTargets],
      [detectorLogits, softTargets],
      [classifierLogits, classifierLabels],
    ] as const;
    for (const [i, { model, body, expected }] of batches.entries()) {
      const answer = await post(server.port, `/v1/models/${model}/loss`, body, agent);
      expect(answer.status, answer.text).toBe(200);
      const json = JSON.parse(answer.text);
      expect(json.loss).toBe(expected.loss); // the same bits as the direct call
      expect(json.count).toBe(expected.count);
      const { kind, ...options } = MODELS[model]!;
      const m = (meters[model] ??= { meter: api.focalLossMeter(kind, options), batches: 0 });
      m.meter.add(data[i]![0], data[i]![1]);
      m.batches += 1;
    }
    expect(batches[2]!.expected.count).toBe(50 - 8); // the ignored samples do not count
    for (const [model, { meter, batches: n }] of Object.entries(meters)) {
      const answer = await post(server.port, `/v1/models/${model}`, Buffer.alloc(0), agent, 'GET');
      const { total } = JSON.parse(answer.text);
      const r = meter.result();
      // The server's meter and this one hold the same values: the same bits, in any order.
      expect(total).toEqual({ sum: r.sum, count: r.count, batches: n, mean: r.loss, crossEntropy: r.crossEntropy });
    }
  });

  it('reads arrays whose data are not aligned (a header padded by another writer)', async () => {
    // A version 1.0 header of 10 + 67 bytes: the logits start at byte 77, not a multiple of 4 (the
    // targets that follow are unaligned too); numpy pads to 64 bytes, other writers need not.
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (600,), }";
    const text = dict.padEnd(66, ' ') + '\n';
    const prefix = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, text.length, 0]);
    const head = Buffer.concat([prefix, Buffer.from(text, 'latin1')]);
    expect(head.length % 4).not.toBe(0);
    const body = Buffer.concat([head, Buffer.from(detectorLogits.buffer), npy('|u1', [600], detectorTargets)]);
    const answer = await post(server.port, '/v1/models/detector/loss', body, agent);
    expect(answer.status, answer.text).toBe(200);
    expect(JSON.parse(answer.text).loss).toBe(direct(api, 'detector', detectorLogits, detectorTargets).loss);
  });

  it.each(badBodies())(
    'refuses $what with $status and a one-line reason, counts nothing, then serves the next request',
    async (bad) => {
      const total = async () =>
        (await post(server.port, `/v1/models/${bad.model}`, Buffer.alloc(0), agent, 'GET')).text;
      const before = await total();
      const answer = await post(server.port, `/v1/models/${bad.model}/loss`, bad.body, agent);
      expect(answer.status, answer.text).toBe(bad.status);
      expect(answer.text).toMatch(bad.reason);
      expect(answer.text.trimEnd()).not.toContain('\n');
      expect(await total()).toBe(before);
      const after = await post(server.port, '/v1/models/detector/loss', detectorBody, agent);
      expect(after.status, after.text).toBe(200);
    },
  );

  it('refuses unknown models, routes and methods', async () => {
    expect((await post(server.port, '/v1/models/nope/loss', detectorBody, agent)).status).toBe(404);
    expect((await post(server.port, '/v2/anything', detectorBody, agent)).status).toBe(404);
    const wrongMethod = await post(server.port, '/v1/models/detector/loss', Buffer.alloc(0), agent, 'GET');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('POST');
    expect((await post(server.port, '/v1/models/%zz', Buffer.alloc(0), agent, 'GET')).status).toBe(400);
  });
});

/** A raw connection, for requests that arrive slowly or not at all. */
async function rawConnection(
  port: number,
): Promise<{ socket: Socket; received: () => string; closed: Promise<unknown> }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => (text += chunk));
  return { socket, received: () => text, closed: once(socket, 'close') };
}

function startRequest(socket: Socket, path: string, body: Buffer, sendBytes: number): void {
  socket.write(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: ${body.length}\r\n\r\n`);
  socket.write(body.subarray(0, sendBytes));
}

// The limits are the server's own (the same code on both backends): one backend is enough.
const limitsBackend = names.includes('native') && loadNative().kernels ? 'native' : 'js';

describe(`example server limits, FOCAL_LOSS_BACKEND=${limitsBackend}`, () => {
  it('refuses a body over the limit, declared or chunked, at once', async () => {
    const server = await startServer(limitsBackend, ['--max-body-bytes', '4096']);
    try {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const declared = await post(server.port, '/v1/models/detector/loss', Buffer.alloc(4097), agent);
      expect(declared.status).toBe(413);
      expect(declared.text).toMatch(/body of 4097 bytes is over the limit of 4096/);
      const chunked = await new Promise<Answer>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.port, path: '/v1/models/detector/loss', method: 'POST' });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, text, headers: res.headers }));
        });
        req.on('error', reject);
        for (let i = 0; i < 10; i++) req.write(Buffer.alloc(1000));
        req.end();
      });
      expect(chunked.status).toBe(413);
      expect(chunked.text).toMatch(/over the limit of 4096/);
      // The connection of the declared one was kept and is usable.
      expect((await post(server.port, '/v1/models/detector/loss', detectorBody.subarray(0, 2000), agent)).status).toBe(
        400,
      );
      agent.destroy();
    } finally {
      expect(await stopServer(server)).toBe(0);
    }
  });

  it('answers 408 and closes a request whose body does not arrive in time', async () => {
    const server = await startServer(limitsBackend, ['--request-timeout-ms', '300']);
    try {
      const slow = await rawConnection(server.port);
      const started = Date.now();
      startRequest(slow.socket, '/v1/models/detector/loss', detectorBody, 100);
      await slow.closed;
      expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
      // A generous bound, only to tell the 300 ms timeout from Node's default check every 30 s.
      expect(Date.now() - started).toBeLessThan(15_000);
      expect((await post(server.port, '/v1/models/detector/loss', detectorBody)).status).toBe(200);
    } finally {
      expect(await stopServer(server)).toBe(0);
    }
  });

  it('answers 503 when every place is taken, and serves again once one is free', async () => {
    const server = await startServer(limitsBackend, ['--max-in-flight', '1', '--max-queued', '1']);
    try {
      const held = [await rawConnection(server.port), await rawConnection(server.port)];
      for (const h of held) startRequest(h.socket, '/v1/models/detector/loss', detectorBody, 100);
      await new Promise((resolve) => setTimeout(resolve, 200)); // both admitted, bodies pending
      const busy = await post(server.port, '/v1/models/detector/loss', detectorBody);
      expect(busy.status).toBe(503);
      expect(busy.headers['retry-after']).toBe('1');
      for (const h of held) h.socket.write(detectorBody.subarray(100));
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const h of held) expect(h.received()).toMatch(/^HTTP\/1\.1 200 /);
      expect((await post(server.port, '/v1/models/detector/loss', detectorBody)).status).toBe(200);
      for (const h of held) h.socket.destroy();
    } finally {
      expect(await stopServer(server)).toBe(0);
    }
  });

  it('closes gracefully: a request in progress is answered, then the process exits 0', async () => {
    const server = await startServer(limitsBackend);
    const inProgress = await rawConnection(server.port);
    startRequest(inProgress.socket, '/v1/models/detector/loss', detectorBody, 100);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const exited = once(server.child, 'exit');
    server.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    // No new connections once closing...
    await expect(post(server.port, '/v1/models/detector/loss', detectorBody)).rejects.toThrow(/ECONNREFUSED/);
    // ...but the one in progress gets its answer, and its connection closes after it.
    inProgress.socket.write(detectorBody.subarray(100));
    await inProgress.closed;
    expect(inProgress.received()).toMatch(/^HTTP\/1\.1 200 [^]*connection: close/i);
    expect(await exited).toEqual([0, null]);
  });
});
