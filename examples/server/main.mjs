#!/usr/bin/env node
/**
 * Starts the example service: `node main.mjs [--port 0] [--max-body-bytes N] [--max-in-flight N]
 * [--max-queued N] [--threads N] [--request-timeout-ms N]`. It prints `listening on
 * http://127.0.0.1:<port>` and, when started with an IPC channel (child_process.fork), sends
 * `{ listening: port }`. SIGINT or SIGTERM closes it gracefully (docs/SERVER.md).
 */
import { parseArgs } from 'node:util';
import { createLossServer, DEFAULTS } from './app.mjs';
import { MODELS } from './models.mjs';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'max-body-bytes': { type: 'string', default: String(DEFAULTS.maxBodyBytes) },
    'max-in-flight': { type: 'string', default: String(DEFAULTS.maxInFlight) },
    'max-queued': { type: 'string', default: String(DEFAULTS.maxQueued) },
    threads: { type: 'string', default: String(DEFAULTS.threads) },
    'request-timeout-ms': { type: 'string', default: String(DEFAULTS.requestTimeoutMs) },
  },
});

/** A non-negative integer option, or exit with a message naming it. */
function integer(name, min) {
  const text = values[name];
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    console.error(`--${name}: expected an integer >= ${min}, got '${text}'`);
    process.exit(2);
  }
  return value;
}

const service = createLossServer({
  models: MODELS,
  maxBodyBytes: integer('max-body-bytes', 1),
  maxInFlight: integer('max-in-flight', 1),
  maxQueued: integer('max-queued', 0),
  threads: integer('threads', 1),
  requestTimeoutMs: integer('request-timeout-ms', 1),
});
const port = await service.listen(integer('port', 0));
console.log(`listening on http://127.0.0.1:${port}`);
process.send?.({ listening: port });

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    await service.close();
    process.disconnect?.();
    console.log('closed');
  });
}
