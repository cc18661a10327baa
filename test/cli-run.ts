/** How the CLI suites run the compiled `focal-loss` command, and what a usage error must look like. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const cliPath = join(root, 'dist', 'cli', 'main.js');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time of the run. */
  ms: number;
}

/** Runs `node [nodeArgs] dist/cli/main.js args` in `cwd`, with this process's environment. */
export function runCli(
  args: string[],
  {
    cwd,
    nodeArgs = [],
    timeout,
    maxBuffer,
  }: { cwd: string; nodeArgs?: string[]; timeout?: number; maxBuffer?: number },
): CliRun {
  const started = performance.now();
  const r = spawnSync(process.execPath, [...nodeArgs, cliPath, ...args], {
    cwd,
    encoding: 'utf8',
    env: process.env,
    timeout,
    maxBuffer,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - started };
}

/** A usage or file error: exit code 2, nothing on stdout, one stderr line `focal-loss: …` matching `message`. */
export function expectOneLineError(r: CliRun, message: RegExp): void {
  expect(r.signal, r.stderr).toBeNull();
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^focal-loss: /);
  expect(lines[0]).toMatch(message);
}
