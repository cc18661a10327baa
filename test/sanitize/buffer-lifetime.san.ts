// Buffers that go away while the native code may still use them (see buffer-lifetime.mjs): every
// scenario must end without a crash or a sanitizer report, either with a result or with the
// library's TypeError naming the array. Each runs in its own process, which inherits the ASan
// preload and log path from scripts/test-asan.sh (a report there fails the whole run).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'buffer-lifetime.mjs');
const scenarios = spawnSync(process.execPath, [SCRIPT, '--list'], { encoding: 'utf8' }).stdout.trim().split('\n');

describe('buffers detached or shrunk under the native code', () => {
  it('lists its scenarios', () => expect(scenarios.length).toBeGreaterThanOrEqual(4));

  for (const scenario of scenarios) {
    it(`${scenario}: no crash; a result or a TypeError naming the array`, () => {
      const r = spawnSync(process.execPath, ['--expose-gc', SCRIPT, scenario], {
        encoding: 'utf8',
        env: { ...process.env, FOCAL_LOSS_BACKEND: 'native' },
        timeout: 120_000,
      });
      expect(r.signal, r.stderr.slice(-2000)).toBeNull();
      expect(r.status, r.stderr.slice(-2000)).toBe(0);
      const line = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok: boolean; error?: string };
      if (!line.ok)
        expect(line.error).toMatch(/^TypeError: .*(logits|labels|options\.out\.grad|focal-loss \(native\))/);
    });
  }
});
