#!/usr/bin/env node
// Checks the build description: native/build.json holds the native sources, defines and compiler
// flags once, as gyp variables that binding.gyp includes and CMakeLists.txt reads (the sanitizer
// build of scripts/test-asan.sh is a CMake build). This script fails (exit 1, problems listed) when
//   - a native/**/*.cpp on disk is not listed, a listed file is missing, or one is listed twice;
//   - binding.gyp or CMakeLists.txt does not use every variable of build.json, or binding.gyp
//     lists sources of its own;
//   - a source, define or flag of build.json is written again in binding.gyp, CMakeLists.txt or
//     scripts/test-asan.sh (a second copy would drift);
//   - the NAPI_VERSION define is not the highest of package.json's "binary.napi_versions" (the
//     Node-API headers cmake-js builds against).
//
//   node scripts/check-sources.mjs
//
// The functions are exported for test/build-sources.test.ts.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, posix, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMain } from './is-main.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const TARGET = 'focal_loss';
export const BUILD_JSON = 'native/build.json';
export const SOURCES_VARIABLE = 'focal_loss_sources';
export const DEFINES_VARIABLE = 'focal_loss_defines';
/** Files that must not repeat a value of build.json (sources: binding.gyp and CMakeLists.txt only). */
export const BUILD_FILES = ['binding.gyp', 'CMakeLists.txt', 'scripts/test-asan.sh'];

/** Normalises a source path to `native/x.cpp` form (forward slashes, no `./`). */
export function normalizeSource(p) {
  return posix.normalize(p.replace(/\\/g, '/'));
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
      if (i >= text.length) throw new SyntaxError('gyp: unterminated string');
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

/**
 * The variables of build.json, checked for the shape both readers accept: an object
 * `{ "variables": { name: string | string[] } }` and nothing else (gyp would merge any other key
 * into binding.gyp; CMake reads only `variables`).
 */
export function parseBuildDescription(text) {
  const json = JSON.parse(text);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new TypeError(`${BUILD_JSON}: expected an object`);
  }
  const keys = Object.keys(json);
  if (keys.length !== 1 || keys[0] !== 'variables') {
    throw new TypeError(`${BUILD_JSON}: expected exactly one key, "variables" (got ${JSON.stringify(keys)})`);
  }
  const variables = json.variables;
  if (variables === null || typeof variables !== 'object' || Array.isArray(variables)) {
    throw new TypeError(`${BUILD_JSON}: "variables" must be an object`);
  }
  for (const [name, value] of Object.entries(variables)) {
    const ok = typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'));
    if (!ok) throw new TypeError(`${BUILD_JSON}: variable "${name}" must be a string or a list of strings`);
  }
  if (!Array.isArray(variables[SOURCES_VARIABLE]) || variables[SOURCES_VARIABLE].length === 0) {
    throw new TypeError(`${BUILD_JSON}: "${SOURCES_VARIABLE}" must be a non-empty list`);
  }
  return variables;
}

/** The addon's `.cpp` files on disk: native/ and its folders, except the unit tests in native/test/ (normalised, sorted). */
export function nativeSourcesOnDisk(root = ROOT) {
  const dir = join(root, 'native');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map((f) => String(f).split(sep).join('/'))
    .filter((f) => f.endsWith('.cpp') && !f.startsWith('test/'))
    .map((f) => `native/${f}`)
    .sort();
}

/** Entries listed more than once (sorted). */
function duplicatesOf(list) {
  return [...new Set(list.filter((s, i) => list.indexOf(s) !== i))].sort();
}

/** The text of a CMake or shell file without its `#` comments (a `#` in code only hides more text). */
function withoutHashComments(text) {
  return text.replace(/#[^\n]*/g, '');
}

/** Every string in a parsed gyp value, in order. */
function gypStrings(value) {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(gypStrings);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...gypStrings(v)]);
  return [];
}

/**
 * Whether `text` holds `needle` as a whole word, not as part of a longer name or flag. A source
 * (its file name) may follow a directory; a define may follow `-D` and precede `=value`.
 */
function holdsWord(text, needle, kind) {
  const escaped = needle.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const before = kind === 'source' ? '(^|[^\\w.-])' : kind === 'define' ? '(^|[^\\w./=-]|-D)' : '(^|[^\\w./=-])';
  const after = kind === 'define' ? '($|[^\\w./-])' : '($|[^\\w./=-])';
  return new RegExp(`${before}${escaped}${after}`).test(text);
}

/**
 * Runs every check. Returns `{ ok, sources, onDisk, problems }`, where `problems` is a list of
 * human-readable messages (empty when everything is consistent).
 */
export function checkBuild(root = ROOT) {
  const read = (file) => readFileSync(join(root, file), 'utf8');
  const variables = parseBuildDescription(read(BUILD_JSON));
  const sources = variables[SOURCES_VARIABLE].map(normalizeSource);
  const onDisk = nativeSourcesOnDisk(root);
  const problems = [];

  // The list against native/.
  const twice = duplicatesOf(sources);
  if (twice.length) problems.push(`listed twice in ${BUILD_JSON}: ${twice.join(', ')}`);
  for (const file of sources) {
    if (!existsSync(join(root, file))) problems.push(`listed in ${BUILD_JSON} but missing on disk: ${file}`);
  }
  for (const file of onDisk) {
    if (!sources.includes(file)) problems.push(`${file} is not listed in ${BUILD_JSON}`);
  }

  // binding.gyp: includes build.json, its target's sources are the variable, every variable used.
  const gyp = parseGyp(read('binding.gyp'));
  if (!(gyp.includes ?? []).map(normalizeSource).includes(BUILD_JSON)) {
    problems.push(`binding.gyp does not include ${BUILD_JSON}`);
  }
  const target = (gyp.targets ?? []).find((t) => t.target_name === TARGET);
  if (!target) {
    problems.push(`binding.gyp: no target named "${TARGET}"`);
  } else if (JSON.stringify(target.sources) !== JSON.stringify([`<@(${SOURCES_VARIABLE})`])) {
    problems.push(`binding.gyp: the sources of "${TARGET}" must be exactly ['<@(${SOURCES_VARIABLE})']`);
  }
  const gypText = gypStrings({ ...gyp, includes: undefined }).join('\n');
  const cmakeText = withoutHashComments(read('CMakeLists.txt'));
  for (const name of Object.keys(variables)) {
    if (!gypText.includes(`<@(${name})`) && !gypText.includes(`<(${name})`)) {
      problems.push(`binding.gyp does not use the variable ${name} of ${BUILD_JSON}`);
    }
    if (!new RegExp(String.raw`focal_loss_build_value\(\s*\w+\s+${name}\s*\)`).test(cmakeText)) {
      problems.push(`CMakeLists.txt does not read the variable ${name} of ${BUILD_JSON}`);
    }
  }

  // No second copy of a value: the sources in the two build files, the defines (by name) and
  // flags in all three.
  const texts = {
    'binding.gyp': gypText,
    'CMakeLists.txt': cmakeText,
    'scripts/test-asan.sh': existsSync(join(root, 'scripts/test-asan.sh'))
      ? withoutHashComments(read('scripts/test-asan.sh'))
      : '',
  };
  for (const [name, value] of Object.entries(variables)) {
    if (!Array.isArray(value)) continue;
    for (const item of value) {
      const isSource = name === SOURCES_VARIABLE;
      const isDefine = name === DEFINES_VARIABLE;
      const needle = isSource ? posix.basename(item) : isDefine ? item.split('=')[0] : item;
      for (const file of BUILD_FILES) {
        if (isSource && file === 'scripts/test-asan.sh') continue; // it injects bugs into job.cpp by name
        if (holdsWord(texts[file], needle, isSource ? 'source' : isDefine ? 'define' : 'flag')) {
          problems.push(`${file} writes ${needle} again (it is in ${name} of ${BUILD_JSON})`);
        }
      }
    }
  }

  // NAPI_VERSION against package.json.
  const napiDefine = (variables[DEFINES_VARIABLE] ?? []).find((d) => d.startsWith('NAPI_VERSION='));
  const napiVersions = JSON.parse(read('package.json')).binary?.napi_versions;
  if (!napiDefine) {
    problems.push(`${BUILD_JSON}: no NAPI_VERSION=<n> in ${DEFINES_VARIABLE}`);
  } else if (!Array.isArray(napiVersions) || Math.max(...napiVersions) !== Number(napiDefine.split('=')[1])) {
    problems.push(
      `${napiDefine} (${BUILD_JSON}) is not the highest of package.json "binary.napi_versions" ` +
        `(${JSON.stringify(napiVersions)})`,
    );
  }

  return { ok: problems.length === 0, sources, onDisk, problems };
}

if (isMain(import.meta.url)) {
  let result;
  try {
    result = checkBuild();
  } catch (err) {
    console.error(`check-sources: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  if (result.ok) {
    console.log(
      `check-sources: ${BUILD_JSON} lists every native/**/*.cpp, and binding.gyp and CMakeLists.txt ` +
        `read it without copies (${result.sources.join(', ')})`,
    );
  } else {
    console.error('check-sources: the build description is inconsistent');
    for (const p of result.problems) console.error(`  - ${p}`);
    console.error(`  ${BUILD_JSON}: ${result.sources.join(' ') || '(none)'}`);
    console.error(`  native/**/*.cpp     : ${result.onDisk.join(' ') || '(none)'}`);
    process.exit(1);
  }
}
