/**
 * An HTTP service that answers the focal loss of a batch with the library's async API, and keeps a
 * running total per model. node:http rather than a framework: the service is four routes, and what
 * matters here (bounded bodies read into one buffer, refusing early, timeouts, a graceful close) is
 * a few lines on node:http, with nothing between the socket and the library to measure around.
 *
 * Routes (docs/SERVER.md describes them and the wire format):
 *   POST /v1/models/<name>/loss   a batch: two .npy arrays (logits, then labels or targets)
 *   GET  /v1/models/<name>        the model's running total
 *   GET  /v1/stats                event-loop delay, RSS, admission counts, responses by status
 *   POST /v1/stats/reset          starts a new measurement window for the event-loop delay and counts
 */
import { createServer, STATUS_CODES } from 'node:http';
import { endianness } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Gate } from './gate.mjs';
import { BadBody, readBatch } from './npy-body.mjs';
import { RunningTotals } from './totals.mjs';

/** The status of a request that never reached the handler (Node's parser or timers refused it). */
const CLIENT_ERROR_STATUS = { HPE_HEADER_OVERFLOW: 431, ERR_HTTP_REQUEST_TIMEOUT: 408 };

/** What each kind of model accepts as its second array. */
const LABEL_DESCRS = { sigmoid: ['<f4', '|u1'], softmax: ['<i4'] };

export const DEFAULTS = {
  /** The largest body accepted; larger ones get 413 before they are read. */
  maxBodyBytes: 8 * 1024 * 1024,
  /** The whole request (headers and body) must arrive within this; else 408 and the connection closes. */
  requestTimeoutMs: 10_000,
  /** Batches computed at once: the libuv thread pool's size by default (each async call takes one of its threads). */
  maxInFlight: Number(process.env.UV_THREADPOOL_SIZE) || 4,
  /** Requests admitted beyond those (receiving their body or waiting); more get 503. */
  maxQueued: 16,
  /** The `threads` option of each call: 1, since concurrent requests already fill the cores. */
  threads: 1,
  /** How long a graceful close waits for requests in progress before it closes their connections. */
  shutdownGraceMs: 10_000,
};

/**
 * @param {{ models: Record<string, { kind: 'sigmoid' | 'softmax', numClasses?: number, gamma?: number,
 *   alpha?: number | number[], ignoreIndex?: number }> } & Partial<typeof DEFAULTS>} options
 */
export function createLossServer(options) {
  if (endianness() !== 'LE') throw new Error('the wire format is little-endian; this machine is not');
  const config = { ...DEFAULTS, ...options };
  const models = new Map(Object.entries(config.models));
  const totals = new RunningTotals(models, config.threads);
  const gate = new Gate(config.maxInFlight, config.maxQueued);
  // Sampled every 1 ms: each value is the whole interval between two samples, so it overstates the
  // delay by up to 1 ms (at the default 10 ms the floor would be 10 ms, half the 20 ms target).
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  /** @type {Record<number, number>} */
  let responses = {};
  let since = Date.now();
  let closing = false;

  /**
   * @param {import('node:http').ServerResponse} res
   * @param {number} status
   * @param {unknown} body an object (sent as JSON) or a one-line reason (sent as text)
   */
  function send(res, status, body, headers = {}) {
    responses[status] = (responses[status] ?? 0) + 1;
    const text = typeof body === 'string' ? `${body}\n` : `${JSON.stringify(body)}\n`;
    res.writeHead(status, {
      'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
      'content-length': Buffer.byteLength(text),
      ...(closing ? { connection: 'close' } : {}),
      ...headers,
    });
    res.end(text);
  }

  async function handleLoss(req, res, name, model) {
    if (!gate.tryAdmit()) {
      req.resume(); // discard the body: the connection stays usable for the retry
      send(res, 503, `busy: ${gate.counts.admitted} requests admitted, retry later`, { 'retry-after': '1' });
      return;
    }
    try {
      const bytes = await readBody(req, config.maxBodyBytes);
      const { logits, labels } = readBatch(bytes, LABEL_DESCRS[model.kind]);
      checkBatch(model, logits, labels);
      // The client going away before the answer (a closed connection) aborts the computation.
      const abort = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) abort.abort();
      });
      await gate.turn();
      let batch;
      try {
        batch = await totals.add(name, logits.array, labels.array, abort.signal);
      } finally {
        gate.done();
      }
      send(res, 200, { model: name, loss: batch.loss, sum: batch.sum, count: batch.count, total: totals.read(name) });
    } catch (error) {
      if (error instanceof BadBody) send(res, error.status, error.message);
      else if (isArgumentError(error)) send(res, 400, firstLine(error.message));
      else if (error instanceof BodyAborted || error?.name === 'AbortError') res.destroy();
      else {
        console.error(`focal-loss server: ${req.method} ${req.url}: ${error?.stack ?? error}`);
        send(res, 500, 'internal error');
      }
    } finally {
      gate.leave();
    }
  }

  function handle(req, res) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const modelRoute = /^\/v1\/models\/([^/]+)(\/loss)?$/.exec(url.pathname);
    if (modelRoute) {
      const name = decodeURIComponent(modelRoute[1]);
      const model = models.get(name);
      const method = modelRoute[2] ? 'POST' : 'GET';
      if (!model) return refuse(req, res, 404, `no model '${name}' (models: ${[...models.keys()].join(', ')})`);
      if (req.method !== method) return refuse(req, res, 405, `use ${method}`, { allow: method });
      if (method === 'GET') return send(res, 200, { model: name, total: totals.read(name) });
      return handleLoss(req, res, name, model);
    }
    if (url.pathname === '/v1/stats' && req.method === 'GET') return send(res, 200, stats());
    if (url.pathname === '/v1/stats/reset' && req.method === 'POST') {
      req.resume();
      delay.reset();
      responses = {};
      since = Date.now();
      return send(res, 200, { reset: true });
    }
    return refuse(req, res, 404, `no route ${req.method} ${url.pathname}`);
  }

  /** Answers a request without reading its body (discarded, so the connection stays usable). */
  function refuse(req, res, status, reason, headers) {
    req.resume();
    send(res, status, reason, headers);
  }

  function stats() {
    const ms = (ns) => ns / 1e6;
    return {
      windowMs: Date.now() - since,
      eventLoopDelayMs: {
        p50: ms(delay.percentile(50)),
        p99: ms(delay.percentile(99)),
        max: ms(delay.max),
        mean: ms(delay.mean),
      },
      rssBytes: process.memoryUsage.rss(),
      gate: gate.counts,
      responses,
    };
  }

  const server = createServer(
    {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.requestTimeoutMs,
      // How often Node checks those timeouts (30 s by default, which would stretch a 10 s timeout to 40 s).
      connectionsCheckingInterval: Math.min(1000, config.requestTimeoutMs),
    },
    (req, res) => {
      let handled;
      try {
        handled = handle(req, res);
      } catch (error) {
        // A bad URL (decodeURIComponent of '%zz') and the like: the request's fault.
        refuse(req, res, 400, `bad request: ${firstLine(String(error?.message ?? error))}`);
        return;
      }
      // handleLoss answers its own errors; anything that escapes it must not end the process.
      Promise.resolve(handled).catch((error) => {
        console.error(`focal-loss server: ${req.method} ${req.url}: ${error?.stack ?? error}`);
        res.destroy();
      });
    },
  );
  // A client that sends garbage instead of HTTP: answer 400 if the socket can still take it.
  server.on('clientError', (error, socket) => {
    if (socket.writable && !socket.writableEnded) {
      const status = CLIENT_ERROR_STATUS[error.code] ?? 400;
      const reason = `${firstLine(error.message)}\n`;
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\n` +
          `content-length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`,
      );
    } else socket.destroy();
  });

  return {
    server,
    /**
     * Listens on 127.0.0.1 (only: the service has no authentication) at `port` (0: any free port).
     *
     * @param {number} [port]
     * @returns {Promise<number>} the port
     */
    listen(port = 0) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve(/** @type {import('node:net').AddressInfo} */ (server.address()).port);
        });
      });
    },
    /**
     * Graceful close: stops accepting connections, closes the idle ones, lets requests in progress
     * finish (their answers say `connection: close`), and after shutdownGraceMs closes what is left.
     *
     * @returns {Promise<void>}
     */
    close() {
      closing = true;
      return new Promise((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          delay.disable();
          resolve();
        });
        server.closeIdleConnections();
      });
    },
    totals,
    stats,
  };
}

/** The client went away before its body was complete: nothing to answer. */
class BodyAborted extends Error {}

/**
 * The body as one Uint8Array of its own (offset 0, so the arrays in it are aligned as the sender
 * laid them out). A declared length above `limit` is refused before anything is read; a chunked body
 * that grows past it is refused as it passes. Either way the rest is discarded as it arrives, so the
 * refusal goes out at once and the connection stays usable.
 *
 * @param {import('node:http').IncomingMessage} req
 * @param {number} limit
 * @returns {Promise<Uint8Array>}
 */
function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      req.resume();
      reject(new BadBody(413, `body of ${declared} bytes is over the limit of ${limit}`));
      return;
    }
    // With a declared length the chunks go straight into their final place; chunked bodies are joined at the end.
    const whole = declared !== undefined ? new Uint8Array(Number(declared)) : null;
    /** @type {Buffer[]} */
    let chunks = [];
    let received = 0;
    let refused = false;
    req.on('data', (chunk) => {
      if (refused) return;
      if (received + chunk.length > limit) {
        refused = true;
        chunks = [];
        reject(new BadBody(413, `body over the limit of ${limit} bytes`));
        return;
      }
      if (whole) whole.set(chunk, received);
      else chunks.push(chunk);
      received += chunk.length;
    });
    req.on('end', () => {
      if (refused) return;
      if (whole) resolve(whole);
      else {
        const joined = new Uint8Array(received);
        let at = 0;
        for (const chunk of chunks) {
          joined.set(chunk, at);
          at += chunk.length;
        }
        resolve(joined);
      }
    });
    // Closed before the end (the client went away, or the request timeout closed the connection).
    req.on('close', () => {
      if (!req.complete) reject(new BodyAborted());
    });
    req.on('error', () => reject(new BodyAborted()));
  });
}

/**
 * The batch's shapes against the model (the reason names the shapes; the library checks the values:
 * a label out of range is its RangeError), and finite logits: finite logits always give a finite
 * loss, while a NaN or infinite one would poison the running total for good.
 */
function checkBatch(model, logits, labels) {
  if (model.kind === 'sigmoid') {
    if (labels.array.length !== logits.array.length) {
      throw new BadBody(400, `labels: ${labels.array.length} targets for ${logits.array.length} logits`);
    }
  } else {
    const [n, c] = logits.shape;
    if (logits.shape.length !== 2 || c !== model.numClasses) {
      throw new BadBody(400, `logits: shape (${logits.shape.join(', ')}) is not (N, ${model.numClasses})`);
    }
    if (labels.shape.length !== 1 || labels.shape[0] !== n) {
      throw new BadBody(400, `labels: shape (${labels.shape.join(', ')}) is not (${n},)`);
    }
  }
  const x = logits.array;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new BadBody(400, `logits: element ${i} is ${x[i]}; logits must be finite`);
  }
}

/** The library's TypeError / RangeError for a bad argument or element (they carry a `code`). */
function isArgumentError(error) {
  return (error instanceof TypeError || error instanceof RangeError) && typeof error.code === 'string';
}

function firstLine(text) {
  return text.split('\n', 1)[0];
}
