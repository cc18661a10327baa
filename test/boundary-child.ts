/**
 * Runs a piece of a boundary test in a fresh Node process, so that a crash (SIGSEGV, an abort) is a
 * failed test, not a dead test runner. The body is an ES module body with `api` bound to one
 * backend's functions (from dist/, so `npm run build` first), `addon` the native binding (or null),
 * `sigmoidPlan`/`softmaxPlan` the fixture plans (test/fixtures/plans.mjs) for calling it directly,
 * `report(line)` writing one JSON line and `outcome(f)` turning a call into { ok, count, loss } or
 * the error's class, code, argument, index and message, each with the call's time in `ms`.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const distUrl = (file: string): string => JSON.stringify(pathToFileURL(join(root, 'dist', file)).href);
const plansUrl = JSON.stringify(pathToFileURL(join(root, 'test', 'fixtures', 'plans.mjs')).href);

export interface ChildRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  lines: Record<string, any>[];
  /** One line saying how the process ended, for failure messages. */
  ended: string;
}

export function inChild(backend: 'js' | 'native', body: string, nodeArgs: string[] = [], timeout = 120_000): ChildRun {
  const code = `
    const { createFocalLoss } = await import(${distUrl('facade/api.js')});
    const { jsKernels } = await import(${distUrl('backends/js/kernels.js')});
    const { loadNative } = await import(${distUrl('backends/native/loader.js')});
    const { sigmoidPlan, softmaxPlan, planExports } = await import(${plansUrl});
    const native = loadNative('auto');
    const api = createFocalLoss(${backend === 'js' ? 'jsKernels' : 'native.kernels'});
    const backendName = ${JSON.stringify(backend)};
    const addon = native.addon && planExports(native.addon);
    const report = (line) => console.log(JSON.stringify(line));
    const outcome = async (f) => {
      const t0 = performance.now();
      try {
        const r = await f();
        return { ok: true, count: r?.count, loss: typeof r?.loss === 'number' ? r.loss : null, ms: performance.now() - t0 };
      } catch (e) {
        return { ok: false, type: e?.constructor?.name, code: e?.code, argument: e?.argument, index: e?.index, message: String(e?.message), ms: performance.now() - t0 };
      }
    };
    ${body}`;
  const result = spawnSync(process.execPath, [...nodeArgs, '--input-type=module', '-e', code], {
    encoding: 'utf8',
    timeout,
    env: { ...process.env, FOCAL_LOSS_NUM_THREADS: '1', OMP_WAIT_POLICY: 'passive' },
  });
  const lines = result.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const tail = result.stderr.trim().split('\n').slice(-3).join(' / ');
  return {
    status: result.status,
    signal: result.signal,
    stderr: result.stderr.slice(0, 4000),
    lines,
    ended: `${result.signal ?? `status ${result.status}`}${tail ? ` (${tail})` : ''}`,
  };
}
