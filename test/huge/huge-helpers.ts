/**
 * Shared pieces of the opt-in huge-input suites (`npm run test:huge`, vitest.huge.config.ts): periodic
 * fills of multi-gigabyte arrays, residue counts for closed forms, exact sums, memory and timing.
 * These files are named *.huge.ts so that the default `npm test` (test/**\/*.test.ts) never runs them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { D, type Dec } from '../reference.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const GiB = 2 ** 30;
export const TWO_31 = 2 ** 31;

/** Elements of this many bytes and more are not indexable by an int32: what these suites are for. */
export const bytes = (n: number, width: number): string => `${((n * width) / GiB).toFixed(2)} GiB`;

/**
 * Fills `a` with `pattern` repeated (a[i] = pattern[i % pattern.length]) by doubling memmoves
 * (copyWithin), so a multi-gigabyte fill costs little more than touching its pages.
 */
export function fillPeriodic<A extends Float32Array | Uint8Array>(a: A, pattern: ArrayLike<number>): A {
  const p = pattern.length;
  const head = Math.min(p, a.length);
  for (let i = 0; i < head; i++) a[i] = pattern[i]!;
  let filled = head;
  while (filled < a.length) {
    const n = Math.min(filled, a.length - filled);
    a.copyWithin(filled, 0, n);
    filled += n;
  }
  return a;
}

/** How many i in [0, n) have i % period === r. */
export function residueCount(n: number, period: number, r: number): number {
  return r < n ? Math.floor((n - 1 - r) / period) + 1 : 0;
}

/** The exact value of sum_k counts[k] * values[k]. */
export function exactDot(terms: readonly { count: number; value: Dec }[]): Dec {
  return terms.reduce((acc, { count, value }) => acc.plus(value.times(count)), new D(0));
}

/** |got - exact| / |exact|, evaluated exactly. */
export function relativeError(got: number, exact: Dec): number {
  return new D(got).minus(exact).abs().div(exact.abs()).toNumber();
}

/** MemAvailable from /proc/meminfo (what can be allocated without swapping out others), in bytes. */
export function memAvailable(): number {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux: fall through
  }
  return freemem();
}

/**
 * Volunteers this process first for the OOM killer: if the machine runs out of memory while a
 * huge suite holds 10-20 GiB, it is this test that should die, not whatever else the machine runs.
 */
export function preferOomKill(): void {
  try {
    writeFileSync('/proc/self/oom_score_adj', '1000');
  } catch {
    // not Linux, or not allowed: nothing to do
  }
}

/** Runs fn, logs how long it took, returns its value. */
export function timed<T>(label: string, fn: () => T): T {
  const t0 = performance.now();
  const value = fn();
  log(`${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return value;
}

export async function timedAsync<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const value = await fn();
  log(`${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return value;
}

export function log(message: string): void {
  const rss = (process.memoryUsage.rss() / GiB).toFixed(1);
  console.log(`[huge] ${message} (rss ${rss} GiB)`);
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Whether `extra` more bytes fit in memory with `margin` to spare; logs the decision. Collects
 * garbage first: an earlier test's arrays (an async call's copies of gigabytes, say) may still wait.
 */
export function memoryAllows(extra: number, what: string, margin = 3 * GiB): boolean {
  gc();
  const available = memAvailable();
  const ok = available >= extra + margin;
  log(
    `${what}: needs ${(extra / GiB).toFixed(1)} GiB + ${(margin / GiB).toFixed(0)} GiB margin, ` +
      `${(available / GiB).toFixed(1)} GiB available: ${ok ? 'running' : 'skipped'}`,
  );
  return ok;
}

/** The message of the error fn throws (fails the test when it does not throw). */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}
