#!/usr/bin/env node
// `npm run bench`: focal-loss native (1 and all threads), its JS fallback, @tensorflow/tfjs, PyTorch
// CPU (when installed) and a memory floor, timed in one run on the same data; prints ns/element,
// ratios and the issue's targets, and writes BENCHMARKS.md. `--help` lists the options.
import { writeFileSync } from 'node:fs';
import { readArgs, USAGE } from './args.mjs';
import { loadFloor } from './backends/floor.mjs';
import { loadJs } from './backends/js.mjs';
import { loadNative } from './backends/native.mjs';
import { loadTfjs } from './backends/tfjs.mjs';
import { loadTorch } from './backends/torch.mjs';
import { makeData, prefixOf } from './data.mjs';
import { staleness } from './freshness.mjs';
import { cpuSnapshot, machineInfo, otherWork } from './machine.mjs';
import { markdownReport, textReport } from './report.mjs';
import { evaluateTargets } from './targets.mjs';
import { measure, TIMING } from './timing.mjs';

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)}s`.padStart(5);
const progress = (message) => process.stderr.write(`[${elapsed()}] ${message}\n`);
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

const argv = process.argv.slice(2);
let args;
try {
  args = readArgs(argv);
} catch (error) {
  console.error(`${error.message}\n\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const timing = args.quick ? TIMING.quick : TIMING.full;
const allThreads = Math.max(...args.threads);
const columns = args.gammas.flatMap((gamma) =>
  args.modes.map((mode) => ({
    id: `g${gamma}-${mode}`,
    label: `γ=${gamma} ${mode === 'fwd' ? 'fwd' : 'fwd+grad'}`,
    gamma,
    gradient: mode === 'grad',
  })),
);
const cellsSpec = columns.map(({ gamma, gradient }) => ({ gamma, gradient }));

// ---- backends ----
const selected = (name) => args.backends.includes(name);
const skipped = { available: false, reason: 'not selected (--backends)' };
const native = selected('native') ? await loadNative() : skipped;
const js = selected('js') ? await loadJs() : skipped;
const tfjs = selected('tfjs') ? await loadTfjs() : skipped;
const torch = selected('torch') ? loadTorch(args.python, args.torchTunedMalloc) : skipped;
const floor = selected('floor') ? loadFloor() : skipped;
const nativeThreads = native.available ? (native.threadsOption ? args.threads : [native.info.threads]) : [];

const notes = [];
if (native.available && !native.threadsOption) {
  notes.push(
    `native: the per-call \`threads\` option is not in this build; every native row ran at the default ${plural(native.info.threads, 'thread')}.`,
  );
}
for (const message of staleness()) {
  notes.push(`${message[0].toUpperCase()}${message.slice(1)}.`);
  process.stderr.write(`warning: ${message}\n`);
}
const machine = machineInfo();
const percent = (share) => `${Math.round(share * 100)}%`;
// Other processes compete for the cores (on 2 cores, a 2-thread call then waits for a time slice).
const quietStart = cpuSnapshot();
await new Promise((resolve) => setTimeout(resolve, 1000));
machine.otherAtStart = otherWork(quietStart, cpuSnapshot());
if (machine.otherAtStart > 0.1) {
  process.stderr.write(
    `warning: other processes are using ${percent(machine.otherAtStart)} of the CPUs: the figures will be noisy, the multi-threaded ones most\n`,
  );
}
const status = [
  `machine: ${machine.cpu}, ${plural(machine.cpus, 'logical CPU')}, Node ${machine.node}, commit ${machine.commit}, other processes using ${percent(machine.otherAtStart)} of the CPUs`,
  `native: ${native.available ? `${JSON.stringify(native.info)}; per-call threads option: ${native.threadsOption ? 'yes' : 'NO (falling back to the default threads)'}` : native.reason}`,
  `JS fallback: ${js.available ? 'yes' : js.reason}`,
  `tfjs: ${tfjs.available ? `${tfjs.version} on '${tfjs.backendName}'` : tfjs.reason}`,
  `PyTorch: ${torch.available ? `${torch.torch}, ${torch.formula} (${torch.python}), ${torch.tunedMalloc ? 'malloc keeps freed memory' : 'default malloc'}` : torch.reason}`,
  `floor: ${floor.available ? 'yes' : floor.reason}`,
  `sizes: ${args.sizes.map((s) => s.id).join(', ')}; gammas: ${args.gammas.join(', ')}; thread counts: ${args.threads.join(', ')}${args.quick ? '; --quick' : ''}`,
];
console.log(status.join('\n'));
for (const [name, b] of [
  ['JS fallback', js],
  ['tfjs', tfjs],
  ['PyTorch', torch],
  ['floor', floor],
]) {
  if (!b.available && b !== skipped) notes.push(`${name}: ${b.reason}.`);
}

/** Why a row has no figures (for the targets). */
function missing(rowId) {
  const [name, t] = rowId.split('@');
  const backend = { native, js, tfjs, torch, floor }[name];
  if (!backend.available) return `${name}: ${backend.reason}`;
  if (name === 'native' && !native.threadsOption) return 'per-call threads option not in this build';
  if (t && !args.threads.includes(Number(t))) return `${t} threads not measured (--threads ${args.threads.join(',')})`;
  return `${rowId} has no figure`;
}

// ---- timing ----
function timeRow(sizeLabel, data, row, call) {
  const prefix = prefixOf(data);
  for (const column of columns) {
    const { value, ...result } = measure(call(data, column), call(prefix, column), timing);
    row.cells[column.id] = { ...result, ns: (result.ms * 1e6) / data.elements, loss: value };
    progress(
      `${sizeLabel} | ${row.label} | ${column.label}: ${row.cells[column.id].ns.toFixed(2)} ns/el [${result.runs}]`,
    );
  }
  return row;
}

function timeSize(size) {
  const start = cpuSnapshot();
  progress(`${size.label}: generating data`);
  const data = makeData(size);
  const rows = [];
  const threadsLabel = (t) => plural(t, 'thread');
  for (const t of nativeThreads) {
    const label = native.threadsOption ? `native, ${threadsLabel(t)}` : `native, default ${threadsLabel(t)}`;
    const row = { id: `native@${t}`, label, cells: {} };
    rows.push(timeRow(size.label, data, row, (d, c) => native.call(d, c, t)));
  }
  if (floor.available) {
    for (const t of args.threads) {
      const { value: _value, ...result } = measure(floor.call(data, t), floor.call(prefixOf(data), t), timing);
      const cell = { ...result, ns: (result.ms * 1e6) / data.elements };
      rows.push({
        id: `floor@${t}`,
        label: `floor, ${threadsLabel(t)}`,
        cells: Object.fromEntries(columns.map((c) => [c.id, cell])),
      });
      progress(`${size.label} | floor, ${threadsLabel(t)}: ${cell.ns.toFixed(2)} ns/el [${result.runs}]`);
    }
  }
  if (js.available) rows.push(timeRow(size.label, data, { id: 'js', label: 'JS fallback', cells: {} }, js.call));
  if (torch.available) {
    progress(`${size.label} | PyTorch ${torch.torch}: threads ${args.threads.join(', ')} (in Python)`);
    try {
      const results = torch.run(data, cellsSpec, args.threads, timing);
      for (const t of args.threads) {
        const row = { id: `torch@${t}`, label: `PyTorch ${torch.torch}, ${threadsLabel(t)}`, cells: {} };
        for (const column of columns) {
          const r = results.find(
            (x) => x.requested === t && x.gamma === column.gamma && x.gradient === column.gradient,
          );
          if (r)
            row.cells[column.id] = {
              ms: r.ms,
              runs: r.runs,
              warmup: r.warmup,
              ns: (r.ms * 1e6) / data.elements,
              loss: r.loss,
            };
        }
        rows.push(row);
      }
    } catch (error) {
      notes.push(`PyTorch failed on ${size.label}: ${error.message}`);
      progress(`PyTorch failed: ${error.message}`);
    }
  }
  if (tfjs.available) {
    rows.push(timeRow(size.label, data, { id: 'tfjs', label: `tfjs ${tfjs.version} (cpu)`, cells: {} }, tfjs.call));
    tfjs.dispose();
  }
  const order = (id) =>
    ['native', 'js', 'tfjs', 'torch', 'floor'].indexOf(id.split('@')[0]) * 1e4 + Number(id.split('@')[1] ?? 0);
  rows.sort((a, b) => order(a.id) - order(b.id));
  return { size, elements: data.elements, columns, rows, otherWork: otherWork(start, cpuSnapshot()) };
}

const results = { sizes: [] };
const runStart = cpuSnapshot();
for (const size of args.sizes) results.sizes.push(timeSize(size));
machine.otherDuringRun = otherWork(runStart, cpuSnapshot());
if (machine.otherDuringRun > 0.05) {
  notes.push(
    `Other processes used ${percent(machine.otherDuringRun)} of the machine's CPU time during this run ` +
      '(per size in the headings): rows timed while a core was taken are slow, multi-threaded ones most; rerun on a quiet machine.',
  );
}

// ---- report ----
const referenceId = native.available ? `native@${nativeThreads.at(-1)}` : 'js';
const targets = evaluateTargets(results, allThreads, missing);
const seconds = (Date.now() - started) / 1000;
console.log(textReport(results, targets, referenceId));
if (notes.length) console.log(`\nnotes:\n${notes.map((n) => `- ${n}`).join('\n')}`);
console.log(`\ntotal time: ${seconds.toFixed(0)} s`);

if (args.markdown) {
  const command = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const context = { native, tfjs, torch };
  writeFileSync(
    args.out,
    markdownReport({ results, targets, referenceId, machine, context, command, date, seconds, notes }),
  );
  console.log(`wrote ${args.out}`);
}
