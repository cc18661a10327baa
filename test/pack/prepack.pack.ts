/**
 * scripts/prepack.mjs, the `prepack` script: `npm pack` / `npm publish` refuse to make a tarball
 * without a current linux-x64 prebuild (the README promises one), with a message that says what to
 * run. Run by `npm run test:pack`, after `npm run prebuildify` (the repository's own prebuild must
 * pass); the refusals are checked on copies of the package root.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = join(root, 'scripts', 'prepack.mjs');
const work = mkdtempSync(join(tmpdir(), 'focal-loss-prepack-'));
const onTarget = process.platform === 'linux' && process.arch === 'x64';

afterAll(() => rmSync(work, { recursive: true, force: true }));

function prepack(packageRoot: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [script, packageRoot], {
    encoding: 'utf8',
    env: { ...process.env, FOCAL_LOSS_PACK_WITHOUT_PREBUILD: undefined, ...env },
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A package root with a native source and, optionally, a prebuild file of the given content and age. */
function fakeRoot(name: string, prebuild?: { content: string; olderThanSources: boolean }) {
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
