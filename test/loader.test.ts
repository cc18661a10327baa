// Loader failures, each in a child process: with the .node file missing, corrupt or built for
// another machine, `import` still works, backend() says 'js' and why, and FOCAL_LOSS_BACKEND=native
// turns the same failure into a clear error (of the first call: import never throws, see
// test/environment.test.ts). The children import the compiled package (dist/),
// which `npm test` builds first.
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { builtAddon, child, root } from './loader-child.js';
import { checkAddon } from '../lib/backends/native/loader.js';
import { PLAN_VERSION } from '../lib/backends/protocol.js';

const scratch = mkdtempSync(join(tmpdir(), 'focal-loss-loader-'));

describe('loader failures (child processes)', () => {
  it('a missing .node file: import works, the JS implementation computes, loadError says why', () => {
    const path = join(scratch, 'missing.node');
    const { status, report } = child({ FOCAL_LOSS_NATIVE_PATH: path });
    expect(status).toBe(0);
    expect(report.name).toBe('js');
    expect(report.loadError).toContain(`${path}: not found`);
    expect(report.loss).toBeCloseTo(Math.LN2, 15);
  });

  it('a corrupt .node file: the same, with the loader error in loadError', () => {
    const path = join(scratch, 'corrupt.node');
    writeFileSync(path, Buffer.from('this is not a shared library, only bytes that pretend to be one\n'.repeat(50)));
    const { status, report } = child({ FOCAL_LOSS_NATIVE_PATH: path });
    expect(status).toBe(0);
    expect(report.name).toBe('js');
    expect(report.loadError).toMatch(/corrupt\.node: .*(invalid ELF header|too short|not a valid)/i);
  });

  it.runIf(builtAddon !== undefined && process.platform === 'linux')(
    'a .node built for another machine (ELF for AArch64 / x86-64 swapped): the same',
    () => {
      // The real addon with the ELF machine field changed: what a binary for another CPU looks like.
      const path = join(scratch, 'other-machine.node');
      copyFileSync(builtAddon!, path);
      const bytes = readFileSync(path);
      const machine = bytes.readUInt16LE(18);
      bytes.writeUInt16LE(machine === 0xb7 ? 0x3e : 0xb7, 18); // EM_AARCH64 <-> EM_X86_64
      writeFileSync(path, bytes);
      const { status, report } = child({ FOCAL_LOSS_NATIVE_PATH: path });
      expect(status).toBe(0);
      expect(report.name).toBe('js');
      expect(report.loadError).toMatch(/other-machine\.node: .*(ELF|machine|wrong)/i);
    },
  );

  it('FOCAL_LOSS_BACKEND=native turns a load failure into a clear error at the first call', () => {
    const path = join(scratch, 'missing.node');
    const { status, stderr } = child({ FOCAL_LOSS_NATIVE_PATH: path, FOCAL_LOSS_BACKEND: 'native' });
    expect(status).not.toBe(0);
    expect(stderr).toContain('FOCAL_LOSS_BACKEND=native but the native addon not loaded');
    expect(stderr).toContain(`${path}: not found`);
    // What to run, for both audiences: build:native exists only in a clone of the repository.
    expect(stderr).toContain('in a project that depends on focal-loss: `npm rebuild focal-loss`');
    expect(stderr).toContain('`npm install-scripts approve focal-loss`');
    expect(stderr).toContain('in a clone of the focal-loss repository: `npm run build:native`');
    expect(stderr).not.toMatch(/Build it with `npm run build:native`/);
    expect(stderr).not.toMatch(/Segmentation|Aborted|core dumped/);
  });

  it.runIf(builtAddon !== undefined)('the built addon loads through FOCAL_LOSS_NATIVE_PATH too', () => {
    const { status, report } = child({ FOCAL_LOSS_NATIVE_PATH: builtAddon!, FOCAL_LOSS_BACKEND: 'native' });
    expect(status).toBe(0);
    expect(report.name).toBe('native');
    expect(report.loadError).toBeUndefined();
  });

  it('refuses a module that is not this addon, or built for another plan layout', () => {
    expect(() => checkAddon({}, 'x.node')).toThrow('x.node does not export sigmoid(): rebuild it');
    const fn = () => ({ sum: 0, count: 0 });
    const stale = {
      sigmoid: fn,
      softmax: fn,
      sigmoidAsync: fn,
      softmaxAsync: fn,
      allocate: fn,
      memoryFloor: fn,
      info: () => ({ planVersion: 1 }),
    };
    expect(() => checkAddon(stale as never, 'old.node')).toThrow(
      /old\.node was built for plan version 1, this package needs \d+: rebuild it/,
    );
    // Built before async plans took allocate() buffers: every async call would be refused.
    const { allocate: _, ...noAllocate } = stale;
    expect(() => checkAddon(noAllocate as never, 'old.node')).toThrow(
      'old.node does not export allocate(): rebuild it',
    );
    // memoryFloor is the benchmark's, not the package's: an addon without it is this addon.
    const { memoryFloor: _floor, ...noFloor } = stale;
    const current = { ...noFloor, info: () => ({ planVersion: PLAN_VERSION }) };
    expect(() => checkAddon(current as never, 'nofloor.node')).not.toThrow();
  });
});

describe('where the loader looks (child processes, a copy of the package)', () => {
  // A package root of its own: dist/ copied (not linked: ESM resolves links to the real path, which
  // would be this repository), node_modules linked, and the addon placed as each case needs.
  function packageCopy(name: string, layout: { local?: 'good' | 'corrupt'; prebuild?: boolean }) {
    const dir = join(scratch, name);
    mkdirSync(dir);
    cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
    copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    const local = join(dir, 'build', 'Release', 'focal_loss.node');
    const prebuild = join(dir, 'prebuilds', `${process.platform}-${process.arch}`, 'focal-loss.glibc.node');
    if (layout.local) {
      mkdirSync(dirname(local), { recursive: true });
      if (layout.local === 'good') copyFileSync(builtAddon!, local);
      else writeFileSync(local, 'not a shared library');
    }
    if (layout.prebuild) {
      mkdirSync(dirname(prebuild), { recursive: true });
      copyFileSync(builtAddon!, prebuild);
    }
    return { entry: pathToFileURL(join(dir, 'dist', 'index.js')).href, local, prebuild };
  }

  it.skipIf(!builtAddon)('a local build comes first, then the prebuild, then the JS implementation', () => {
    const both = packageCopy('both', { local: 'good', prebuild: true });
    expect(child({}, both.entry).report).toMatchObject({ name: 'native', path: both.local });

    const corrupt = packageCopy('corrupt-local', { local: 'corrupt', prebuild: true });
    expect(child({}, corrupt.entry).report).toMatchObject({ name: 'native', path: corrupt.prebuild });

    const prebuildOnly = packageCopy('prebuild-only', { prebuild: true });
    expect(child({}, prebuildOnly.entry).report).toMatchObject({ name: 'native', path: prebuildOnly.prebuild });

    const neither = packageCopy('neither', {});
    const { report } = child({}, neither.entry);
    expect(report.name).toBe('js');
    expect(report.loadError).toContain(`${neither.local}: not found`);
    expect(report.loadError).toContain(`no prebuilt binary for ${process.platform}-${process.arch}`);
    expect(report.loss).toBeCloseTo(Math.LN2, 15);
  });
});
