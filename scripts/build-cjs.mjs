#!/usr/bin/env node
// The CommonJS build: dist/cjs/, next to the ES module build in dist/ (tsc -p tsconfig.build.json).
//
// The same sources compile to both; only lib/package-root.ts differs (import.meta does not exist in
// CommonJS), so a copy of lib/ is compiled here with that one file replaced. The copy lives in
// build/cjs-src/, inside the project so that its imports resolve to the project's node_modules,
// under a package.json of type "commonjs", so that tsc (module node16) emits require() and CommonJS
// declaration files. dist/cjs/package.json marks the output as CommonJS for Node and TypeScript.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'build', 'cjs-src');
const out = join(root, 'dist', 'cjs');

rmSync(src, { recursive: true, force: true });
rmSync(out, { recursive: true, force: true });
mkdirSync(src, { recursive: true });
cpSync(join(root, 'lib'), join(src, 'lib'), { recursive: true });
writeFileSync(
  join(src, 'lib', 'package-root.ts'),
  `// CommonJS twin of lib/package-root.ts, written by scripts/build-cjs.mjs (dist/cjs/ is two levels below the root).
import { resolve } from 'node:path';

export const packageRoot = resolve(__dirname, '..', '..');
`,
);
writeFileSync(join(src, 'package.json'), JSON.stringify({ type: 'commonjs' }) + '\n');
writeFileSync(
  join(src, 'tsconfig.json'),
  JSON.stringify(
    {
      extends: join(root, 'tsconfig.json'),
      compilerOptions: {
        module: 'Node16',
        moduleResolution: 'Node16',
        rootDir: 'lib',
        outDir: out,
        noEmit: false,
        sourceMap: false,
      },
      include: ['lib'],
    },
    null,
    2,
  ),
);

const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
const res = spawnSync(process.execPath, [tsc, '-p', join(src, 'tsconfig.json')], { stdio: 'inherit' });
if (res.status !== 0) process.exit(res.status ?? 1);
writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'commonjs' }) + '\n');
