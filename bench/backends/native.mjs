// focal-loss's native backend through the public API (dist/index.js), at given thread counts; or
// another checkout's build of it (the --baseline of the float64 target).
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { focalCall, lossAndGradient } from './focal-calls.mjs';

/** True when the per-call `threads` option exists in this build of the facade. */
function hasThreadsOption(focal) {
  try {
    focal.sigmoidFocalLoss(new Float32Array(4), new Uint8Array(4), { threads: 1 });
    return true;
  } catch (error) {
    if (/Unknown option 'threads'/.test(String(error?.message))) return false;
    throw error;
  }
}

/**
 * { available, reason?, info, threadsOption, call(data, cell, threads, variant), callDefault(data,
 * cell, { async }), lossAndGradient(data, cell) }. Without the `threads` option every call runs with the default number of
 * threads (`threads` is then ignored). `callDefault` passes no `threads`: what a caller gets.
 */
export async function loadNative(root = fileURLToPath(new URL('../..', import.meta.url))) {
  let focal;
  try {
    focal = await import(pathToFileURL(join(root, 'dist', 'index.js')).href);
  } catch (error) {
    return { available: false, reason: `dist/index.js does not load (${error.message}); run npm run build` };
  }
  const info = focal.backend();
  if (info.name !== 'native') return { available: false, reason: info.loadError ?? 'backend() is not native', info };
  const threadsOption = hasThreadsOption(focal);
  return {
    available: true,
    info,
    threadsOption,
    call: (data, cell, threads, variant = 'out') =>
      focalCall(focal, data, cell, { extra: threadsOption ? { threads } : {}, variant }),
    callDefault: (data, cell, { async = false } = {}) => focalCall(focal, data, cell, { async }),
    lossAndGradient: (data, cell) => lossAndGradient(focal, data, cell),
  };
}
