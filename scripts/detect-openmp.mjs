#!/usr/bin/env node
// Prints `true` or `false` on stdout: can the C++ compiler build and link an OpenMP program?
//
// binding.gyp evaluates this at configure time (`'openmp%': '<!(node scripts/detect-openmp.mjs)'`),
// so stdout must carry exactly one word and nothing else; diagnostics go to stderr, and only with
// FOCAL_LOSS_VERBOSE_INSTALL=1.
//
// Overrides:
//   FOCAL_LOSS_OPENMP=0|false|off  never use OpenMP (no probe)
//   FOCAL_LOSS_OPENMP=1|true|on    always use OpenMP (no probe; the build fails if the compiler lacks it)
//   CXX_target, CXX                compiler to probe, in gyp's order (default, like the Makefile
//                                  node-gyp generates: `g++`, then `c++`, then `clang++`); a cross
//                                  build sets them to the cross compiler (scripts/prebuild.mjs), so
//                                  the probe links against the target's libgomp, not the host's
//
// OpenMP is never required: the kernels compile and run serially without it.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMain } from './is-main.mjs';

const PROBE_SOURCE = `#include <omp.h>
int main() {
  int sum = 0;
#pragma omp parallel for reduction(+ : sum)
  for (int i = 0; i < 64; ++i) sum += i;
  return (sum == 2016 && omp_get_max_threads() >= 1) ? 0 : 1;
}
`;

const verbose = process.env.FOCAL_LOSS_VERBOSE_INSTALL === '1';
const debug = (msg) => {
  if (verbose) process.stderr.write(`detect-openmp: ${msg}\n`);
};

/** Parses FOCAL_LOSS_OPENMP: returns true/false when forced, undefined when unset or unrecognised. */
export function openmpOverride(env = process.env) {
  const raw = (env.FOCAL_LOSS_OPENMP ?? '').trim().toLowerCase();
  if (['0', 'false', 'off', 'no'].includes(raw)) return false;
  if (['1', 'true', 'on', 'yes'].includes(raw)) return true;
  return undefined;
}

/** The compiler command as argv (CXX may carry a launcher or flags, e.g. `ccache g++`). */
function compilerCandidates(env) {
  // gyp's make generator prefers CXX_target, then CXX, then make's default `g++`.
  const cxx = (env.CXX_target || env.CXX || '').trim();
  if (cxx) return [cxx.split(/\s+/)];
  return [['g++'], ['c++'], ['clang++']];
}

/**
 * Compiles and links a tiny OpenMP program with `-fopenmp`. Returns true only if that succeeds.
 * Windows (MSVC) is not probed: OpenMP there is opt-in through FOCAL_LOSS_OPENMP=1.
 */
export function detectOpenMP(env = process.env) {
  const forced = openmpOverride(env);
  if (forced !== undefined) {
    debug(`FOCAL_LOSS_OPENMP=${env.FOCAL_LOSS_OPENMP} -> ${forced}`);
    return forced;
  }
  if (process.platform === 'win32') {
    debug('win32: not probing, set FOCAL_LOSS_OPENMP=1 to enable');
    return false;
  }
  const dir = mkdtempSync(join(tmpdir(), 'focal-loss-openmp-'));
  try {
    const src = join(dir, 'probe.cpp');
    const out = join(dir, 'probe.out');
    writeFileSync(src, PROBE_SOURCE);
    for (const [cmd, ...pre] of compilerCandidates(env)) {
      const args = [...pre, '-fopenmp', src, '-o', out];
      const res = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, env });
      if (res.error) {
        debug(`${cmd}: ${res.error.message}`);
        continue; // not installed: try the next candidate
      }
      debug(`${[cmd, ...args].join(' ')} -> exit ${res.status}${res.stderr ? `\n${res.stderr.trim()}` : ''}`);
      return res.status === 0;
    }
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  let result = false;
  try {
    result = detectOpenMP();
  } catch (err) {
    debug(`probe failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  process.stdout.write(`${result}\n`);
}
