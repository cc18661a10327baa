// Inputs on SharedArrayBuffers, written by a worker while the native kernels read them
// (test/sanitize/shared-inputs.mjs, in a child process; scripts/test-asan.sh runs this file too).
// SharedArrayBuffer-backed arrays are supported: every kernel reads each element once (read,
// check, use that value), so a racing writer can make a call fail with a RangeError naming the
// element it read, or change the numbers, but never crash it or make it use an unchecked value.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nativeBackend } from './backends.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'sanitize', 'shared-inputs.mjs');

describe.skipIf(!nativeBackend)('native: inputs that a worker writes while the kernels read them', () => {
  it('a few seconds of sync and async calls: finite results or RangeErrors naming an element', () => {
    const r = spawnSync(process.execPath, [SCRIPT, '4'], {
      encoding: 'utf8',
      env: { ...process.env, FOCAL_LOSS_BACKEND: 'native' },
      timeout: 240_000,
    });
    expect(r.signal, r.stderr.slice(-3000)).toBeNull();
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      calls: number;
      results: number;
      rangeErrors: number;
      bad: string[];
    };
    expect(out.bad).toEqual([]);
    // The race is real: some calls saw a bad element, some did not.
    expect(out.results).toBeGreaterThan(0);
    expect(out.rangeErrors).toBeGreaterThan(0);
  });
});
