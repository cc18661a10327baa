// The emulated half of the arm64 suite (test/arm64/neon.arm64.ts): runs under the arm64 Node in
// qemu-aarch64 and only computes, so that the slow emulated process does nothing the x86-64 host can
// do (the decimal.js reference and the comparisons stay on the host). Plain JavaScript, no
// dependencies: Node 20 runs it as it is.
//
//   node runner.mjs <package entry URL> <cases.json> <results.json>
//
// Every case is computed at every SIMD level the addon reports (scalar and neon on arm64) with one
// thread; the thread cases at 1, 2 and 3 threads; the async cases through the async functions.
// Arrays travel as base64 of their bytes, so the host sees the exact bits.
import { readFileSync, writeFileSync } from 'node:fs';

const [entry, casesFile, resultsFile] = process.argv.slice(2);
const lib = await import(entry);
const ARRAYS = { Float32Array, Float64Array, Uint8Array, Int8Array, Uint16Array, Int16Array, Int32Array, Uint32Array };

const decode = ({ type, data }) => {
  const bytes = Buffer.from(data, 'base64');
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new ARRAYS[type](copy.buffer);
};
const encode = (value) =>
  typeof value === 'number'
    ? { number: Object.is(value, -0) ? '-0' : String(value) }
    : {
        type: value.constructor.name,
        data: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'),
      };
const pack = (r) => ({ loss: encode(r.loss), grad: r.grad ? encode(r.grad) : null, count: r.count });

const { cases, threadCases, asyncCases } = JSON.parse(readFileSync(casesFile, 'utf8'));
const info = lib.backend();
const call = (c, extra, suffix = '') =>
  lib[`${c.fn}FocalLoss${suffix}`](decode(c.logits), decode(c.targets), { ...c.options, ...extra });

const started = Date.now();
const results = {};
for (const c of cases) {
  results[c.id] = {};
  for (const simd of info.simdLevels) results[c.id][simd] = pack(call(c, { simd, threads: 1 }));
}
const threads = {};
for (const c of threadCases) {
  threads[c.id] = {};
  for (const simd of info.simdLevels) {
    threads[c.id][simd] = [1, 2, 3].map((n) => pack(call(c, { simd, threads: n })));
  }
}
const asyncResults = {};
for (const c of asyncCases) {
  asyncResults[c.id] = {
    async: pack(await call(c, {}, 'Async')),
    sync: pack(call(c, {})),
  };
}
writeFileSync(
  resultsFile,
  JSON.stringify({ backend: info, arch: process.arch, ms: Date.now() - started, results, threads, asyncResults }),
);
