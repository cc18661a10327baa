// The addon's async exports called directly with plans whose arrays go away mid-call
// (test/sanitize/binding-lifetime.mjs): no crash, no sanitizer report (scripts/test-asan.sh runs this
// file too), and each call either computes or is refused with a TypeError naming the plan field.
// Every scenario runs twice: with the addon's external buffers (allocate()), and with the fallback
// of a runtime that forbids external buffers (FOCAL_LOSS_TEST_NO_EXTERNAL_BUFFERS=1: allocate()
// returns plain buffers and the async exports copy their inputs when called).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nativeBackend } from './backends.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'sanitize', 'binding-lifetime.mjs');

interface Outcome {
  ok: boolean;
  sum?: number;
  count?: number;
  error?: string;
}

function run(scenario: string, copying: boolean): Outcome {
  const env: NodeJS.ProcessEnv = { ...process.env, FOCAL_LOSS_BACKEND: 'native' };
  if (copying) env.FOCAL_LOSS_TEST_NO_EXTERNAL_BUFFERS = '1';
  else delete env.FOCAL_LOSS_TEST_NO_EXTERNAL_BUFFERS;
  const r = spawnSync(process.execPath, ['--expose-gc', SCRIPT, scenario], { encoding: 'utf8', env, timeout: 240_000 });
  expect(r.signal, r.stderr.slice(-3000)).toBeNull();
  expect(r.status, r.stderr.slice(-3000)).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Outcome;
}

// What each scenario must give beyond "no crash": a result, or the TypeError that names the field.
type Want = RegExp | 'result' | 'either';
const EXPECTED: Record<string, { external: Want; copying: Want }> = {
  'replaced-inputs': { external: 'result', copying: 'result' },
  'replaced-outputs': { external: 'result', copying: 'result' },
  'transferred-input': { external: 'result', copying: 'result' },
  // The copy is written back only into the arrays that are still what they were.
  'transferred-output': { external: 'result', copying: /plan\.gradOut .*detached or resized/ },
  'resizable-shrunk': {
    external: /plan\.logits: async plans take arrays on buffers from allocate\(\)/,
    copying: 'result',
  },
  'getter-swaps-arrays': { external: 'result', copying: 'result' },
  // Node's structured clone cannot transfer a buffer from allocate(); ArrayBuffer.prototype.transfer
  // (Node 21+) can, and the binding then finds the logits empty.
  'getter-detaches': { external: 'either', copying: /plan\.\w+/ },
  'plain-arrays': { external: /plan\.logits: async plans take arrays on buffers from allocate\(\)/, copying: 'result' },
};

const scenarios = spawnSync(process.execPath, [SCRIPT, '--list'], {
  encoding: 'utf8',
  env: { ...process.env, FOCAL_LOSS_BACKEND: 'native' },
})
  .stdout.trim()
  .split('\n');

describe.skipIf(!nativeBackend)('native: the async exports hold every array they use, whoever calls them', () => {
  it('every scenario has an expectation', () => expect(scenarios.sort()).toEqual(Object.keys(EXPECTED).sort()));

  for (const mode of ['external', 'copying'] as const) {
    for (const scenario of Object.keys(EXPECTED)) {
      it(`${mode} buffers: ${scenario}`, () => {
        const outcome = run(scenario, mode === 'copying');
        const want = EXPECTED[scenario]![mode];
        if (want === 'either' && outcome.ok) {
          expect(Number.isFinite(outcome.sum)).toBe(true);
        } else if (want === 'either') {
          expect(outcome.error).toMatch(/^TypeError: focal-loss \(native\): .*plan\.\w+/);
        } else if (want === 'result') {
          expect(outcome, JSON.stringify(outcome)).toMatchObject({ ok: true });
          expect(Number.isFinite(outcome.sum)).toBe(true);
        } else {
          expect(outcome.ok, JSON.stringify(outcome)).toBe(false);
          expect(outcome.error).toMatch(/^TypeError: focal-loss \(native\): /);
          expect(outcome.error).toMatch(want);
        }
      });
    }
  }
});
