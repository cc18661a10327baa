#!/usr/bin/env node
// Checks that binding.gyp (node-gyp) and CMakeLists.txt (cmake-js) compile the same native sources,
// and that every native/*.cpp on disk is built. Exits 1 with both lists printed when they differ.
//
//   node scripts/check-sources.mjs
//
// The functions are exported for test/build-sources.test.ts.

import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const TARGET = 'focal_loss';
export const CMAKE_SOURCES_VARIABLE = 'FOCAL_LOSS_SOURCES';

/** Normalises a source path to `native/x.cpp` form (forward slashes, no `./`, no CMake dir prefix). */
export function normalizeSource(p) {
  return posix.normalize(
    p.replace(/\\/g, '/').replace(/^\$\{(CMAKE_CURRENT_SOURCE_DIR|CMAKE_SOURCE_DIR|PROJECT_SOURCE_DIR)\}\//, ''),
  );
}

/**
 * Converts gyp's Python-literal syntax (single or double quoted strings, `#` comments, trailing
 * commas) to JSON and parses it.
 */
export function parseGyp(text) {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (ch === "'" || ch === '"') {
      let value = '';
      i++;
      while (i < text.length && text[i] !== ch) {
        if (text[i] === '\\' && i + 1 < text.length) {
          const next = text[i + 1];
          value += next === 'n' ? '\n' : next === 't' ? '\t' : next;
          i += 2;
        } else {
          value += text[i++];
        }
      }
      if (i >= text.length) throw new SyntaxError('binding.gyp: unterminated string');
      i++;
      out += JSON.stringify(value);
    } else if (ch === ',' && /^(\s|#[^\n]*)*[\]}]/.test(text.slice(i + 1))) {
      i++; // Python allows a trailing comma before `]` / `}`; JSON does not.
    } else {
      out += ch;
      i++;
    }
  }
  return JSON.parse(out);
}

/** The `sources` of target `focal_loss` in binding.gyp (all entries, normalised). */
export function gypSources(text) {
  const gyp = parseGyp(text);
  const target = (gyp.targets ?? []).find((t) => t.target_name === TARGET);
  if (!target) throw new Error(`binding.gyp: no target named "${TARGET}"`);
  if (!Array.isArray(target.sources)) throw new Error(`binding.gyp: target "${TARGET}" has no sources list`);
  return target.sources.map(normalizeSource);
}

/** The entries of `set(FOCAL_LOSS_SOURCES ...)` in CMakeLists.txt (normalised). */
export function cmakeSources(text) {
  // Drop comments (`#` to end of line; none of our arguments contain `#`).
  const code = text.replace(/#[^\n]*/g, '');
  const re = new RegExp(String.raw`\bset\s*\(\s*${CMAKE_SOURCES_VARIABLE}\b([^)]*)\)`, 'i');
  const match = code.match(re);
  if (!match) throw new Error(`CMakeLists.txt: no set(${CMAKE_SOURCES_VARIABLE} ...)`);
  return match[1]
    .split(/\s+/)
    .map((s) => s.replace(/^"(.*)"$/, '$1'))
    .filter(Boolean)
    .map(normalizeSource);
}

/** `native/*.cpp` files on disk (normalised, sorted). */
export function nativeSourcesOnDisk(root = ROOT) {
  const dir = join(root, 'native');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpp'))
    .map((f) => `native/${f}`)
    .sort();
}

/** Compares two lists as sets: `{ equal, onlyInA, onlyInB }` (duplicates are reported too). */
export function compareSourceLists(a, b) {
  const setA = new Set(a);
  const setB = new Set(b);
  const onlyInA = [...setA].filter((s) => !setB.has(s)).sort();
  const onlyInB = [...setB].filter((s) => !setA.has(s)).sort();
  const duplicates = [...a.filter((s, i) => a.indexOf(s) !== i), ...b.filter((s, i) => b.indexOf(s) !== i)];
  return {
    equal: onlyInA.length === 0 && onlyInB.length === 0 && duplicates.length === 0,
    onlyInA,
    onlyInB,
    duplicates: [...new Set(duplicates)].sort(),
  };
}

/**
 * Runs every check. Returns `{ ok, gyp, cmake, onDisk, problems }`, where `problems` is a list of
 * human-readable messages (empty when everything is consistent).
 */
export function checkSources(root = ROOT) {
  const gyp = gypSources(readFileSync(join(root, 'binding.gyp'), 'utf8'));
  const cmake = cmakeSources(readFileSync(join(root, 'CMakeLists.txt'), 'utf8'));
  const onDisk = nativeSourcesOnDisk(root);
  const problems = [];

  const diff = compareSourceLists(gyp, cmake);
  if (diff.onlyInA.length) problems.push(`only in binding.gyp: ${diff.onlyInA.join(', ')}`);
  if (diff.onlyInB.length) problems.push(`only in CMakeLists.txt: ${diff.onlyInB.join(', ')}`);
  if (diff.duplicates.length) problems.push(`listed twice: ${diff.duplicates.join(', ')}`);

  for (const file of new Set([...gyp, ...cmake])) {
    if (!existsSync(join(root, file))) problems.push(`listed but missing on disk: ${file}`);
  }
  for (const file of onDisk) {
    const missing = [gyp.includes(file) ? null : 'binding.gyp', cmake.includes(file) ? null : 'CMakeLists.txt'];
    const where = missing.filter(Boolean);
    if (where.length) problems.push(`${file} is not listed in ${where.join(' and ')}`);
  }
  return { ok: problems.length === 0, gyp, cmake, onDisk, problems };
}

function isMain() {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  let result;
  try {
    result = checkSources();
  } catch (err) {
    console.error(`check-sources: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  if (result.ok) {
    console.log(`check-sources: binding.gyp and CMakeLists.txt agree (${result.gyp.join(', ')})`);
  } else {
    console.error('check-sources: native source lists are inconsistent');
    for (const p of result.problems) console.error(`  - ${p}`);
    console.error(`  binding.gyp     : ${result.gyp.join(' ') || '(none)'}`);
    console.error(`  CMakeLists.txt  : ${result.cmake.join(' ') || '(none)'}`);
    console.error(`  native/*.cpp    : ${result.onDisk.join(' ') || '(none)'}`);
    process.exit(1);
  }
}
