/**
 * The loader tests' probe: imports the package in a fresh process (FOCAL_LOSS_BACKEND and
 * FOCAL_LOSS_NATIVE_PATH only as the test gives them), computes one loss and reports backend().
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { addonCandidates } from '../lib/backends/native/loader.js';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const entry = pathToFileURL(join(root, 'dist', 'index.js')).href;

/** The first addon the loader would try that exists here (undefined without a build). */
export const builtAddon = addonCandidates(undefined).find((path) => {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
  }
});

/** Imports `from` in a child process, computes one loss, prints backend() as JSON. */
export function child(env: Record<string, string>, from = entry) {
  const code = `
    const { backend, sigmoidFocalLoss } = await import(${JSON.stringify(from)});
    const r = sigmoidFocalLoss(new Float64Array([0]), new Uint8Array([1]), { gamma: 0, alpha: null });
    console.log(JSON.stringify({ ...backend(), loss: r.loss }));`;
  const { FOCAL_LOSS_BACKEND, FOCAL_LOSS_NATIVE_PATH, ...rest } = process.env;
  void FOCAL_LOSS_BACKEND;
  void FOCAL_LOSS_NATIVE_PATH;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    env: { ...rest, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const report = result.status === 0 ? JSON.parse(result.stdout.trim().split('\n').pop()!) : null;
  return { status: result.status, signal: result.signal, stderr: result.stderr, report };
}
