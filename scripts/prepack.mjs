#!/usr/bin/env node
// `prepack` script (npm pack, npm publish): refuses to pack without a current linux-x64 prebuilt
// binary, because the README promises that linux-x64 installs carry one (nothing compiled there).
//
// Why refuse rather than build: prebuildify's node-gyp rebuild empties build/ (the developer's
// build, and the sanitizer build in build/sanitize) and takes minutes; making the prebuild is
// `npm run prebuildify`, a step of its own (CI runs it before `npm run test:pack`).
//
// Checked: prebuilds/linux-x64/ holds a .node file; on a linux-x64 machine also that it is not older
// than any native source or binding.gyp (a binary left from older sources would be refused by the
// loader's plan-version check, or worse, carry old behaviour) and that it loads in a child process.
// FOCAL_LOSS_PACK_WITHOUT_PREBUILD=1 packs anyway, with a warning (a JS-only or test tarball).
// npm does not run prepack for git dependencies (they run `prepare`), so installs from git are
// unaffected.
//
// Usage: node scripts/prepack.mjs [package root]   (default: this script's package)

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const TARGET = 'linux-x64';
const prebuildDir = join(root, 'prebuilds', TARGET);

/** Every file under dir (recursively), except those under dir/test. */
function sourcesUnder(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'test' ? [] : sourcesUnder(path);
    return [path];
  });
}

/** Why the package cannot be packed as it is, or null when it can. */
function problem() {
  const binaries = existsSync(prebuildDir) ? readdirSync(prebuildDir).filter((f) => f.endsWith('.node')) : [];
  if (binaries.length === 0) {
    return `no prebuilt binary in ${relative(root, prebuildDir) || prebuildDir}/ (the README promises one for ${TARGET}): run \`npm run prebuildify\` on ${TARGET} first`;
  }
  if (`${process.platform}-${process.arch}` !== TARGET) return null; // not built here: nothing to compare
  const sources = [...sourcesUnder(join(root, 'native')), join(root, 'binding.gyp')].filter((f) => existsSync(f));
  const newest = sources.reduce((a, f) => (statSync(f).mtimeMs > statSync(a).mtimeMs ? f : a), sources[0] ?? root);
  for (const binary of binaries) {
    const path = join(prebuildDir, binary);
    if (sources.length > 0 && statSync(path).mtimeMs < statSync(newest).mtimeMs) {
      return `${relative(root, path)} is older than ${relative(root, newest)}: run \`npm run prebuildify\` again`;
    }
    const load = spawnSync(process.execPath, ['-e', 'require(process.argv[1])', path], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (load.status !== 0) {
      const why = (load.stderr || String(load.error ?? '')).trim().split('\n')[0];
      return `${relative(root, path)} does not load (${why}): run \`npm run prebuildify\` again`;
    }
  }
  return null;
}

const why = problem();
if (why) {
  if (process.env.FOCAL_LOSS_PACK_WITHOUT_PREBUILD === '1') {
    console.warn(`focal-loss prepack: ${why}; packing anyway (FOCAL_LOSS_PACK_WITHOUT_PREBUILD=1)`);
  } else {
    console.error(`focal-loss prepack: refusing to pack: ${why}.`);
    console.error(
      '(FOCAL_LOSS_PACK_WITHOUT_PREBUILD=1 packs without it: installs on linux-x64 then compile or use JS.)',
    );
    process.exitCode = 1;
  }
}
