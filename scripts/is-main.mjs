// Whether a script module is the one Node was started with (`node scripts/x.mjs`), as opposed to
// imported by a test or another script. Compared as real paths, so a symlinked checkout or
// node_modules/.bin path still counts. Shipped in the package: install-time scripts use it.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** True when the module at `moduleUrl` (its import.meta.url) is the process's entry script. */
export function isMain(moduleUrl) {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
