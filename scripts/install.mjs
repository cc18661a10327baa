#!/usr/bin/env node
// `install` script: use the prebuilt binary when one matches this machine, else build the native
// addon with node-gyp, quietly, and never fail the install.
//
// The package has a complete JavaScript implementation, so a missing compiler, Python or header
// set only costs speed. Output of the build is captured and shown only with
// FOCAL_LOSS_VERBOSE_INSTALL=1; otherwise exactly one line is printed.
//
// Environment:
//   FOCAL_LOSS_SKIP_BUILD=1        do not build (a prebuilt binary, if any, or JavaScript)
//   npm_config_build_from_source   `npm install --build-from-source`: compile even with a prebuild
//   FOCAL_LOSS_VERBOSE_INSTALL=1   stream the build output
//   FOCAL_LOSS_OPENMP=0|1          force OpenMP off/on (default: probe the compiler)
//   npm_config_node_gyp            node-gyp to use (npm sets it to its bundled copy)
//
// No network: when npm has not configured `nodedir`, the headers that ship with the running Node
// (<prefix>/include/node) are used if their version matches, so node-gyp downloads nothing.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { detectOpenMP } from './detect-openmp.mjs';

const PREFIX = 'focal-loss:';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const addonPath = join(root, 'build', 'Release', 'focal_loss.node');
const verbose = process.env.FOCAL_LOSS_VERBOSE_INSTALL === '1';

const FAILED =
  `${PREFIX} native build failed; the JavaScript implementation will be used ` +
  '(set FOCAL_LOSS_VERBOSE_INSTALL=1 to see why)';

/** How to run node-gyp: [command, ...leading args]. */
function nodeGypCommand() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) {
    return /\.(c|m)?js$/.test(fromNpm) ? [process.execPath, fromNpm] : [fromNpm];
  }
  try {
    const require = createRequire(join(root, 'package.json'));
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    return [process.platform === 'win32' ? 'node-gyp.cmd' : 'node-gyp'];
  }
}

/** `--nodedir=<prefix>` when the running Node ships headers of its own version and none is configured. */
function localNodedirArgs() {
  if (process.env.npm_config_nodedir || process.env.npm_config_tarball) return [];
  const prefix = resolve(dirname(process.execPath), '..');
  try {
    const header = readFileSync(join(prefix, 'include', 'node', 'node_version.h'), 'utf8');
    const part = (name) => header.match(new RegExp(`#define NODE_${name}_VERSION (\\d+)`))?.[1];
    const version = `v${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
    if (version === process.version && existsSync(join(prefix, 'include', 'node', 'common.gypi'))) {
      return [`--nodedir=${prefix}`];
    }
  } catch {
    // no local headers: node-gyp uses its cache (or downloads, if allowed)
  }
  return [];
}

/**
 * The prebuilt binary node-gyp-build picks for this machine (the loader's order: a local build
 * first, then prebuilds/), when that is the one it picks and it loads; else null.
 */
function usablePrebuild() {
  try {
    const nodeGypBuild = createRequire(join(root, 'package.json'))('node-gyp-build');
    const path = nodeGypBuild.resolve(root);
    return path.startsWith(join(root, 'prebuilds') + sep) && addonLoads(path) ? path : null;
  } catch {
    return null;
  }
}

/** Loads an addon in a child process, so a broken binary cannot crash the install. */
function addonLoads(path = addonPath) {
  const res = spawnSync(process.execPath, ['-e', 'require(process.argv[1])', path], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (res.status !== 0 && verbose) process.stderr.write(res.stderr || String(res.error ?? ''));
  return res.status === 0;
}

function main() {
  const prebuild = usablePrebuild();
  if (prebuild && process.env.npm_config_build_from_source !== 'true') {
    console.log(`${PREFIX} using the prebuilt binary ${relative(root, prebuild)} (nothing to compile)`);
    return;
  }
  if (process.env.FOCAL_LOSS_SKIP_BUILD === '1') {
    console.log(`${PREFIX} FOCAL_LOSS_SKIP_BUILD=1, native build skipped; the JavaScript implementation will be used`);
    return;
  }

  // Decide OpenMP once and hand the answer to gyp, so the line printed below is the truth
  // (binding.gyp's own probe sees FOCAL_LOSS_OPENMP and returns at once).
  const openmp = detectOpenMP();
  const env = { ...process.env, FOCAL_LOSS_OPENMP: openmp ? '1' : '0' };

  const [cmd, ...pre] = nodeGypCommand();
  const args = [...pre, 'rebuild', '--jobs=max', `--openmp=${openmp}`, ...localNodedirArgs()];
  if (verbose) console.log(`${PREFIX} ${[cmd, ...args].join(' ')}`);

  const res = spawnSync(cmd, args, {
    cwd: root,
    env,
    stdio: verbose ? 'inherit' : 'pipe',
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    shell: process.platform === 'win32' && !cmd.endsWith('.exe'),
    windowsHide: true,
  });

  const ok = !res.error && res.status === 0 && existsSync(addonPath) && addonLoads();
  if (!ok) {
    if (verbose && res.error) console.error(res.error);
    console.log(FAILED);
    return;
  }
  console.log(`${PREFIX} native addon built (OpenMP: ${openmp ? 'yes' : 'no'})`);
}

try {
  main();
} catch (err) {
  if (verbose) console.error(err);
  console.log(FAILED);
}
process.exitCode = 0;
