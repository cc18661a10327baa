// focal-loss's native backend through the public API (dist/index.js), at given thread counts.
import { focalCall } from './focal-calls.mjs';

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
 * { available, reason?, info, threadsOption, call(data, cell, threads) }. Without the `threads`
 * option every call runs with the default number of threads (`threads` is then ignored).
 */
export async function loadNative() {
  let focal;
  try {
    focal = await import('../../dist/index.js');
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
    call: (data, cell, threads) => focalCall(focal, data, cell, threadsOption ? { threads } : {}),
  };
}
