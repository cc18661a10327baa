/**
 * @tensorflow/tfjs-core, loaded with require() so that a missing copy is one clear error instead of a
 * raw "Cannot find module" from a static import, which fails before any code of this package runs.
 *
 * It is an optional peer dependency: the main entry point never loads it, focal-loss/tfjs does. It
 * resolves from this package's directory, as a static import would, and it is the same module
 * instance as the user's `import '@tensorflow/tfjs'`: tfjs-core 4.x has no "exports" map, so import
 * and require both load its CommonJS "main" (test/tfjs.test.ts trains a model built with the user's
 * tf, which would fail with two engines).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as TfCore from '@tensorflow/tfjs-core';
import { packageRoot } from '../package-root.js';

const NAME = '@tensorflow/tfjs-core';

function load(): typeof TfCore {
  const require = createRequire(join(packageRoot, 'package.json'));
  try {
    return require(NAME) as typeof TfCore;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    // Only its own absence: an error inside tfjs-core, or a dependency of it missing, is told as it is.
    if (e?.code !== 'MODULE_NOT_FOUND' || !String(e.message).includes(`'${NAME}'`)) throw error;
    const clear = new Error(
      `focal-loss/tfjs needs ${NAME}, an optional peer dependency of focal-loss, and it is not installed. ` +
        `Install it (npm install ${NAME}) or any TensorFlow.js distribution, which brings it ` +
        '(@tensorflow/tfjs, @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu).',
      { cause: error },
    );
    Object.defineProperty(clear, 'code', { value: 'ERR_MODULE_NOT_FOUND', enumerable: true });
    throw clear;
  }
}

export const tf: typeof TfCore = load();
