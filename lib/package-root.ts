/**
 * The package's root directory, where build/ and prebuilds/ are. The only ESM-specific line of
 * lib/: the CommonJS build (scripts/build-cjs.mjs) compiles a copy of lib/ in which this file says
 * `resolve(__dirname, '..', '..')` instead (dist/cjs/ is one level deeper than dist/).
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
