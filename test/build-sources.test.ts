/**
 * Build plumbing: native/build.json holds the sources, defines and flags once; binding.gyp
 * (node-gyp) and CMakeLists.txt (cmake-js, plain cmake, the sanitizer build) read it and copy none
 * of it, and every native/*.cpp is listed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import {
  BUILD_JSON,
  ROOT,
  checkBuild,
  nativeSourcesOnDisk,
  parseBuildDescription,
  parseGyp,
} from '../scripts/check-sources.mjs';

describe('the build description (repository)', () => {
  const result = checkBuild();

  it('lists exactly the native/*.cpp on disk', () => {
    expect(result.sources.length).toBeGreaterThan(0);
    expect([...result.sources].sort()).toEqual(nativeSourcesOnDisk());
  });

  it('reports no problems', () => {
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
  });
});

describe('parsers', () => {
  it('reads gyp through comments, both quote styles and trailing commas', () => {
    const gyp = `# comment with 'quote'
{
  'variables': { 'x%': "<!(node -p \\"'a,]'\\")" },  # trailing comment
  'targets': [
    {
      'target_name': 'focal_loss',
      'sources': [
        'native/a.cpp',  # first
        "./native/b.cpp",
        # 'native/commented_out.cpp',
      ],
    },
  ],
}`;
    expect(parseGyp(gyp)).toEqual({
      variables: { 'x%': `<!(node -p "'a,]'")` },
      targets: [{ target_name: 'focal_loss', sources: ['native/a.cpp', './native/b.cpp'] }],
    });
  });

  it('accepts build.json variables that are strings or lists of strings', () => {
    const text = JSON.stringify({ variables: { focal_loss_sources: ['native/a.cpp'], focal_loss_std: '17' } });
    expect(parseBuildDescription(text)).toEqual({ focal_loss_sources: ['native/a.cpp'], focal_loss_std: '17' });
  });

  it.each([
    ['another top-level key (gyp would merge it into binding.gyp)', { variables: { focal_loss_sources: ['a'] }, x: 1 }],
    ['a number', { variables: { focal_loss_sources: ['a'], n: 8 } }],
    ['a list with a non-string', { variables: { focal_loss_sources: ['a', true] } }],
    ['no sources', { variables: { focal_loss_defines: [] } }],
    ['an empty source list', { variables: { focal_loss_sources: [] } }],
  ])('rejects %s', (_what, json) => {
    expect(() => parseBuildDescription(JSON.stringify(json))).toThrow(TypeError);
  });
});

describe('checkBuild on a scratch tree', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  const GYP = `{
  'includes': [ 'native/build.json' ],
  'targets': [ {
    'target_name': 'focal_loss',
    'sources': [ '<@(focal_loss_sources)' ],
    'defines': [ '<@(focal_loss_defines)' ],
    'cflags_cc': [ '<@(focal_loss_cflags)' ],
  } ],
}`;
  const CMAKE = `# -O3 in a comment is no copy
focal_loss_build_value(SOURCES focal_loss_sources)
focal_loss_build_value(DEFINES focal_loss_defines)
focal_loss_build_value(CFLAGS focal_loss_cflags)
`;
  const ASAN = 'cmake -S . -B build/sanitize -DFOCAL_LOSS_SANITIZE=ON # not -DNAPI_VERSION=8\n';

  interface Tree {
    sources?: string[];
    defines?: string[];
    files?: string[];
    gyp?: string;
    cmake?: string;
    asan?: string;
    napiVersions?: number[];
  }

  function tree({
    sources = ['native/a.cpp'],
    defines = ['NAPI_VERSION=8', 'NDEBUG_LIKE'],
    files = ['native/a.cpp', 'native/a.hpp'],
    gyp = GYP,
    cmake = CMAKE,
    asan = ASAN,
    napiVersions = [8],
  }: Tree = {}): string {
    dir = mkdtempSync(join(tmpdir(), 'focal-loss-build-'));
    mkdirSync(join(dir, 'native'));
    mkdirSync(join(dir, 'scripts'));
    for (const f of files) writeFileSync(join(dir, f), '');
    const variables = { focal_loss_sources: sources, focal_loss_defines: defines, focal_loss_cflags: ['-O3', '-Wall'] };
    writeFileSync(join(dir, BUILD_JSON), JSON.stringify({ variables }));
    writeFileSync(join(dir, 'binding.gyp'), gyp);
    writeFileSync(join(dir, 'CMakeLists.txt'), cmake);
    writeFileSync(join(dir, 'scripts/test-asan.sh'), asan);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ binary: { napi_versions: napiVersions } }));
    return dir;
  }
  const problems = (root: string) => checkBuild(root).problems.join('\n');

  it('passes a consistent tree', () => {
    expect(checkBuild(tree())).toMatchObject({ ok: true, problems: [] });
  });

  it('fails when a .cpp on disk is not listed', () => {
    expect(problems(tree({ files: ['native/a.cpp', 'native/new.cpp'] }))).toMatch(
      /native\/new\.cpp is not listed in native\/build\.json/,
    );
  });

  it('fails when a listed file is missing', () => {
    expect(problems(tree({ files: [] }))).toMatch(/missing on disk: native\/a\.cpp/);
  });

  it('fails when a file is listed twice', () => {
    expect(problems(tree({ sources: ['native/a.cpp', 'native/a.cpp'] }))).toMatch(/listed twice.*native\/a\.cpp/);
  });

  it('fails when binding.gyp does not include build.json', () => {
    expect(problems(tree({ gyp: GYP.replace("'includes': [ 'native/build.json' ],", '') }))).toMatch(
      /binding\.gyp does not include native\/build\.json/,
    );
  });

  it('fails when binding.gyp lists a source of its own', () => {
    const gyp = GYP.replace("'<@(focal_loss_sources)'", "'<@(focal_loss_sources)', 'native/b.cpp'");
    expect(problems(tree({ gyp }))).toMatch(/sources of "focal_loss" must be exactly/);
  });

  it('fails when a build file ignores a variable', () => {
    const gyp = GYP.replace("'cflags_cc': [ '<@(focal_loss_cflags)' ],", '');
    expect(problems(tree({ gyp }))).toMatch(/binding\.gyp does not use the variable focal_loss_cflags/);
    const cmake = CMAKE.replace('focal_loss_build_value(CFLAGS focal_loss_cflags)', '');
    expect(problems(tree({ cmake }))).toMatch(/CMakeLists\.txt does not read the variable focal_loss_cflags/);
  });

  it('fails when a build file writes a source, define or flag again', () => {
    expect(problems(tree({ cmake: `${CMAKE}add_library(x native/a.cpp)\n` }))).toMatch(
      /CMakeLists\.txt writes a\.cpp again/,
    );
    expect(problems(tree({ asan: `${ASAN}CXXFLAGS="-DNAPI_VERSION=8 -O3"\n` }))).toMatch(
      /test-asan\.sh writes NAPI_VERSION again[^]*test-asan\.sh writes -O3 again/,
    );
    expect(
      problems(tree({ gyp: GYP.replace("'<@(focal_loss_defines)'", "'<@(focal_loss_defines)', 'NDEBUG_LIKE'") })),
    ).toMatch(/binding\.gyp writes NDEBUG_LIKE again/);
  });

  it('does not count a longer name or flag as a copy', () => {
    const cmake = `${CMAKE}set(X -O3x NAPI_VERSION_MAX -Wall-extra)\n`;
    expect(checkBuild(tree({ cmake }))).toMatchObject({ ok: true, problems: [] });
  });

  it('fails when NAPI_VERSION is not the highest of package.json binary.napi_versions', () => {
    expect(problems(tree({ napiVersions: [9] }))).toMatch(/NAPI_VERSION=8 .* not the highest.*\[9\]/);
    expect(problems(tree({ defines: ['NDEBUG_LIKE'] }))).toMatch(/no NAPI_VERSION/);
  });
});

// The one reader that is not JavaScript: configure the real CMakeLists.txt (no compiling) and check
// that every compile command carries build.json's sources, defines and flags.
const cmake = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
describe.skipIf(cmake.status !== 0)('CMakeLists.txt reads native/build.json', () => {
  it('compiles every source of build.json with its defines and flags', () => {
    const out = mkdtempSync(join(tmpdir(), 'focal-loss-cmake-'));
    try {
      const res = spawnSync(
        'cmake',
        ['-S', ROOT, '-B', out, '-DCMAKE_EXPORT_COMPILE_COMMANDS=ON', '-DFOCAL_LOSS_NATIVE_TESTS=OFF'],
        { encoding: 'utf8', timeout: 120_000 },
      );
      expect(res.status, res.stderr).toBe(0);
      const commands = JSON.parse(readFileSync(join(out, 'compile_commands.json'), 'utf8')) as {
        file: string;
        command: string;
      }[];
      const { variables } = JSON.parse(readFileSync(join(ROOT, BUILD_JSON), 'utf8')) as {
        variables: Record<string, string[]>;
      };
      expect(commands.map((c) => c.file).sort()).toEqual(variables.focal_loss_sources.map((s) => join(ROOT, s)).sort());
      for (const { command } of commands) {
        const words = command.split(/\s+/);
        for (const d of variables.focal_loss_defines) expect(words).toContain(`-D${d}`);
        for (const f of variables.focal_loss_cflags) expect(words).toContain(f);
        expect(words).toContain(`-std=c++${variables.focal_loss_cxx_standard}`);
      }
      expect(existsSync(join(out, 'CMakeCache.txt'))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 180_000);
});
