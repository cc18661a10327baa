/**
 * The package as users get it: `npm pack`, then the tarball installed into fresh projects and used
 * from an .mjs file, a .cjs file and .ts/.cts files type-checked by tsc, in the three situations of
 * an install:
 *   1. a prebuilt binary for this machine in the tarball: no compiling, the prebuild is loaded;
 *   2. no prebuild but a compiler: the install script compiles the addon;
 *   3. neither: the install prints one clear line, and the JS implementation is used.
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
import { CJS, CTS, MJS, TS, TSCONFIG, packageJson } from './consumer.js';

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
    expect(files.some((f) => /^package\/prebuilds\/linux-x64\/.*\.node$/.test(f))).toBe(
      process.platform === 'linux' && process.arch === 'x64',
    );
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
