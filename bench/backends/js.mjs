// focal-loss's JS fallback (lib/backends/js/kernels.ts), through the same facade as the native backend.
import { focalCall, lossAndGradient } from './focal-calls.mjs';

export async function loadJs() {
  try {
    const { createFocalLoss } = await import('../../dist/facade/api.js');
    const { jsKernels } = await import('../../dist/backends/js/kernels.js');
    const api = createFocalLoss(jsKernels);
    return {
      available: true,
      call: (data, cell) => focalCall(api, data, cell),
      lossAndGradient: (data, cell) => lossAndGradient(api, data, cell),
    };
  } catch (error) {
    return { available: false, reason: `dist/ does not load (${error.message}); run npm run build` };
  }
}
