// The floor: the addon's memoryFloor(logits, targets, out, threads) reads the logits and one
// target per logit and writes one float32 array, nothing else. No kernel that reads the same
// inputs and writes a gradient can beat it by much; it shows how far the kernels are from memory
// speed. For softmax it reads a byte per logit in place of the labels (9 bytes per element where
// the kernel reads and writes 8 + 4/C).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const addonPath = fileURLToPath(new URL('../../build/Release/focal_loss.node', import.meta.url));

export function loadFloor() {
  let addon;
  try {
    addon = createRequire(import.meta.url)(addonPath);
  } catch (error) {
    return { available: false, reason: `addon not loadable (${error.message.split('\n')[0]})` };
  }
  if (typeof addon.memoryFloor !== 'function') return { available: false, reason: 'not available in this build' };
  return {
    available: true,
    call: (data, threads) => {
      const targets = data.size.kind === 'sigmoid' ? data.targets : data.floorTargets;
      return () => addon.memoryFloor(data.logits, targets, data.grad, threads);
    },
  };
}
