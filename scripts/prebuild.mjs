#!/usr/bin/env node
// `npm run prebuildify`: the N-API prebuilt binaries in prebuilds/<platform>-<arch>/ that npm pack
// ships. prebuildify runs node-gyp, so every binary comes from binding.gyp and the one build
// description it includes (native/build.json); a cross build only changes the compiler.
//
//   - linux-arm64 (glibc), cross-compiled, when this is linux-x64 and the aarch64 cross compiler is
//     installed (Debian/Ubuntu: `apt-get install g++-aarch64-linux-gnu`);
//   - then this machine's own (linux-x64 on the development and CI machines).
// Both build in build/ (prebuildify moves each .node out of build/Release into prebuilds/). The cross
// build goes first, so that build/ is left configured and compiled for this machine: a later
// `node-gyp build` (or `npm run build:native`) then makes a binary this machine can load.
//
// OpenMP: scripts/detect-openmp.mjs probes $CXX_target / $CXX, so in the cross build it probes the
// cross compiler (and its libgomp). Each target's answer is printed.
//
// Environment:
//   FOCAL_LOSS_PREBUILD_ARM64=0   do not make the linux-arm64 binary
//   FOCAL_LOSS_PREBUILD_ARM64=1   make it or fail (CI sets this: a missing toolchain must not pass)
//   FOCAL_LOSS_CROSS_PREFIX       the cross tools' prefix (default `aarch64-linux-gnu-`)

import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectOpenMP } from './detect-openmp.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const prebuildify = createRequire(join(root, 'package.json')).resolve('prebuildify/bin.js');
const COMMON = ['--napi', '--strip', '--tag-libc'];

function has(command) {
  return !spawnSync(command, ['--version'], { stdio: 'ignore' }).error;
}

function build(label, args, env) {
  console.log(`prebuild: ${label} (OpenMP: ${detectOpenMP(env) ? 'yes' : 'no'})`);
  // node-gyp compiles one file at a time unless JOBS says otherwise (as scripts/install.mjs's --jobs=max).
  const jobs = { JOBS: 'max', ...env };
  const r = spawnSync(process.execPath, [prebuildify, ...COMMON, ...args], { cwd: root, env: jobs, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`prebuild: ${label} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
    process.exit(1);
  }
}

const arm64 = process.env.FOCAL_LOSS_PREBUILD_ARM64;
const prefix = process.env.FOCAL_LOSS_CROSS_PREFIX || 'aarch64-linux-gnu-';
if (arm64 !== '0' && process.platform === 'linux' && process.arch === 'x64') {
  if (has(`${prefix}g++`)) {
    const cross = {
      ...process.env,
      // gyp's make generator reads CC_target/CXX_target before CC/CXX; set both so nothing of the host leaks in.
      CC: `${prefix}gcc`,
      CXX: `${prefix}g++`,
      CC_target: `${prefix}gcc`,
      CXX_target: `${prefix}g++`,
    };
    build(`linux-arm64 with ${prefix}g++`, ['--arch', 'arm64', '--strip-bin', `${prefix}strip`], cross);
  } else if (arm64 === '1') {
    console.error(`prebuild: FOCAL_LOSS_PREBUILD_ARM64=1 but ${prefix}g++ is not installed (g++-aarch64-linux-gnu)`);
    process.exit(1);
  } else {
    console.log(`prebuild: no linux-arm64 binary (${prefix}g++ not found; Debian/Ubuntu: g++-aarch64-linux-gnu)`);
  }
}
build(`${process.platform}-${process.arch}`, [], process.env);
