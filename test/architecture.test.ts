/**
 * The README's Architecture section is the map of the tree: every folder of the source tree is in
 * it and every folder in it exists, so moving a folder without updating the map fails here.
 *
 * Compared: the top-level folders, and every folder under lib/ and native/ (the layers). Folders
 * that are outputs or tools' caches (node_modules, dist, build, prebuilds, coverage, docs/api) and
 * hidden ones are not part of the source tree.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NOT_SOURCE = new Set(['node_modules', 'dist', 'build', 'prebuilds', 'coverage']);
const LAYERED = ['lib', 'native'];

/** The folders of the README's tree: `name/` entries, nested by their indentation (2 spaces a level). */
function mappedFolders(readme: string): string[] {
  const section = readme.slice(readme.indexOf('## Architecture'));
  const block = /```text\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md: no ```text tree in the Architecture section');
  const stack: string[] = [];
  const folders: string[] = [];
  for (const line of block[1].split('\n')) {
    const m = /^( *)([A-Za-z0-9_.-]+)\/(\s|$)/.exec(line);
    if (!m) continue;
    const depth = m[1].length / 2;
    stack.length = depth;
    stack.push(m[2]);
    folders.push(stack.join('/'));
  }
  return folders.sort();
}

function foldersOnDisk(): string[] {
  const out: string[] = [];
  const walk = (rel: string, deep: boolean) => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.') || NOT_SOURCE.has(entry.name)) continue;
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (path === 'docs/api') continue;
      out.push(path);
      if (deep || LAYERED.includes(path)) walk(path, true);
    }
  };
  walk('', false);
  return out.sort();
}

describe("README's Architecture section", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');

  it('lists exactly the folders of the source tree (top level, and everything under lib/ and native/)', () => {
    expect(mappedFolders(readme)).toEqual(foldersOnDisk());
  });

  it('reads a nested tree (the parser itself)', () => {
    const tree = '## Architecture\n```text\na/   x\n  b/   y\n    c/ z\nd/\n  file.ts  not a folder\n```\n';
    expect(mappedFolders(tree)).toEqual(['a', 'a/b', 'a/b/c', 'd']);
  });
});
