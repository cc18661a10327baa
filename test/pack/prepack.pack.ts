/**
 * scripts/prepack.mjs, the `prepack` script: `npm pack` / `npm publish` refuse to make a tarball
 * without current linux-x64 and linux-arm64 prebuilds (the README promises them), with a message
 * that says what to run. Run by `npm run test:pack`, after `npm run prebuildify` (the repository's own prebuild must
 * pass); the refusals are checked on copies of the package root.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = join(root, 'scripts', 'prepack.mjs');
const work = mkdtempSync(join(tmpdir(), 'focal-loss-prepack-'));
const onTarget = process.platform === 'linux' && process.arch === 'x64';
/** The repository's own linux-x64 prebuild (npm run prebuildify), a binary that loads here. */
const x64Dir = join(root, 'prebuilds', 'linux-x64');
const x64Addon = join(x64Dir, (existsSync(x64Dir) ? readdirSync(x64Dir) : []).find((f) => f.endsWith('.node')) ?? '');

afterAll(() => rmSync(work, { recursive: true, force: true }));

function prepack(packageRoot: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [script, packageRoot], {
    encoding: 'utf8',
    env: { ...process.env, FOCAL_LOSS_PACK_WITHOUT_PREBUILD: undefined, ...env },
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A bare 64-bit little-endian ELF header for the given machine (62 x86-64, 183 AArch64). */
function elf(machine: number): Buffer {
  const bytes = Buffer.alloc(64);
  bytes.writeUInt32BE(0x7f454c46, 0);
  bytes[4] = 2;
  bytes[5] = 1;
  bytes.writeUInt16LE(machine, 18);
  return bytes;
}

/** A linux-arm64 prebuild file in a fake root, newer than its sources. */
function addArm64(dir: string, content: Buffer) {
  mkdirSync(join(dir, 'prebuilds', 'linux-arm64'), { recursive: true });
  const file = join(dir, 'prebuilds', 'linux-arm64', 'focal-loss.glibc.node');
  writeFileSync(file, content);
  const t = Date.now() / 1000 + 3600;
  utimesSync(file, t, t);
  return dir;
}

/** A package root with a native source and, optionally, a prebuild file of the given content and age. */
function fakeRoot(name: string, prebuild?: { content: string | Buffer; olderThanSources: boolean }) {
  const dir = join(work, name);
  mkdirSync(join(dir, 'native'), { recursive: true });
  writeFileSync(join(dir, 'native', 'kernel.cpp'), '// source\n');
  writeFileSync(join(dir, 'binding.gyp'), '{}\n');
  if (prebuild) {
    mkdirSync(join(dir, 'prebuilds', 'linux-x64'), { recursive: true });
    const file = join(dir, 'prebuilds', 'linux-x64', 'focal-loss.glibc.node');
    writeFileSync(file, prebuild.content);
    const t = Date.now() / 1000 + (prebuild.olderThanSources ? -3600 : 3600);
    utimesSync(file, t, t);
  }
  return dir;
}

describe('prepack', () => {
  it('passes on the repository after `npm run prebuildify`', () => {
    const r = prepack(root);
    expect(r.status, r.out).toBe(0);
  });

  it.runIf(onTarget)('refuses without a linux-arm64 prebuild, naming the cross compiler', () => {
    const r = prepack(fakeRoot('no-arm64', { content: readFileSync(x64Addon), olderThanSources: false }));
    expect(r.status).toBe(1);
    expect(r.out).toMatch(
      /refusing to pack: no prebuilt binary in prebuilds\/linux-arm64\/.*npm run prebuildify` \(on linux-x64 with g\+\+-aarch64-linux-gnu installed\)/,
    );
    expect(r.out).not.toMatch(/linux-x64\/focal-loss/);
  });

  it.runIf(onTarget)(
    'refuses a linux-arm64 prebuild that is an x86-64 file (a cross build that used the host compiler)',
    () => {
      const dir = addArm64(
        fakeRoot('host-arm64', { content: readFileSync(x64Addon), olderThanSources: false }),
        elf(62),
      );
      const r = prepack(dir);
      expect(r.status).toBe(1);
      expect(r.out).toMatch(/prebuilds\/linux-arm64\/focal-loss\.glibc\.node is an ELF file for machine 62, not 183/);
    },
  );

  it.runIf(onTarget)('passes with both, each for its machine', () => {
    const dir = addArm64(fakeRoot('both', { content: readFileSync(x64Addon), olderThanSources: false }), elf(183));
    const r = prepack(dir);
    expect(r.status, r.out).toBe(0);
  });

  it('refuses without a linux-x64 prebuild, naming the command to run', () => {
    const r = prepack(fakeRoot('none'));
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/refusing to pack: no prebuilt binary in prebuilds\/linux-x64\/.*npm run prebuildify/);
  });

  it('packs anyway with FOCAL_LOSS_PACK_WITHOUT_PREBUILD=1, with a warning', () => {
    const r = prepack(fakeRoot('override'), { FOCAL_LOSS_PACK_WITHOUT_PREBUILD: '1' });
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/packing anyway/);
  });

  it.runIf(onTarget)('refuses a prebuild older than the native sources', () => {
    const r = prepack(fakeRoot('stale', { content: 'x', olderThanSources: true }));
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/focal-loss\.glibc\.node is older than .*npm run prebuildify/);
  });

  it.runIf(onTarget)('refuses a prebuild that does not load', () => {
    const r = prepack(fakeRoot('broken', { content: 'not an ELF file', olderThanSources: false }));
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/focal-loss\.glibc\.node does not load/);
  });
});
