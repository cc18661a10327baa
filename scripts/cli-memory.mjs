#!/usr/bin/env node
// Measures `focal-loss eval` on a large .npy file once: peak resident memory and wall time.
//
//   node scripts/cli-memory.mjs [megabytes=2048] [extra eval flags...]
//
// Writes softmax logits [rows, 10] float32 (the given size) and uint8 labels [rows] to a temporary
// directory, runs the compiled CLI (dist/, so build first) in a child process whose peak RSS is read
// from process.resourceUsage() at exit, prints the figures and deletes the files. FOCAL_LOSS_BACKEND
// is passed through to the child.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const megabytes = Number(process.argv[2] ?? 2048);
const extra = process.argv.slice(3);
const classes = 10;
const blockRows = 26_214; // ~1 MiB of float32 logits per block
const repeat = Math.max(1, Math.round((megabytes * 2 ** 20) / (blockRows * classes * 4)));
const rows = blockRows * repeat;
const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

function header(descr, shape) {
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tuple}, }`;
  const padded = dict + ' '.repeat((64 - ((10 + dict.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(padded.length, 8);
  return Buffer.concat([head, Buffer.from(padded, 'latin1')]);
}

function writeRepeated(path, descr, shape, block) {
  const fd = openSync(path, 'w');
  writeSync(fd, header(descr, shape));
  const bytes = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
  for (let i = 0; i < repeat; i++) writeSync(fd, bytes);
  closeSync(fd);
}

let seed = 1;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const dir = mkdtempSync(join(tmpdir(), 'focal-loss-memory-'));
try {
  const z = Float32Array.from({ length: blockRows * classes }, () => (random() - 0.5) * 8);
  const y = Uint8Array.from({ length: blockRows }, () => Math.floor(random() * classes));
  writeRepeated(join(dir, 'z.npy'), '<f4', [rows, classes], z);
  writeRepeated(join(dir, 'y.npy'), '|u1', [rows], y);
  writeFileSync(
    join(dir, 'rss.cjs'),
    "process.on('exit', () => process.stderr.write(`maxRSS=${process.resourceUsage().maxRSS}\\n`));\n",
  );
  const start = process.hrtime.bigint();
  const r = spawnSync(
    process.execPath,
    [
      '--require',
      join(dir, 'rss.cjs'),
      cli,
      'eval',
      '--logits',
      join(dir, 'z.npy'),
      '--labels',
      join(dir, 'y.npy'),
      '--json',
      ...extra,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`focal-loss eval failed (${r.status}): ${r.stderr}`);
  const report = JSON.parse(r.stdout);
  const peak = Number(/maxRSS=(\d+)/.exec(r.stderr)[1]) / 1024;
  const fileMB = (rows * classes * 4) / 2 ** 20;
  console.log(
    `logits ${fileMB.toFixed(0)} MiB [${rows}, ${classes}] float32, backend ${report.backend}: ` +
      `peak RSS ${peak.toFixed(0)} MiB, ${seconds.toFixed(1)} s ` +
      `(${((rows * classes) / seconds / 1e6).toFixed(0)} M logits/s), ` +
      `mean focal loss ${report.focalLoss.toPrecision(6)}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
