/**
 * The load test of the example service (examples/server/load-test.mjs), in its short CI mode: a
 * few seconds of warm-up and of load with a mix of valid batches and bad bodies, on the backend
 * this run tests (FOCAL_LOSS_BACKEND, else native when the addon is built). The script checks every
 * answer; here its correctness facts are asserted and its timing figures printed, not asserted
 * (the machine is shared: docs/SERVER.md has the figures of a full 60 s run).
 *
 * Run alone, not by `npm test`: `npx vitest run --config vitest.load.config.ts` (a CI step of its own).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { loadNative } from '../lib/backends/native/loader.js';
import { ensureExampleInstalled, exampleDir } from './server-example.js';

const backendName = process.env.FOCAL_LOSS_BACKEND ?? (loadNative().kernels ? 'native' : 'js');
const DURATION_S = 8;
const WARMUP_S = 3;

beforeAll(() => ensureExampleInstalled());

interface Figures {
  backend: string;
  requestsPerSecond: number;
  validAnswers: number;
  badAnswers: number;
  byKind: Record<string, { answered: number; wrong: number }>;
  client: { errors: number; timeouts: number; non2xx: number };
  serverExit: { code: number | null; signal: string | null };
  failures: string[];
}

it(`load test (${DURATION_S} s, FOCAL_LOSS_BACKEND=${backendName}): every valid batch answered right, every bad body 4xx`, async () => {
  const child = spawn(
    process.execPath,
    [join(exampleDir, 'load-test.mjs'), '--duration', String(DURATION_S), '--warmup', String(WARMUP_S), '--json'],
    { cwd: exampleDir, env: { ...process.env, FOCAL_LOSS_BACKEND: backendName }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => (out += chunk));
  const code = await new Promise((resolve) => child.on('close', resolve));
  const lines = out.trimEnd().split('\n');
  // The figures, for the CI log (what the script printed, without its JSON line).
  console.log(lines.slice(0, -1).join('\n'));
  const figures = JSON.parse(lines.at(-1)!) as Figures;

  expect(figures.backend).toBe(backendName);
  expect(figures.failures).toEqual([]);
  expect(code).toBe(0);
  // The facts behind an empty list of failures, stated once more where a reader looks for them.
  expect(figures.validAnswers).toBeGreaterThan(0);
  expect(figures.badAnswers).toBeGreaterThan(0);
  for (const [kind, t] of Object.entries(figures.byKind)) {
    expect(t.answered, kind).toBeGreaterThan(0);
    expect(t.wrong, kind).toBe(0);
  }
  expect(figures.client).toEqual({ errors: 0, timeouts: 0, non2xx: figures.badAnswers });
  expect(figures.serverExit).toEqual({ code: 0, signal: null });
}, 120_000);
