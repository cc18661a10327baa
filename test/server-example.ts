/**
 * Shared by the tests of the example service (test/server-*.test.ts): where it is, and its one
 * install step. The example is its own package that depends on focal-loss as `file:../..`, so that
 * its code imports 'focal-loss' as a user's would; `npm install` in it links node_modules/focal-loss
 * to this repository (scripts off: the package is already built here, and nothing is downloaded).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './cli-run.js';

export const exampleDir = join(root, 'examples', 'server');

/** The example's models (examples/server/models.mjs), as the tests read them. */
export type ExampleModels = Record<
  string,
  { kind: 'sigmoid' | 'softmax'; numClasses?: number; gamma?: number; alpha?: number; ignoreIndex?: number }
>;

/** Links examples/server/node_modules/focal-loss to this repository, with npm, if it is not linked yet. */
export function ensureExampleInstalled(): void {
  const link = join(exampleDir, 'node_modules', 'focal-loss');
  if (existsSync(link) && realpathSync(link) === realpathSync(root)) return;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const run = spawnSync(
    npm,
    ['install', '--ignore-scripts', '--offline', '--no-package-lock', '--no-audit', '--no-fund'],
    {
      cwd: exampleDir,
      encoding: 'utf8',
    },
  );
  // Both server test files may install at once (vitest runs files in parallel): one npm may then
  // fail on the other's link, which is what both wanted.
  if (!existsSync(link) || realpathSync(link) !== realpathSync(root)) {
    throw new Error(`npm install in examples/server failed (${run.status}): ${run.stderr}`);
  }
}
