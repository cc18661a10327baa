/**
 * The C++ accumulator (native/reduce/reproducible_sum.hpp) and the TypeScript one
 * (lib/reduce/reproducible-sum.ts) give the same state bits and value for the same values: the
 * C++ test program, built here as the addon's sources are (baseline x86-64, and AVX2 with FMA where
 * the CPU has it), reads the cases this test writes and prints each state; its lane-parallel forms
 * must agree with its scalar one on every line, or it fails.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ReproducibleSum } from '../lib/reduce/reproducible-sum.js';

const DBL_MAX = Number.MAX_VALUE;
const dir = mkdtempSync(join(tmpdir(), 'repro-sum-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FLAGS = ['-O3', '-std=c++17', '-fno-math-errno', '-fno-trapping-math', '-fopenmp-simd'];
const cpuFlags = (() => {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
})();
const BUILDS: Array<[string, string[]]> = [['baseline', []]];
if (/\bavx2\b/.test(cpuFlags) && /\bfma\b/.test(cpuFlags)) BUILDS.push(['avx2', ['-mavx2', '-mfma']]);

function hex(x: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  return view.getBigUint64(0).toString(16).padStart(16, '0');
}

/** The line the C++ program prints for the same state. */
function line(acc: ReproducibleSum): string {
  const s = acc.state();
  const v = acc.toDouble();
  return [
    s.index,
    ...s.primaries.map(hex),
    ...s.carries.map(String),
    s.nonFinite ?? 'none',
    Number.isNaN(v) ? '7ff8000000000000' : hex(v),
  ].join(' ');
}

const anyDouble = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.double({ min: -1e3, max: 1e3, noNaN: true }),
  fc.double({ min: -1e-300, max: 1e-300, noNaN: true }),
  fc.double({ min: 1e300, max: DBL_MAX, noNaN: true }),
  fc.double({ min: 0, max: 30, noNaN: true }).map(Math.fround),
  fc.constantFrom(0, -0, 5e-324, DBL_MAX, -DBL_MAX, Infinity, -Infinity, NaN, 1),
);

const exe = (name: string): string => join(dir, `reproducible_sum_test-${name}`);
// Both builds at once (a -O3 build of the test takes seconds of CPU).
beforeAll(async () => {
  const cxx = process.env.CXX ?? 'g++';
  const source = 'native/test/reproducible_sum_test.cpp';
  await Promise.all(
    BUILDS.map(([name, flags]) => promisify(execFile)(cxx, [...FLAGS, ...flags, source, '-o', exe(name)])),
  );
}, 300_000);

describe.each(BUILDS)('C++ and TypeScript give the same state bits (%s build)', (name) => {
  it('for random multisets, long runs and the ends of the range', () => {
    const cases: number[][] = fc.sample(fc.array(anyDouble, { maxLength: 80 }), { seed: 20_261_202, numRuns: 300 });
    const rng = ((a) => () => ((a = (a * 1103515245 + 12345) % 2 ** 31), a / 2 ** 31))(7);
    // Long cases: past the renormalization interval and the lanes' strips.
    cases.push(Array.from({ length: 20_000 }, () => rng() * 3));
    cases.push(Array.from({ length: 9000 }, (_, i) => (i % 2 ? -1 : 1) * rng() * 10 ** (rng() * 40 - 20)));
    cases.push(Array.from({ length: 5000 }, () => Math.fround(rng() * 1e-3)));
    cases.push([DBL_MAX, DBL_MAX, -DBL_MAX, 1e300, ...Array.from({ length: 3000 }, () => rng())]);
    cases.push(Array.from({ length: 3000 }, () => rng() * 1e-310));
    const file = join(dir, `cases-${name}.txt`);
    writeFileSync(file, cases.map((c) => c.map(hex).join(' ')).join('\n') + '\n');
    const got = execFileSync(exe(name), ['--states', file], { encoding: 'utf8', maxBuffer: 1 << 26 })
      .trimEnd()
      .split('\n');
    expect(got.length).toBe(cases.length);
    cases.forEach((values, i) => {
      const acc = new ReproducibleSum();
      acc.addAll(values);
      expect(got[i], `case ${i}: ${values.slice(0, 8).join(', ')}`).toBe(line(acc));
    });
  });
});
