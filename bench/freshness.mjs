// Warns when what is timed is older than its sources: dist/ than lib/, the addon than native/.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function mtimes(dir, keep) {
  const out = [];
  const walk = (d) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(d, e.name);
      if (e.isDirectory()) walk(path);
      else if (keep(e.name)) out.push(statSync(path).mtimeMs);
    }
  };
  walk(join(root, dir));
  return out;
}

/** Messages for stale builds (empty when everything is fresh or cannot be told). */
export function staleness() {
  const messages = [];
  const lib = mtimes('lib', (n) => n.endsWith('.ts'));
  const dist = mtimes('dist', (n) => n.endsWith('.js'));
  if (lib.length && dist.length && Math.max(...lib) > Math.min(...dist)) {
    messages.push('dist/ is older than lib/: run `npm run build` to time the current facade');
  }
  const native = mtimes('native', (n) => /\.(c|cc|cpp|h|hpp|inc)$/.test(n));
  const addon = mtimes('build/Release', (n) => n === 'focal_loss.node');
  if (native.length && addon.length && Math.max(...native) > Math.max(...addon)) {
    messages.push(
      'build/Release/focal_loss.node is older than native/: run `npm run build:native` to time the current kernels',
    );
  }
  return messages;
}
