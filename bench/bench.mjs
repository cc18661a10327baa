#!/usr/bin/env node
// `npm run bench`: focal-loss native (1 and all threads, and the call variants the targets compare),
// its JS fallback, onnxruntime-node, PyTorch CPU (when installed; tuned and default malloc),
// @tensorflow/tfjs and a memory floor, timed in one run on the same data; then the small-batch
// table (time per call at small N). Prints ns/element, ratios, µs per call and the issue's targets,
// and writes BENCHMARKS.md. `--help` lists the options.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { readArgs, USAGE } from './args.mjs';
import { loadFloor } from './backends/floor.mjs';
import { loadJs } from './backends/js.mjs';
import { loadNative } from './backends/native.mjs';
import { loadOnnxruntime } from './backends/onnxruntime.mjs';
import { loadTfjs } from './backends/tfjs.mjs';
import { loadTorch } from './backends/torch.mjs';
import { crossCheckGradient } from './crosscheck.mjs';
import { VARIANTS, variantApplies } from './backends/focal-calls.mjs';
import { makeData, prefixOf, smallBatchSizes } from './data.mjs';
import { staleness } from './freshness.mjs';
import { commitOf, cpuSnapshot, machineInfo, otherWork } from './machine.mjs';
import { markdownReport, textReport } from './report.mjs';
import { evaluateTargets } from './targets.mjs';
import { measure, measureAlternating, PER_CALL, perCall, TIMING } from './timing.mjs';

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
const torch = selected('torch') || selected('torch-default-malloc') ? loadTorch(args.python) : skipped;
const ort = selected('onnxruntime') ? await loadOnnxruntime() : skipped;
const floor = selected('floor') ? loadFloor() : skipped;
/** The kernels before issue 12 (--baseline DIR, a built checkout), for the float64 target. */
const baseline = args.baseline
  ? { ...(await loadNative(resolve(args.baseline))), commit: commitOf(resolve(args.baseline)) }
  : { available: false, reason: 'no --baseline checkout given' };
/** The kernels before the reproducible sum (--sum-baseline DIR, a built checkout of 1d3ed73). */
const sumBaseline = args.sumBaseline
  ? { ...(await loadNative(resolve(args.sumBaseline))), commit: commitOf(resolve(args.sumBaseline)) }
  : { available: false, reason: 'no --sum-baseline checkout given' };
const nativeThreads = native.available ? (native.threadsOption ? args.threads : [native.info.threads]) : [];
/** PyTorch's two malloc settings: row id prefix, whether glibc malloc is tuned, label. */
const torchMallocs = [
  { id: 'torch', tuned: true, label: 'tuned malloc' },
  { id: 'torch-default-malloc', tuned: false, label: 'default malloc' },
].filter((m) => selected(m.id));

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
// Is onnxruntime-node's graph the same loss and gradient? Checked on small data against focal-loss.
let ortCheck = '';
const reference = native.available ? native : js.available ? js : null;
if (ort.available && reference) {
  ortCheck = await crossCheckGradient(ort, reference, args.gammas);
  if (ortCheck.disagreement) notes.push(`onnxruntime-node: ${ortCheck.text}.`);
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
  `onnxruntime-node: ${ort.available ? `${ort.version}, CPU${ortCheck ? `; ${ortCheck.text}` : ''}` : ort.reason}`,
  `PyTorch: ${torch.available ? `${torch.torch}, ${torch.formula} (${torch.python}); ${torchMallocs.map((m) => m.label).join(' and ') || 'not selected'}` : torch.reason}`,
  `tfjs: ${tfjs.available ? `${tfjs.version} on '${tfjs.backendName}'` : tfjs.reason}`,
  `floor: ${floor.available ? 'yes' : floor.reason}`,
  `baseline (one-shot sum): ${sumBaseline.available ? `${args.sumBaseline}, commit ${sumBaseline.commit}` : sumBaseline.reason}`,
  `baseline (float64 sigmoid): ${baseline.available ? `${args.baseline}, commit ${baseline.commit}` : baseline.reason}`,
  `sizes: ${args.sizes.map((s) => s.id).join(', ')}; gammas: ${args.gammas.join(', ')}; thread counts: ${args.threads.join(', ')}${args.smallBatch ? '; small-batch table' : ''}${args.quick ? '; --quick' : ''}`,
];
console.log(status.join('\n'));
for (const [name, b] of [
  ['JS fallback', js],
  ['onnxruntime-node', ort],
  ['PyTorch', torch],
  ['tfjs', tfjs],
  ['floor', floor],
  ...(args.baseline ? [['--baseline', baseline]] : []),
  ...(args.sumBaseline ? [['--sum-baseline', sumBaseline]] : []),
]) {
  if (!b.available && b !== skipped) notes.push(`${name}: ${b.reason}.`);
}

/** Why a row has no figures (for the targets); `column` when the row exists but that cell may not. */
function missing(rowId, column) {
  const [name, t] = rowId.split('@');
  const base = name.startsWith('native') ? 'native' : name;
  const backends = { native, js, tfjs, torch, 'torch-default-malloc': torch, onnxruntime: ort, floor };
  if (base === 'baseline-f64') return baseline.available ? `${rowId} has no figure` : baseline.reason;
  if (base === 'baseline-sum' || name === 'native-sum') {
    return sumBaseline.available ? `${rowId} has no figure` : sumBaseline.reason;
  }
  const backend = backends[base];
  if (!backend) return `${rowId} has no figure`;
  if (!selected(base)) return `${base}: ${skipped.reason}`;
  if (!backend.available) return `${base}: ${backend.reason}`;
  if (base === 'native' && !native.threadsOption) return 'per-call threads option not in this build';
  if (t && !args.threads.includes(Number(t))) return `${t} threads not measured (--threads ${args.threads.join(',')})`;
  if (column && !columns.some((c) => c.id === column)) return `column ${column} not measured (--gammas, --modes)`;
  return `${rowId} has no figure`;
}

// ---- timing ----
async function timeRow(sizeLabel, data, row, call, applies = () => true) {
  const prefix = prefixOf(data);
  for (const column of columns) {
    if (!applies(column)) continue;
    const { value, ...result } = await measure(call(data, column), call(prefix, column), timing);
    row.cells[column.id] = { ...result, ns: (result.ms * 1e6) / data.elements, loss: value };
    progress(
      `${sizeLabel} | ${row.label} | ${column.label}: ${row.cells[column.id].ns.toFixed(2)} ns/el [${result.runs}]`,
    );
  }
  return row;
}

/** Rows whose cells are timed in turns, column by column (old against new: the --baseline row). */
async function timeRowsAlternating(sizeLabel, data, rows, calls, applies) {
  const prefix = prefixOf(data);
  for (const column of columns) {
    if (!applies(column)) continue;
    const cells = calls.map((call) => ({ run: call(data, column), runPrefix: call(prefix, column) }));
    const results = await measureAlternating(cells, timing);
    results.forEach(({ value, ...result }, i) => {
      rows[i].cells[column.id] = { ...result, ns: (result.ms * 1e6) / data.elements, loss: value };
      progress(
        `${sizeLabel} | ${rows[i].label} | ${column.label}: ${rows[i].cells[column.id].ns.toFixed(2)} ns/el [${result.runs}]`,
      );
    });
  }
  return rows;
}

/** Rows in the report's order: by backend, then variant, then thread count. */
const ROW_ORDER = [
  'native',
  ...Object.values(VARIANTS)
    .map((v) => `native${v.suffix}`)
    .filter((id) => id !== 'native'),
  'js',
  'onnxruntime',
  'torch',
  'torch-default-malloc',
  'baseline-f64',
  'baseline-sum',
  'tfjs',
  'floor',
];
const order = (id) => ROW_ORDER.indexOf(id.split('@')[0]) * 1e4 + Number(id.split('@')[1] ?? 0);
const threadsLabel = (t) => plural(t, 'thread');

async function timeSize(size) {
  const start = cpuSnapshot();
  progress(`${size.label}: generating data`);
  const data = makeData(size);
  const rows = [];
  for (const t of nativeThreads) {
    const label = native.threadsOption ? `native, ${threadsLabel(t)}` : `native, default ${threadsLabel(t)}`;
    rows.push(await timeRow(size.label, data, { id: `native@${t}`, label, cells: {} }, (d, c) => native.call(d, c, t)));
  }
  // The variants the targets compare with the main call, at the largest thread count only; the
  // float64 one in turns with the --baseline checkout's float64 call when there is one.
  const t = nativeThreads.at(-1);
  for (const [variant, { suffix, label }] of Object.entries(VARIANTS)) {
    const applies = (c) => variantApplies(variant, data, c);
    if (variant === 'out' || t === undefined || !columns.some(applies)) continue;
    // The float64 call in turns with --baseline's, the one-shot sum with --sum-baseline's.
    const before = { f64: [baseline, 'baseline-f64'], sum: [sumBaseline, 'baseline-sum'] }[variant];
    if (variant === 'sum' && !sumBaseline.available) continue;
    const row = { id: `native${suffix}@${t}`, label: `native, ${threadsLabel(t)}${label}`, cells: {} };
    const call = (d, c) => native.call(d, c, t, variant);
    if (before?.[0].available) {
      const [checkout, id] = before;
      const old = { id: `${id}@${t}`, label: `baseline ${checkout.commit}, ${threadsLabel(t)}${label}`, cells: {} };
      const oldCall = (d, c) => checkout.call(d, c, t, variant);
      rows.push(...(await timeRowsAlternating(size.label, data, [row, old], [call, oldCall], applies)));
    } else {
      rows.push(await timeRow(size.label, data, row, call, applies));
    }
  }
  if (floor.available) {
    for (const t of args.threads) {
      const { value: _value, ...result } = await measure(floor.call(data, t), floor.call(prefixOf(data), t), timing);
      const cell = { ...result, ns: (result.ms * 1e6) / data.elements };
      rows.push({
        id: `floor@${t}`,
        label: `floor, ${threadsLabel(t)}`,
        cells: Object.fromEntries(columns.map((c) => [c.id, cell])),
      });
      progress(`${size.label} | floor, ${threadsLabel(t)}: ${cell.ns.toFixed(2)} ns/el [${result.runs}]`);
    }
  }
  if (js.available) rows.push(await timeRow(size.label, data, { id: 'js', label: 'JS fallback', cells: {} }, js.call));
  if (ort.available) {
    for (const t of args.threads) {
      const row = { id: `onnxruntime@${t}`, label: `onnxruntime-node ${ort.version}, ${threadsLabel(t)}`, cells: {} };
      rows.push(await timeRow(size.label, data, row, (d, c) => ort.call(d, c, t)));
    }
    await ort.dispose();
  }
  if (torch.available) {
    for (const malloc of torchMallocs) {
      progress(
        `${size.label} | PyTorch ${torch.torch}, ${malloc.label}: threads ${args.threads.join(', ')} (in Python)`,
      );
      try {
        const results = torch.run(data, cellsSpec, args.threads, timing, malloc.tuned);
        for (const t of args.threads) {
          const label = `PyTorch ${torch.torch}, ${malloc.label}, ${threadsLabel(t)}`;
          const row = { id: `${malloc.id}@${t}`, label, cells: {} };
          for (const column of columns) {
            const r = results.find(
              (x) => x.requested === t && x.gamma === column.gamma && x.gradient === column.gradient,
            );
            if (r) {
              const { ms, runs, warmup, loss } = r;
              row.cells[column.id] = { ms, runs, warmup, ns: (ms * 1e6) / data.elements, loss };
            }
          }
          rows.push(row);
        }
      } catch (error) {
        notes.push(`PyTorch (${malloc.label}) failed on ${size.label}: ${error.message}`);
        progress(`PyTorch failed: ${error.message}`);
      }
    }
  }
  if (tfjs.available) {
    rows.push(
      await timeRow(size.label, data, { id: 'tfjs', label: `tfjs ${tfjs.version} (cpu)`, cells: {} }, tfjs.call),
    );
    tfjs.dispose();
  }
  rows.sort((a, b) => order(a.id) - order(b.id));
  return { size, elements: data.elements, columns, rows, otherWork: otherWork(start, cpuSnapshot()) };
}

/**
 * The small-batch table: µs per call at small N, gamma 2, loss only and loss + gradient into
 * `out`. focal-loss's calls pass no `threads` (what a caller gets); onnxruntime-node and PyTorch
 * run at 1 thread (more only adds overhead at these sizes).
 */
async function timeSmallBatch() {
  const start = cpuSnapshot();
  const options = args.quick ? PER_CALL.quick : PER_CALL.full;
  const sets = smallBatchSizes().map((size) => makeData(size));
  const modes = [
    { id: 'fwd', label: 'loss', cell: { gamma: 2, gradient: false } },
    { id: 'grad', label: 'loss + gradient', cell: { gamma: 2, gradient: true } },
  ];
  const backends = [];
  if (native.available) {
    backends.push({ id: 'native-sync', label: 'native, sync', call: (d, c) => native.callDefault(d, c) });
    backends.push({
      id: 'native-async',
      label: 'native, async',
      call: (d, c) => native.callDefault(d, c, { async: true }),
    });
  }
  if (js.available) backends.push({ id: 'js', label: 'JS fallback', call: js.call });
  if (ort.available)
    backends.push({ id: 'onnxruntime@1', label: 'onnxruntime-node, 1 thread', call: (d, c) => ort.call(d, c, 1) });
  const rows = [];
  for (const backend of backends) {
    const row = { id: backend.id, label: backend.label, cells: {} };
    for (const data of sets) {
      for (const mode of modes) {
        const { value, ...result } = await perCall(backend.call(data, mode.cell), options);
        row.cells[`${data.size.id}:${mode.id}`] = { ...result, loss: value };
      }
    }
    progress(`small batches | ${backend.label}: done`);
    rows.push(row);
  }
  if (ort.available) await ort.dispose();
  if (torch.available && selected('torch')) {
    try {
      const results = torch.perCall(
        sets,
        modes.map((m) => m.cell),
        options,
      );
      const row = { id: 'torch@1', label: `PyTorch ${torch.torch}, 1 thread`, cells: {} };
      sets.forEach((data, i) => {
        for (const mode of modes) {
          const r = results[i].find((x) => x.gradient === mode.cell.gradient);
          if (r)
            row.cells[`${data.size.id}:${mode.id}`] = { us: r.us, calls: r.calls, batches: r.batches, loss: r.loss };
        }
      });
      rows.push(row);
      progress(`small batches | PyTorch: done`);
    } catch (error) {
      notes.push(`PyTorch failed on the small-batch table: ${error.message}`);
    }
  }
  return { sizes: sets.map((d) => d.size), modes, rows, otherWork: otherWork(start, cpuSnapshot()) };
}

const results = { sizes: [] };
const runStart = cpuSnapshot();
for (const size of args.sizes) results.sizes.push(await timeSize(size));
if (args.smallBatch) {
  progress('small batches: time per call');
  results.smallBatch = await timeSmallBatch();
}
machine.otherDuringRun = otherWork(runStart, cpuSnapshot());
if (machine.otherDuringRun > 0.05) {
  notes.push(
    `Other processes used ${percent(machine.otherDuringRun)} of the machine's CPU time during this run ` +
      '(per size in the headings): rows timed while a core was taken are slow, multi-threaded ones most; rerun on a quiet machine.',
  );
}

// ---- report ----
const referenceId = native.available ? `native@${nativeThreads.at(-1)}` : 'js';
const targets = evaluateTargets(results, allThreads, missing, machine.cpu);
const seconds = (Date.now() - started) / 1000;
console.log(textReport(results, targets, referenceId));
if (notes.length) console.log(`\nnotes:\n${notes.map((n) => `- ${n}`).join('\n')}`);
console.log(`\ntotal time: ${seconds.toFixed(0)} s`);

if (args.markdown) {
  const command = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const context = { native, tfjs, torch, ort, ortCheck };
  writeFileSync(
    args.out,
    markdownReport({ results, targets, referenceId, machine, context, command, date, seconds, notes }),
  );
  console.log(`wrote ${args.out}`);
}
