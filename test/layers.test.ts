// The CLI is out of the library's import graph at run time: importing 'focal-loss' or
// 'focal-loss/tfjs' from the built package (ESM and CJS) and computing once loads no file of
// dist/cli/, nor commander or cli-progress (the CLI's dependencies, installed for the bin only).
// .dependency-cruiser.cjs checks the same on the sources; this checks what Node really loads.
// Each case in a child process, which imports the package by its name (a self-reference from the
// package root), as a consumer does; `npm test` builds dist/ first.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { root } from './loader-child.js';

const scratch = mkdtempSync(join(tmpdir(), 'focal-loss-layers-'));

/** Records every URL the ESM loader resolves, one a line, in the file given as `data`. */
const recorder = `
  import { appendFileSync } from 'node:fs';
  let log;
  export function initialize(path) { log = path; }
  export async function resolve(specifier, context, next) {
    const result = await next(specifier, context);
    appendFileSync(log, result.url + '\\n');
    return result;
  }`;

const use = {
  'focal-loss': `lib.sigmoidFocalLoss([0.5], [1]); lib.backend();`,
  'focal-loss/tfjs': `lib.sigmoidFocalLossTf();`,
};

/** The files the child loaded: every ESM resolution (through the hook) and require.cache. */
function loaded(entry: string, esm: boolean, then = use[entry as keyof typeof use]): string[] {
  const log = join(scratch, `${entry.replace(/\W/g, '-')}-${esm ? 'esm' : 'cjs'}.log`);
  const report = `for (const path of Object.keys(require.cache)) console.log(path);`;
  const code = esm
    ? `import { register, createRequire } from 'node:module';
       register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(recorder)}`)}, { data: ${JSON.stringify(log)} });
       const lib = await import(${JSON.stringify(entry)});
       ${then}
       const require = createRequire(import.meta.url);
       ${report}`
    : `const lib = require(${JSON.stringify(entry)}); ${then} ${report}`;
  const r = spawnSync(process.execPath, esm ? ['--input-type=module', '-e', code] : ['-e', code], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const resolved = esm
    ? readFileSync(log, 'utf8')
        .split('\n')
        .filter((url) => url.startsWith('file:'))
        .map((url) => fileURLToPath(url))
    : [];
  return [...resolved, ...r.stdout.split('\n').filter(Boolean)];
}

const CLI = /[\\/](dist[\\/]cli[\\/]|node_modules[\\/](commander|cli-progress)[\\/])/;

describe('the library never loads the CLI (child processes, built package)', () => {
  for (const entry of Object.keys(use) as (keyof typeof use)[]) {
    for (const esm of [true, false]) {
      it(`${esm ? 'import' : 'require'}('${entry}')`, () => {
        const files = loaded(entry, esm);
        // The recorder saw the package itself, so an empty list cannot pass for a clean one.
        const main = join(root, 'dist', ...(esm ? [] : ['cjs']), entry === 'focal-loss' ? 'index.js' : 'tfjs.js');
        expect(files).toContain(main);
        expect(files.filter((path) => CLI.test(path))).toEqual([]);
      });
    }
  }

  it('the check can fail: loading a CLI module from dist/cli is seen, by the hook and in require.cache', () => {
    const progress = join(root, 'dist', 'cli', 'progress.js');
    const files = loaded(pathToFileURL(progress).href, true, '');
    expect(files).toContain(progress);
    expect(files.some((path) => /[\\/]node_modules[\\/]cli-progress[\\/]/.test(path))).toBe(true);
  });
});
