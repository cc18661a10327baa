#!/usr/bin/env node
// `prepack` script (npm pack, npm publish): refuses to pack without current prebuilt binaries for
// linux-x64 and linux-arm64 (glibc), because the README promises that installs there carry one
// (nothing compiled there).
//
// Why refuse rather than build: prebuildify's node-gyp rebuild empties build/ (the developer's
// build, and the sanitizer build in build/sanitize) and takes minutes; making the prebuilds is
// `npm run prebuildify` (scripts/prebuild.mjs; linux-arm64 needs the aarch64 cross compiler), a step
// of its own (CI runs it before `npm run test:pack`).
//
// Checked, for each target: prebuilds/<target>/ holds a .node file, an ELF file for the target's
// machine (a cross build that silently fell back to the host compiler would be refused); on a
// machine of that target also that it is not older than any native source or binding.gyp (a binary
// left from older sources would be refused by the loader's plan-version check, or worse, carry old
// behaviour) and that it loads in a child process. The linux-arm64 one is checked for age on
// linux-x64 too, where it is cross-built; test/arm64/ runs it under emulation.
// FOCAL_LOSS_PACK_WITHOUT_PREBUILD=1 packs anyway, with a warning (a JS-only or test tarball).
// npm does not run prepack for git dependencies (they run `prepare`), so installs from git are
// unaffected.
//
// Usage: node scripts/prepack.mjs [package root]   (default: this script's package)

import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
/** The targets with a prebuild, the ELF e_machine of each, and where it is built. */
const TARGETS = [
  { name: 'linux-x64', machine: 62, builtOn: ['linux-x64'] }, // EM_X86_64
  { name: 'linux-arm64', machine: 183, builtOn: ['linux-arm64', 'linux-x64'] }, // EM_AARCH64, cross-built on x64
];
const here = `${process.platform}-${process.arch}`;

/** Every file under dir (recursively), except those under dir/test. */
function sourcesUnder(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'test' ? [] : sourcesUnder(path);
    return [path];
  });
}

/** The ELF e_machine of a file, or null when it is not an ELF file. */
function elfMachine(path) {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(20);
    if (readSync(fd, header, 0, 20, 0) < 20 || header.readUInt32BE(0) !== 0x7f454c46) return null;
    return header[5] === 2 ? header.readUInt16BE(18) : header.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}

/** Why the package cannot be packed as it is, or null when it can. */
function problem({ name, machine, builtOn }) {
  const prebuildDir = join(root, 'prebuilds', name);
  const binaries = existsSync(prebuildDir) ? readdirSync(prebuildDir).filter((f) => f.endsWith('.node')) : [];
  const how = name === 'linux-arm64' ? ' (on linux-x64 with g++-aarch64-linux-gnu installed)' : ` on ${name}`;
  if (binaries.length === 0) {
    return `no prebuilt binary in ${relative(root, prebuildDir) || prebuildDir}/ (the README promises one for ${name}): run \`npm run prebuildify\`${how} first`;
  }
  if (!builtOn.includes(here)) return null; // not built here: nothing to compare
  const sources = [...sourcesUnder(join(root, 'native')), join(root, 'binding.gyp')].filter((f) => existsSync(f));
  const newest = sources.reduce((a, f) => (statSync(f).mtimeMs > statSync(a).mtimeMs ? f : a), sources[0] ?? root);
  for (const binary of binaries) {
    const path = join(prebuildDir, binary);
    if (sources.length > 0 && statSync(path).mtimeMs < statSync(newest).mtimeMs) {
      return `${relative(root, path)} is older than ${relative(root, newest)}: run \`npm run prebuildify\` again`;
    }
    const found = elfMachine(path);
    if (found !== null && found !== machine) {
      return `${relative(root, path)} is an ELF file for machine ${found}, not ${machine} (${name}): run \`npm run prebuildify\`${how} again`;
    }
    if (here !== name) continue; // cannot load it here
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

const why = TARGETS.map(problem).filter(Boolean).join('; ');
if (why) {
  if (process.env.FOCAL_LOSS_PACK_WITHOUT_PREBUILD === '1') {
    console.warn(`focal-loss prepack: ${why}; packing anyway (FOCAL_LOSS_PACK_WITHOUT_PREBUILD=1)`);
  } else {
    console.error(`focal-loss prepack: refusing to pack: ${why}.`);
    console.error('(FOCAL_LOSS_PACK_WITHOUT_PREBUILD=1 packs without it: installs there then compile or use JS.)');
    process.exitCode = 1;
  }
}
