/**
 * One test body for both backends: every suite iterates over `backends`. The JS implementation is
 * always present; the native addon is present unless FOCAL_LOSS_BACKEND=js (and required when
 * FOCAL_LOSS_BACKEND=native, where a missing addon makes the loader throw).
 */
import { createFocalLoss } from '../lib/facade/api.js';
import { jsKernels } from '../lib/backends/js/kernels.js';
import { loadNative } from '../lib/backends/native/loader.js';

const native = loadNative();

export interface TestBackend {
  name: 'native' | 'js';
  api: ReturnType<typeof createFocalLoss>;
}

export const backends: TestBackend[] = [
  { name: 'js', api: createFocalLoss(jsKernels) },
  ...(native.kernels ? [{ name: 'native' as const, api: createFocalLoss(native.kernels) }] : []),
];

export const nativeBackend = backends.find((b) => b.name === 'native');
export const jsBackend = backends[0]!;
