/**
 * Settings shared by the property and fuzz suites (test/property.test.ts, test/fuzz.test.ts).
 *
 * - FOCAL_LOSS_FUZZ_RUNS: how many cases per backend the two files aim for together (default
 *   10,000, which `npm test` runs in well under a minute on 2 cores). `npm run fuzz` sets 100,000.
 *   Each property takes a fixed share of it (see `runsFor`).
 * - FOCAL_LOSS_FUZZ_SEED: the base seed (default fixed, so every run is the same). Each property
 *   uses the base plus its own offset; on a failure fast-check prints the seed, the path to replay
 *   and the (shrunk) case, which is a small plain object: the arrays are built from it by
 *   `mulberry32(case.seed)`, so the printed case is the whole reproduction.
 * - FOCAL_LOSS_FUZZ_REPORT: a directory; each file writes its per-backend counts there as JSON
 *   (scripts/fuzz.mjs sums and prints them).
 * - FOCAL_LOSS_FUZZ_TRACE=1: write every case to stderr before it runs, to find the case that took
 *   the whole process down (a native crash leaves no fast-check report).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, but is '${raw}'`);
  return n;
}

export const FUZZ_CASES = positiveInteger('FOCAL_LOSS_FUZZ_RUNS', 10_000);
export const FUZZ_SEED = positiveInteger('FOCAL_LOSS_FUZZ_SEED', 20_261_128);

/** The runs of one property: its share of FUZZ_CASES (at least `min`). */
export function runsFor(share: number, min = 10): number {
  return Math.max(min, Math.round(FUZZ_CASES * share));
}

/** fast-check parameters of the property number `offset` of a file. */
export function fcParams(offset: number, numRuns: number): { seed: number; numRuns: number; verbose: 1 } {
  return { seed: FUZZ_SEED + offset, numRuns, verbose: 1 };
}

const tracing = process.env.FOCAL_LOSS_FUZZ_TRACE === '1';

/** With FOCAL_LOSS_FUZZ_TRACE=1, the case about to run (stderr writes to a pipe or file are synchronous). */
export function trace(what: string, value: unknown): void {
  if (!tracing) return;
  const text = JSON.stringify(value, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
  process.stderr.write(`[fuzz] ${what} ${text}\n`);
}

/** Cases run per backend and per property, printed once per file and written for scripts/fuzz.mjs. */
export class Tally {
  private readonly counts = new Map<string, Map<string, number>>();

  add(backend: string, property: string, n = 1): void {
    const perProperty = this.counts.get(backend) ?? new Map<string, number>();
    perProperty.set(property, (perProperty.get(property) ?? 0) + n);
    this.counts.set(backend, perProperty);
  }

  total(backend: string): number {
    let sum = 0;
    for (const n of this.counts.get(backend)?.values() ?? []) sum += n;
    return sum;
  }

  report(file: string, ms: number): void {
    const backends = [...this.counts.keys()];
    const line = backends.map((b) => `${b} ${this.total(b)}`).join(', ');
    console.log(`${file}: cases run per backend: ${line} (seed ${FUZZ_SEED}, ${(ms / 1000).toFixed(1)} s)`);
    const dir = process.env.FOCAL_LOSS_FUZZ_REPORT;
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    const json = Object.fromEntries(backends.map((b) => [b, Object.fromEntries(this.counts.get(b)!)]));
    writeFileSync(join(dir, `${file}.json`), JSON.stringify({ file, seed: FUZZ_SEED, ms, counts: json }, null, 2));
  }
}
