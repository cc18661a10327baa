// The default call (a new gradient each time) against the `out` call (the gradient into a reused
// buffer), in ns per element, for one or more checkouts side by side (alternating, best of N), and
// the resident memory of a loop of default calls. Issue 12: the default call within 1.5x of `out`.
//
//   node bench/result-memory.mjs [--rounds 7] [--calls 20] [--rss 200] [checkout ...]
//
// A checkout is a directory with a built dist/ (default: this one). Each round runs every case of
// every checkout in its own child process, in turn, so that load from other processes falls on
// all of them alike. A case's calls yield to the event loop between calls (as a server or an
// async training loop does: that is when collected results come back to the addon's pool);
// `sync` cases do not.
//
// Reported per case: the best wall time, and (less sensitive to other processes on a shared
// machine) the median CPU time of the process (all threads, OMP_WAIT_POLICY=passive so that idle
// OpenMP threads do not spin) and the median minor page faults of one call.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const CASES = [
  { name: 'sigmoid 1e7', kind: 'sigmoid', n: 1e7 },
  { name: 'softmax [1e6,10]', kind: 'softmax', n: 1e6, c: 10 },
];

async function child(root, kindName, threads, mode, calls) {
  const { sigmoidFocalLoss, softmaxFocalLoss } = await import(pathToFileURL(resolve(root, 'dist/index.js')).href);
  const c = CASES.find((x) => x.name === kindName);
  const total = c.kind === 'sigmoid' ? c.n : c.n * c.c;
  const x = new Float32Array(total);
  for (let i = 0; i < total; i++) x[i] = ((i * 7919) % 2001) / 100 - 10;
  const t =
    c.kind === 'sigmoid' ? new Uint8Array(c.n).map((_, i) => i % 3 === 0) : new Int32Array(c.n).map((_, i) => i % c.c);
  const out = new Float32Array(total);
  const base = { gamma: 2, threads, gradient: true };
  const options = mode === 'out' ? { ...base, out: { grad: out } } : base;
  const call =
    c.kind === 'sigmoid'
      ? () => sigmoidFocalLoss(x, t, options)
      : () => softmaxFocalLoss(x, t, { ...options, shape: [c.n, c.c] });
  const tick = () => new Promise((r) => setImmediate(r));
  let best = Infinity;
  const cpu = [];
  const faults = [];
  for (let i = 0; i < calls; i++) {
    const faults0 = process.resourceUsage().minorPageFault;
    const cpu0 = process.cpuUsage();
    const start = process.hrtime.bigint();
    call();
    best = Math.min(best, Number(process.hrtime.bigint() - start));
    const used = process.cpuUsage(cpu0);
    cpu.push((used.user + used.system) * 1e3);
    faults.push(process.resourceUsage().minorPageFault - faults0);
    if (!mode.endsWith('sync')) await tick();
  }
  const median = (v) => v.sort((a, b) => a - b)[v.length >> 1];
  return { nsPerElement: best / total, cpuNsPerElement: median(cpu) / total, faults: median(faults) };
}

async function rss(root, calls) {
  const { sigmoidFocalLoss } = await import(pathToFileURL(resolve(root, 'dist/index.js')).href);
  const n = 1e7;
  const x = new Float32Array(n).map((_, i) => ((i * 7919) % 2001) / 100 - 10);
  const t = new Uint8Array(n).map((_, i) => i % 3 === 0);
  const tick = () => new Promise((r) => setImmediate(r));
  const report = {};
  for (const mode of ['yield', 'sync']) {
    let peak = 0;
    for (let i = 0; i < calls; i++) {
      const { grad } = sigmoidFocalLoss(x, t, { gradient: true, threads: 2 });
      grad[0] = 1;
      peak = Math.max(peak, process.memoryUsage().rss);
      if (mode === 'yield') await tick();
    }
    await tick();
    report[mode] = { peakMiB: Math.round(peak / 2 ** 20), endMiB: Math.round(process.memoryUsage().rss / 2 ** 20) };
  }
  return report;
}

const args = process.argv.slice(2);
if (args[0] === '--child') {
  const [, root, kindName, threads, mode, calls] = args;
  console.log(JSON.stringify(await child(root, kindName, Number(threads), mode, Number(calls))));
} else if (args[0] === '--rss') {
  console.log(JSON.stringify(await rss(args[1], Number(args[2]))));
} else {
  const flag = (name, fallback) => {
    const i = args.indexOf(name);
    if (i < 0) return fallback;
    const value = Number(args[i + 1]);
    args.splice(i, 2);
    return value;
  };
  const rounds = flag('--rounds', 7);
  const calls = flag('--calls', 20);
  const rssCalls = flag('--rss', 200);
  const roots = args.length ? args.map((a) => resolve(a)) : [process.cwd()];
  const modes = ['out', 'default', 'default sync'];
  const best = new Map();
  for (let round = 0; round < rounds; round++) {
    for (const c of CASES) {
      for (const threads of [1, 2]) {
        for (const mode of modes) {
          for (const root of roots) {
            const run = spawnSync(
              process.execPath,
              [process.argv[1], '--child', root, c.name, String(threads), mode, String(calls)],
              { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'passive' } },
            );
            if (run.status !== 0) throw new Error(run.stderr);
            const key = `${root}|${c.name}|${threads}|${mode}`;
            const got = JSON.parse(run.stdout);
            const was = best.get(key);
            best.set(key, {
              wall: Math.min(was?.wall ?? Infinity, got.nsPerElement),
              cpu: Math.min(was?.cpu ?? Infinity, got.cpuNsPerElement),
              faults: Math.min(was?.faults ?? Infinity, got.faults),
            });
          }
        }
      }
    }
  }
  console.log(
    `best of ${rounds} rounds x ${calls} calls (float32, gamma 2): wall ns/element / CPU ns/element / page faults per call`,
  );
  for (const root of roots) {
    console.log(root);
    for (const c of CASES) {
      for (const threads of [1, 2]) {
        const get = (mode) => best.get(`${root}|${c.name}|${threads}|${mode}`);
        const cells = modes
          .map((m) => `${m} ${get(m).wall.toFixed(2)}/${get(m).cpu.toFixed(2)}/${get(m).faults}`)
          .join('  ');
        const ratio = (m, k) => (get(m)[k] / get('out')[k]).toFixed(2);
        const ratios = modes
          .slice(1)
          .map((m) => `${m}/out ${ratio(m, 'wall')}x wall ${ratio(m, 'cpu')}x CPU`)
          .join('  ');
        console.log(`  ${c.name.padEnd(17)} threads ${threads}: ${cells}  ${ratios}`);
      }
    }
    if (rssCalls > 0) {
      const run = spawnSync(process.execPath, [process.argv[1], '--rss', root, String(rssCalls)], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(run.stderr);
      console.log(`  RSS over ${rssCalls} default calls at sigmoid 1e7 (MiB): ${run.stdout.trim()}`);
    }
  }
}
