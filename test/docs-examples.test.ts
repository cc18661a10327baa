/**
 * Every code example in README.md and docs/*.md runs as written, on each backend.
 *
 * The convention for fenced code blocks (the word after the opening fence):
 *   js, mjs     an ES module: run as an .mjs file;
 *   cjs         a CommonJS script: run as a .cjs file;
 *   ts          TypeScript: type-checked with tsc --strict, then run (types stripped) as an .mjs file;
 *   ts-snippet  a fragment of JS or TypeScript that is not meant to run on its own (shown, not run);
 *   sh, text, json, anything else, or no word at all: not code that runs in Node (not run).
 * So a block that shows code a reader could paste into a file is js/mjs/cjs/ts and must run; a
 * fragment (an option object, a call without its setup) is ts-snippet.
 *
 * How: each block is written to build/docs-examples/ inside the repository and run with Node from
 * there, so `import ... from 'focal-loss'` and 'focal-loss/tfjs' resolve to this package through
 * its own `exports` map (the package's self-reference by name) — the built dist/, so `npm run
 * build` first (`npm test` does). Each block runs once per backend (FOCAL_LOSS_BACKEND=native when
 * the addon is available, and =js); FOCAL_LOSS_BACKEND=js in the environment runs only the JS one.
 * A block that fails (type error, exception, non-zero exit) fails the test named by its file and line.
 *
 * CHECKS below adds assertions to particular blocks: the results their comments promise
 * (`r.grad; // Float32Array(4)`). A check whose block is no longer found fails, so the examples
 * and their checks change together.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNative } from '../lib/backends/native/loader.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, 'build', 'docs-examples');

const RUNNABLE = new Set(['js', 'mjs', 'cjs', 'ts']);

interface Block {
  /** Path relative to the repository root, and the line of the opening fence (1-based). */
  file: string;
  line: number;
  lang: string;
  code: string;
}

/** The fenced code blocks of a Markdown file (``` or ~~~, up to 3 spaces of indentation). */
function fencedBlocks(file: string, text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const closing = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    let j = i + 1;
    while (j < lines.length && !closing.test(lines[j]!)) j++;
    blocks.push({ file, line: i + 1, lang: open[2]!.toLowerCase(), code: lines.slice(i + 1, j).join('\n') + '\n' });
    i = j;
  }
  return blocks;
}

/** Assertions appended to the block of `file` that contains `contains` (ES module code). */
const CHECKS: { file: string; contains: string; append: string }[] = [
  {
    file: 'README.md',
    contains: 'const r = sigmoidFocalLoss(logits, targets, { gamma: 2, alpha: 0.25, gradient: true });',
    append: `
const each = sigmoidFocalLoss(logits, targets, { gamma: 2, alpha: 0.25, reduction: 'none' }).loss;
check(typeof r.loss === 'number' && r.count === 4, 'r.loss is a number over 4 elements');
check(Math.abs(r.loss - each.reduce((a, b) => a + b, 0) / 4) < 1e-7, 'r.loss is the mean of the 4 losses');
check(r.grad instanceof Float32Array && r.grad.length === 4, 'r.grad is a Float32Array(4)');
check(typeof s.loss === 'number' && s.count === 2, 's.loss is a number over 2 samples');
check(s.grad instanceof Float64Array && s.grad.length === 6, 's.grad is a Float64Array(6)');
check(backend().name === process.env.FOCAL_LOSS_BACKEND, 'backend() is the one asked for');
`,
  },
  {
    file: 'README.md',
    contains: 'const r = await sigmoidFocalLossAsync(logits, targets, { out: { grad } });',
    append: `
const sync = sigmoidFocalLoss(logits, targets);
check(r.grad === grad, 'the gradient is written into out.grad');
check(r.loss === sync.loss, 'the async loss is the sync loss, exactly');
`,
  },
  {
    file: 'README.md',
    contains: 'const history = await model.fit(x, y, { epochs: 5, verbose: 0 });',
    append: `
const losses = history.history.loss;
check(losses.length === 5 && losses.every(Number.isFinite), '5 finite losses');
check(losses[4] < losses[0], 'the loss falls: ' + losses.join(', '));
`,
  },
];

/** Prepended to the blocks that have checks: the function the checks call. */
const PRELUDE = `const check = (ok, what) => { if (!ok) throw new Error('docs example check failed: ' + what); };\n`;

function markdownFiles(): string[] {
  const docs = join(root, 'docs');
  const inDocs = existsSync(docs)
    ? readdirSync(docs)
        .filter((f) => f.endsWith('.md'))
        .sort()
        .map((f) => join('docs', f))
    : [];
  return ['README.md', ...inDocs];
}

const blocks = markdownFiles().flatMap((file) => fencedBlocks(file, readFileSync(join(root, file), 'utf8')));
const runnable = blocks.filter((b) => RUNNABLE.has(b.lang));

function checksFor(block: Block) {
  return CHECKS.filter((c) => c.file === block.file && block.code.includes(c.contains));
}

/** The file name for a block: docs/TFJS.md at line 20 -> docs-TFJS.md-20.<ext>. */
function fileFor(block: Block, ext: string) {
  return join(work, `${block.file.replace(/[\\/]/g, '-')}-${block.line}.${ext}`);
}

/** The source that runs: the block, its checks (ES modules only), and what they need. */
function sourceOf(block: Block): string {
  const checks = checksFor(block);
  if (checks.length === 0) return block.code;
  // A check may call functions the block did not import; import declarations are hoisted.
  const imports = `import { backend, sigmoidFocalLoss } from 'focal-loss';\n`;
  const code = block.code.replace(/import \{([^}]*)\} from 'focal-loss';/, (all, names: string) => {
    const extra = ['backend', 'sigmoidFocalLoss'].filter((n) => !new RegExp(`\\b${n}\\b`).test(names));
    return extra.length ? `import {${names}, ${extra.join(', ')} } from 'focal-loss';` : all;
  });
  const needsImports = !/from 'focal-loss';/.test(block.code);
  return (needsImports ? imports : '') + PRELUDE + code + checks.map((c) => c.append).join('');
}

const backendNames: Array<'native' | 'js'> = [
  ...(process.env.FOCAL_LOSS_BACKEND !== 'js' && loadNative().kernels ? (['native'] as const) : []),
  'js',
];

let typeErrors = new Map<string, string>();

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  // TypeScript blocks: one strict program over all of them, as a user's project would compile them.
  const tsFiles = runnable.filter((b) => b.lang === 'ts').map((b) => fileFor(b, 'mts'));
  runnable.filter((b) => b.lang === 'ts').forEach((b, i) => writeFileSync(tsFiles[i]!, b.code));
  if (tsFiles.length > 0) {
    const program = ts.createProgram(tsFiles, {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ['node'],
      skipLibCheck: true,
    });
    typeErrors = new Map();
    for (const d of ts.getPreEmitDiagnostics(program)) {
      const file = d.file ? resolve(d.file.fileName) : '';
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
      const text = `line ${where} of the block: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      typeErrors.set(file, [typeErrors.get(file), text].filter(Boolean).join('\n'));
    }
  }
  for (const block of runnable) {
    let source = sourceOf(block);
    if (block.lang === 'ts') {
      source = ts.transpileModule(source, {
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
      }).outputText;
    }
    writeFileSync(fileFor(block, block.lang === 'cjs' ? 'cjs' : 'mjs'), source);
  }
}, 180_000); // one tsc program: seconds, more on a busy machine

describe('the docs have code examples, and every check finds its block', () => {
  it('README.md has runnable examples', () => {
    expect(runnable.filter((b) => b.file === 'README.md').length).toBeGreaterThan(0);
  });
  it.each(CHECKS.map((c) => [`${c.file}: ${c.contains}`, c] as const))('%s', (_name, check) => {
    const found = runnable.filter((b) => b.file === check.file && b.code.includes(check.contains));
    expect(found.length, `no runnable block of ${check.file} contains: ${check.contains}`).toBe(1);
  });
});

describe('the README and the TSDoc state the async rule in the same words', () => {
  const rule =
    'Do not modify, transfer or resize the arrays passed to an async call (inputs and `out` buffers) ' +
    'until its promise settles. If you do, the results are unspecified, but never a crash or an ' +
    'out-of-bounds access, and a failed call never writes your `out` buffers.';
  // Markdown emphasis, line breaks and comment prefixes aside.
  const flat = (text: string) =>
    text
      .replace(/^\s*\*(?!\*)/gm, ' ')
      .replace(/\*\*/g, '')
      .replace(/\s+/g, ' ');
  it.each(['README.md', 'lib/index.ts'])('%s', (file) => {
    expect(flat(readFileSync(join(root, file), 'utf8'))).toContain(rule);
  });
});

describe.each(backendNames)('docs examples, FOCAL_LOSS_BACKEND=%s', (backendName) => {
  it.each(runnable.map((b) => [`${b.file}:${b.line} (${b.lang})`, b] as const))(
    '%s runs as written',
    (_name, block) => {
      if (block.lang === 'ts') {
        const errors = typeErrors.get(resolve(fileFor(block, 'mts')));
        expect(errors, `${block.file}:${block.line}: the TypeScript example does not type-check`).toBeUndefined();
      }
      const file = fileFor(block, block.lang === 'cjs' ? 'cjs' : 'mjs');
      const r = spawnSync(process.execPath, [file], {
        cwd: root,
        encoding: 'utf8',
        timeout: 180_000,
        env: { ...process.env, FOCAL_LOSS_BACKEND: backendName },
      });
      const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
      expect(
        r.status,
        `${block.file}:${block.line}: the example failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}; ` +
          `run it: node ${relative(root, file)})\n${output}`,
      ).toBe(0);
    },
    200_000,
  );
});
