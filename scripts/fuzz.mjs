#!/usr/bin/env node
// npm run fuzz: the property and fuzz suites (test/property.test.ts, test/fuzz.test.ts) with
// FOCAL_LOSS_FUZZ_RUNS cases per backend (default 100,000; `npm test` runs 10,000), then prints how
// many cases ran, per backend and per property. Extra arguments go to vitest.
//
//   npm run fuzz
//   FOCAL_LOSS_FUZZ_RUNS=1000000 FOCAL_LOSS_FUZZ_SEED=7 npm run fuzz
//
// Exits with vitest's status, or 1 when a backend ran fewer cases than asked.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const runs = process.env.FOCAL_LOSS_FUZZ_RUNS || '100000';
const reportDir = mkdtempSync(join(tmpdir(), 'focal-loss-fuzz-'));
const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

const started = Date.now();
const run = spawnSync(
  process.execPath,
  [vitest, 'run', 'test/property.test.ts', 'test/fuzz.test.ts', ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, FOCAL_LOSS_FUZZ_RUNS: runs, FOCAL_LOSS_FUZZ_REPORT: reportDir },
  },
);

const perBackend = new Map();
for (const file of readdirSync(reportDir)) {
  const report = JSON.parse(readFileSync(join(reportDir, file), 'utf8'));
  for (const [backend, properties] of Object.entries(report.counts)) {
    const rows = perBackend.get(backend) ?? [];
    for (const [property, n] of Object.entries(properties)) rows.push([`${report.file}: ${property}`, n]);
    perBackend.set(backend, rows);
  }
}
rmSync(reportDir, { recursive: true, force: true });

console.log(
  `\nfocal-loss fuzz: FOCAL_LOSS_FUZZ_RUNS=${runs}, seed ${process.env.FOCAL_LOSS_FUZZ_SEED || 'default'}, ${((Date.now() - started) / 1000).toFixed(0)} s`,
);
let short = false;
for (const [backend, rows] of perBackend) {
  const total = rows.reduce((sum, [, n]) => sum + n, 0);
  console.log(`  ${backend}: ${total.toLocaleString('en-US')} cases`);
  for (const [property, n] of rows) console.log(`    ${n.toLocaleString('en-US').padStart(9)}  ${property}`);
  if (total < Number(runs)) short = true;
}
if (perBackend.size === 0) console.log('  no counts were reported (did the suites run?)');
process.exit(run.status !== 0 ? (run.status ?? 1) : short || perBackend.size === 0 ? 1 : 0);
