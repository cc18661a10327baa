/**
 * Build plumbing: node-gyp (binding.gyp) and cmake-js (CMakeLists.txt) must compile the same native
 * sources, and every native/*.cpp must be compiled by both.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import {
  ROOT,
  checkSources,
  cmakeSources,
  compareSourceLists,
  gypSources,
  nativeSourcesOnDisk,
} from '../scripts/check-sources.mjs';

describe('native source lists (repository)', () => {
  const result = checkSources();

  it('binding.gyp and CMakeLists.txt list the same sources', () => {
    expect(result.gyp.length).toBeGreaterThan(0);
    expect([...result.cmake].sort()).toEqual([...result.gyp].sort());
  });

  it('every listed source exists', () => {
    const missing = [...result.gyp, ...result.cmake].filter((f) => !existsSync(join(ROOT, f)));
    expect(missing).toEqual([]);
  });

  it('every native/*.cpp on disk is listed in both build files', () => {
    const onDisk = nativeSourcesOnDisk();
    expect(onDisk.length).toBeGreaterThan(0);
    expect(onDisk.filter((f) => !result.gyp.includes(f))).toEqual([]);
    expect(onDisk.filter((f) => !result.cmake.includes(f))).toEqual([]);
  });

  it('reports no problems', () => {
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
  });
});

describe('compareSourceLists', () => {
  it('accepts the same files in any order', () => {
    expect(compareSourceLists(['native/a.cpp', 'native/b.cpp'], ['native/b.cpp', 'native/a.cpp'])).toEqual({
      equal: true,
      onlyInA: [],
      onlyInB: [],
      duplicates: [],
    });
  });

  it('reports files present on one side only', () => {
    const diff = compareSourceLists(['native/a.cpp', 'native/b.cpp'], ['native/a.cpp', 'native/c.cpp']);
    expect(diff.equal).toBe(false);
    expect(diff.onlyInA).toEqual(['native/b.cpp']);
    expect(diff.onlyInB).toEqual(['native/c.cpp']);
  });

  it('reports a file listed twice', () => {
    const diff = compareSourceLists(['native/a.cpp', 'native/a.cpp'], ['native/a.cpp']);
    expect(diff.equal).toBe(false);
    expect(diff.duplicates).toEqual(['native/a.cpp']);
  });
});

describe('parsers', () => {
  it('reads gyp sources through comments, both quote styles and trailing commas', () => {
    const gyp = `# comment with 'quote'
{
  'variables': { 'x%': "<!(node -p \\"'a,]'\\")" },  # trailing comment
  'targets': [
    { 'target_name': 'other', 'sources': ['native/other.cpp'] },
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
    expect(gypSources(gyp)).toEqual(['native/a.cpp', 'native/b.cpp']);
  });

  it('throws when the gyp target is missing', () => {
    expect(() => gypSources("{ 'targets': [ { 'target_name': 'x', 'sources': [] } ] }")).toThrow(/focal_loss/);
  });

  it('reads the CMake source variable, ignoring comments and directory prefixes', () => {
    const cmake = `
set(OTHER native/other.cpp)
set(FOCAL_LOSS_SOURCES
  native/a.cpp # first
  "\${CMAKE_CURRENT_SOURCE_DIR}/native/b.cpp"
  # native/commented_out.cpp
)`;
    expect(cmakeSources(cmake)).toEqual(['native/a.cpp', 'native/b.cpp']);
  });
});

describe('checkSources on a scratch tree', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  function tree(gyp: string[], cmake: string[], files: string[]): string {
    dir = mkdtempSync(join(tmpdir(), 'focal-loss-sources-'));
    mkdirSync(join(dir, 'native'));
    for (const f of files) writeFileSync(join(dir, f), '');
    writeFileSync(
      join(dir, 'binding.gyp'),
      `{ 'targets': [ { 'target_name': 'focal_loss', 'sources': [ ${gyp.map((f) => `'${f}'`).join(', ')} ] } ] }`,
    );
    writeFileSync(join(dir, 'CMakeLists.txt'), `set(FOCAL_LOSS_SOURCES\n  ${cmake.join('\n  ')}\n)\n`);
    return dir;
  }

  it('passes a consistent tree', () => {
    const root = tree(['native/a.cpp'], ['native/a.cpp'], ['native/a.cpp', 'native/a.hpp']);
    expect(checkSources(root)).toMatchObject({ ok: true, problems: [] });
  });

  it('fails when the lists differ', () => {
    const root = tree(['native/a.cpp', 'native/b.cpp'], ['native/a.cpp'], ['native/a.cpp', 'native/b.cpp']);
    const result = checkSources(root);
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/only in binding\.gyp: native\/b\.cpp/);
  });

  it('fails when a listed file is missing', () => {
    const root = tree(['native/a.cpp'], ['native/a.cpp'], []);
    expect(checkSources(root).problems.join('\n')).toMatch(/missing on disk: native\/a\.cpp/);
  });

  it('fails when a .cpp on disk is not built', () => {
    const root = tree(['native/a.cpp'], ['native/a.cpp'], ['native/a.cpp', 'native/new.cpp']);
    expect(checkSources(root).problems.join('\n')).toMatch(
      /native\/new\.cpp is not listed in binding\.gyp and CMakeLists\.txt/,
    );
  });
});
