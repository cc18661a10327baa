/**
 * The package as users get it: `npm pack`, then the tarball installed into fresh projects and used
 * from an .mjs file, a .cjs file and .ts/.cts files type-checked by tsc, in the three situations of
 * an install:
 *   1. a prebuilt binary for this machine in the tarball: no compiling, the prebuild is loaded;
 *   2. no prebuild but a compiler: the install script compiles the addon;
 *   3. neither: the install prints one clear line, and the JS implementation is used;
 *   4. the same tarball, installed for and run by the arm64 Node under qemu-aarch64: the
 *      linux-arm64 prebuild is loaded (native, NEON), and its results equal the x86-64 prebuild's
 *      within docs/NUMERICS.md's tolerances (needs the emulator: scripts/arm64-node.mjs; skipped
 *      without it, but never in CI, which installs it).
 * The install script is denied in case 1 (`allowScripts` in the project's package.json: npm 11.19
 * runs unapproved scripts with a warning, a future npm will not run them), so it shows that the
 * prebuild needs no script; it is approved in the other cases.
 *
 * Needs the prebuild made by `npm run prebuildify` (CI runs it first); packs with `npm pack`,
 * which runs `prepare` (the ESM and CommonJS builds).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACROSS_MACHINES, CJS, CTS, MJS, TS, TSCONFIG, packageJson } from './consumer.js';
import { arm64Node, missing } from '../../scripts/arm64-node.mjs';
import { TOL, mismatch } from '../helpers.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = mkdtempSync(join(tmpdir(), 'focal-loss-pack-'));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
let withPrebuild = '';
let withoutPrebuild = '';

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 8 * 60_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** A fresh project with the tarball installed. Environment variables of the test runner are dropped. */
function install(name: string, tarball: string, allowScripts: boolean, env: NodeJS.ProcessEnv = {}) {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), packageJson(tarball, allowScripts));
  const args = ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'];
  const clean = { FOCAL_LOSS_BACKEND: undefined, FOCAL_LOSS_NATIVE_PATH: undefined, ...env };
  const r = run('npm', args, dir, clean);
  expect(r.status, r.out).toBe(0);
  return { dir, out: r.out };
}

/** Runs the consumer files; returns their JSON lines. */
function use(dir: string) {
  writeFileSync(join(dir, 'use.mjs'), MJS);
  writeFileSync(join(dir, 'use.cjs'), CJS);
  writeFileSync(join(dir, 'check.ts'), TS);
  writeFileSync(join(dir, 'check-require.cts'), CTS);
  writeFileSync(join(dir, 'tsconfig.json'), TSCONFIG);
  const env = { FOCAL_LOSS_BACKEND: undefined, FOCAL_LOSS_NATIVE_PATH: undefined };
  const lines = ['use.mjs', 'use.cjs'].map((file) => {
    const r = run(process.execPath, [file], dir, env);
    expect(r.status, r.out).toBe(0);
    return JSON.parse(r.out.trim().split('\n').pop()!) as {
      kind: string;
      sigmoid: number;
      softmax: number;
      backend: Record<string, unknown>;
    };
  });
  const typecheck = run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir);
  expect(typecheck.status, typecheck.out).toBe(0);
  return lines;
}

function expectRightValues(lines: ReturnType<typeof use>) {
  // gamma 0 = cross-entropy: mean of log(1 + e^-2) and log(1 + e^-1); softmax of equal logits: log 2.
  const bce = (Math.log1p(Math.exp(-2)) + Math.log1p(Math.exp(-1))) / 2;
  for (const line of lines) {
    expect(line.sigmoid).toBeCloseTo(bce, 12);
    expect(line.softmax).toBeCloseTo(Math.LN2, 12);
  }
}

beforeAll(() => {
  const prebuilds = join(root, 'prebuilds');
  if (!existsSync(prebuilds) || readdirSync(prebuilds).length === 0) {
    throw new Error('no prebuilds/: run `npm run prebuildify` first');
  }
  const packed = execFileSync('npm', ['pack', '--pack-destination', work, '--json'], { cwd: root, encoding: 'utf8' });
  withPrebuild = join(work, (JSON.parse(packed.slice(packed.indexOf('['))) as { filename: string }[])[0]!.filename);
  // The same tarball without prebuilds/.
  const unpacked = join(work, 'unpacked');
  mkdirSync(unpacked);
  execFileSync('tar', ['-xzf', withPrebuild, '-C', unpacked]);
  rmSync(join(unpacked, 'package', 'prebuilds'), { recursive: true, force: true });
  withoutPrebuild = join(work, 'focal-loss-no-prebuild.tgz');
  execFileSync('tar', ['-czf', withoutPrebuild, '-C', unpacked, 'package']);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npm pack', () => {
  it('ships the builds, the sources to compile, the prebuild and nothing of the tests', () => {
    const files = execFileSync('tar', ['-tzf', withPrebuild], { encoding: 'utf8' }).split('\n');
    for (const f of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cjs/index.js',
      'dist/cjs/index.d.ts',
      'dist/cjs/package.json',
      'dist/tfjs.js',
      'dist/cli/main.js',
      'binding.gyp',
      'native/binding/addon.cpp',
      'scripts/install.mjs',
      'demo/run.mjs',
      'docs/CLI.md',
      'LICENSE',
      'CHANGELOG.md',
      'README.md',
    ]) {
      expect(files, f).toContain(`package/${f}`);
    }
    // Both made on linux-x64 (linux-arm64 with the cross compiler), and prepack refuses without them.
    for (const target of ['linux-x64', 'linux-arm64']) {
      expect(
        files.some((f) => new RegExp(`^package/prebuilds/${target}/focal-loss\\.glibc\\.node$`).test(f)),
        target,
      ).toBe(process.platform === 'linux' && process.arch === 'x64');
    }
    expect(files.filter((f) => /^package\/(test|bench|build|lib|docs\/api)\//.test(f) || f.endsWith('.map'))).toEqual(
      [],
    );
  });
});

describe('installed from the tarball', () => {
  it('1. with a prebuild and the install script denied: nothing compiled, the prebuild is loaded, import/require/types work', () => {
    const { dir, out } = install('with-prebuild', withPrebuild, false);
    expect(out, 'the denied install script ran').not.toMatch(/focal-loss:/);
    const pkg = join(dir, 'node_modules', 'focal-loss');
    expect(existsSync(join(pkg, 'build'))).toBe(false);
    const lines = use(dir);
    expectRightValues(lines);
    for (const line of lines) expect(line.backend.name, JSON.stringify(line)).toBe('native');
    // The command line tool, through the link npm made for "bin".
    const table = run(join(dir, 'node_modules', '.bin', 'focal-loss'), ['table', '--json'], dir);
    expect(table.status, table.out).toBe(0);
    expect((JSON.parse(table.out) as { gammas: number[] }).gammas).toEqual([0, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 16]);
  });

  it('1b. with a prebuild and the install script allowed: the script says it uses the prebuild', () => {
    const { dir, out } = install('with-prebuild-scripts', withPrebuild, true);
    expect(out).toMatch(/focal-loss: using the prebuilt binary prebuilds\//);
    expect(existsSync(join(dir, 'node_modules', 'focal-loss', 'build'))).toBe(false);
  });

  it('2. no prebuild, a compiler: the install script compiles the addon', () => {
    const { dir, out } = install('compiled', withoutPrebuild, true);
    expect(out).toMatch(/focal-loss: native addon built/);
    expect(existsSync(join(dir, 'node_modules', 'focal-loss', 'build', 'Release', 'focal_loss.node'))).toBe(true);
    const lines = use(dir);
    expectRightValues(lines);
    for (const line of lines) expect(line.backend.name).toBe('native');
  });

  it('3. neither: one clear line at install, then the JS implementation', () => {
    // No working compiler: node-gyp's make calls $(CXX) and $(CC).
    const { dir, out } = install('neither', withoutPrebuild, true, { CXX: 'false', CC: 'false' });
    const ours = out.split('\n').filter((l) => l.includes('focal-loss:'));
    expect(ours).toEqual([
      'focal-loss: native build failed; the JavaScript implementation will be used (set FOCAL_LOSS_VERBOSE_INSTALL=1 to see why)',
    ]);
    const lines = use(dir);
    expectRightValues(lines);
    for (const line of lines) {
      expect(line.backend.name).toBe('js');
      expect(String(line.backend.loadError)).toMatch(/no prebuilt binary/);
    }
  });
});

const noEmulator = missing();
describe('installed from the tarball, run on arm64 (qemu-aarch64)', () => {
  const onX64 = process.platform === 'linux' && process.arch === 'x64';
  // In CI a missing emulator is a failure (.ci/run installs it): a skip there would hide a broken prebuild.
  it.runIf(onX64 && (!noEmulator || !!process.env.CI))(
    '4. the linux-arm64 prebuild is loaded (native, neon) and agrees with the x86-64 one within the contract',
    () => {
      expect(noEmulator, 'the arm64 emulator').toBeNull();
      // npm on this machine installs the files (nothing of them is per-machine but prebuilds/); the
      // install script is denied, as on an arm64 server where the prebuild needs none.
      const { dir } = install('arm64', withPrebuild, false);
      expect(existsSync(join(dir, 'node_modules', 'focal-loss', 'build'))).toBe(false);
      writeFileSync(join(dir, 'across.mjs'), ACROSS_MACHINES);
      const clean = { FOCAL_LOSS_BACKEND: undefined, FOCAL_LOSS_NATIVE_PATH: undefined, FOCAL_LOSS_SIMD: undefined };
      const [qemu, ...args] = arm64Node('across.mjs');
      const runs = [run(qemu!, args, dir, clean), run(process.execPath, ['across.mjs'], dir, clean)].map((r) => {
        expect(r.status, r.out).toBe(0);
        return JSON.parse(r.out.trim().split('\n').pop()!) as {
          arch: string;
          backend: { name: string; simd: string; path: string };
          out: Record<string, number[]>;
        };
      });
      const [arm, x64] = runs as [(typeof runs)[number], (typeof runs)[number]];
      expect(arm.arch).toBe('arm64');
      expect(arm.backend).toMatchObject({ name: 'native', simd: 'neon' });
      expect(arm.backend.path).toMatch(/node_modules\/focal-loss\/prebuilds\/linux-arm64\/focal-loss\.glibc\.node$/);
      expect(x64.backend).toMatchObject({ name: 'native' });
      expect(x64.backend.path).toMatch(/prebuilds\/linux-x64\//);
      const failures: string[] = [];
      let compared = 0;
      for (const [key, values] of Object.entries(x64.out)) {
        const tol = key.includes('Float32Array') ? TOL.float32 : TOL.float64;
        const other = arm.out[key]!;
        expect(other.length, key).toBe(values.length);
        values.forEach((v, i) => {
          compared++;
          // Each machine is within the tolerance of the exact value, so the two are within twice it.
          const m = mismatch(other[i]!, v, tol, 0, 2 * tol.rel);
          if (m) failures.push(`${key}[${i}]: arm64 ${m}`);
        });
      }
      console.log(`arm64 vs x86-64 prebuild: ${compared} values compared, ${failures.length} outside the contract`);
      expect(failures.slice(0, 20)).toEqual([]);
    },
  );
});
