// Turns the results into tables, as aligned text for the terminal and as BENCHMARKS.md.
import { crossCheckText } from './crosscheck.mjs';
import { describeData, PREFIX_DIVISOR } from './data.mjs';

const nsText = (v) => (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));
const ratioText = (v) => `${v < 0.1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v < 1000 ? v.toFixed(1) : v.toFixed(0)}×`;

/** ns/element with the number of timed runs: "3.21 [11]". */
function timeTable(sizeResult) {
  const header = ['ns/element [runs]', ...sizeResult.columns.map((c) => c.label)];
  const rows = sizeResult.rows.map((row) => [
    row.label,
    ...sizeResult.columns.map((c) => {
      const cell = row.cells[c.id];
      if (!cell) return row.note ?? '–';
      return `${nsText(cell.ns)} [${cell.runs}${cell.warmup === 'prefix' ? '*' : ''}]`;
    }),
  ]);
  return { header, rows };
}

/** Each figure divided by the reference row's (native at all threads): how many times slower. */
function ratioTable(sizeResult, referenceId) {
  const reference = sizeResult.rows.find((r) => r.id === referenceId);
  if (!reference) return null;
  const header = [`time / ${reference.label}`, ...sizeResult.columns.map((c) => c.label)];
  const rows = sizeResult.rows
    .filter((row) => row.id !== referenceId && Object.keys(row.cells).length > 0)
    .map((row) => [
      row.label,
      ...sizeResult.columns.map((c) => {
        const a = row.cells[c.id];
        const b = reference.cells[c.id];
        return a && b ? ratioText(a.ns / b.ns) : '–';
      }),
    ]);
  return { header, rows };
}

function targetTable(targets) {
  return {
    header: ['target', 'result', 'required', 'measured (slower / faster)', 'what limits it (or a note)'],
    rows: targets.map((t) => [t.what, t.status, t.required, t.measured, t.note]),
    textColumns: 5,
  };
}

function renderText({ header, rows }) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function renderTargetsText(targets) {
  return targets
    .map((t) => {
      const head = `${t.status.padEnd(4)}  ${t.what}: ${t.measured} (required ${t.required})`;
      return t.note ? `${head}\n      ${t.note}` : head;
    })
    .join('\n');
}

const escape = (s) => s.replace(/\|/g, '\\|');

/** `textColumns`: how many leading columns hold text (left-aligned); the others are figures. */
function renderMarkdown({ header, rows, textColumns = 1 }) {
  const line = (cells) => `| ${cells.map(escape).join(' | ')} |`;
  const rule = header.map((_, i) => (i < textColumns ? ' --- ' : ' ---: ')).join('|');
  return [line(header), `|${rule}|`, ...rows.map(line)].join('\n');
}

const sentence = (text) => text[0].toUpperCase() + text.slice(1);

function otherText(sizeResult) {
  const share = sizeResult.otherWork;
  return Number.isFinite(share)
    ? `other processes used ${Math.round(share * 100)}% of the CPUs meanwhile`
    : 'other processes: unknown';
}

export const LEGEND =
  `ns/element = median wall time of one call / number of logits. [runs] = timed runs after warm-up; ` +
  `* = a slow cell warmed up on the first 1/${PREFIX_DIVISOR} of the data only, then timed once. ` +
  'The floor (read logits + one target per logit, write one array) is gamma- and mode-independent: ' +
  'it is timed once per size and thread count and shown in every column.';

const usText = (v) => (v < 10 ? v.toFixed(2) : v < 1000 ? v.toFixed(1) : v.toFixed(0));

/** One small-batch table per loss: µs per call, a row per backend and mode, a column per N. */
function smallBatchTables(smallBatch) {
  const kinds = [...new Set(smallBatch.sizes.map((s) => s.kind))];
  return kinds.map((kind) => {
    const sizes = smallBatch.sizes.filter((s) => s.kind === kind);
    const header = [`µs per call [calls per batch]`, ...sizes.map((s) => s.label.replace(/^\w+, /, ''))];
    const rows = smallBatch.rows.flatMap((row) =>
      smallBatch.modes.map((mode) => [
        `${row.label}, ${mode.label}`,
        ...sizes.map((s) => {
          const cell = row.cells[`${s.id}:${mode.id}`];
          return cell ? `${usText(cell.us)} [${cell.calls}]` : '–';
        }),
      ]),
    );
    return { kind, table: { header, rows } };
  });
}

export const SMALL_BATCH_LEGEND =
  'µs per call = the fastest of several batches of back-to-back calls (each batch long enough for the clock, after a warm-up) / calls per batch; ' +
  'gamma 2; sigmoid with Uint8 targets (float32 for onnxruntime-node and PyTorch), softmax with int32 labels; ' +
  "loss + gradient writes into a preallocated buffer (focal-loss's `out`, an output tensor for onnxruntime-node; PyTorch's backward allocates). " +
  'focal-loss calls pass no `threads` (its default for the size); onnxruntime-node and PyTorch run at 1 thread; ' +
  "an async call is awaited before the next one (onnxruntime-node's run is async too).";

export function textReport(results, targets, referenceId) {
  const parts = [];
  for (const sizeResult of results.sizes) {
    parts.push(
      `\n== ${sizeResult.size.label} (${sizeResult.elements.toExponential(0)} elements; ${otherText(sizeResult)}) ==\n`,
    );
    parts.push(renderText(timeTable(sizeResult)));
    const ratios = ratioTable(sizeResult, referenceId);
    if (ratios) parts.push(`\n${renderText(ratios)}`);
    parts.push(`\n${crossCheckText(sizeResult)}`);
  }
  parts.push(`\n${LEGEND}`);
  if (results.smallBatch) {
    for (const { kind, table } of smallBatchTables(results.smallBatch)) {
      parts.push(`\n== small batches, ${kind} (${otherText(results.smallBatch)}) ==\n`);
      parts.push(renderText(table));
    }
    parts.push(`\n${SMALL_BATCH_LEGEND}`);
  }
  parts.push('\n== targets (float32, gamma = 2, forward + gradient unless said, from this run) ==\n');
  parts.push(renderTargetsText(targets));
  return parts.join('\n');
}

const pct = (share) => (Number.isFinite(share) ? `${Math.round(share * 100)}%` : 'an unknown share');

function machineLines(machine, context) {
  const { native, tfjs, torch, ort, ortCheck } = context;
  return [
    `- CPU: ${machine.cpu}; ${machine.cpus} logical CPUs (${machine.coresPerSocket ?? '?'} cores per socket, ${machine.threadsPerCore ?? '?'} thread(s) per core); SIMD flags: ${machine.simd}`,
    `- Memory: ${machine.memoryGiB} GiB; OS: ${machine.os}; Node ${machine.node}`,
    `- Other processes used ${pct(machine.otherAtStart)} of the CPUs in the second before the run and ${pct(machine.otherDuringRun)} during it (1-minute load average at the start: ${machine.loadAtStart})`,
    `- focal-loss: commit ${machine.commit}; backend(): \`${JSON.stringify(native.info ?? null)}\`` +
      (native.available
        ? `; per-call threads option: ${native.threadsOption ? 'yes' : 'no (every native row ran at the default thread count)'}`
        : ''),
    `- @tensorflow/tfjs: ${tfjs.available ? `${tfjs.version}, backend '${tfjs.backendName}' (pure JS), prod mode` : tfjs.reason}`,
    `- onnxruntime-node: ${ort.available ? `${ort.version}, CPU execution provider, the losses as ONNX graphs made by bench/backends/onnx-model.mjs (gradient written out as ops), intra-op threads = the row's thread count; ${ortCheck?.text ?? 'gradient not cross-checked'}` : ort.reason}`,
    `- PyTorch: ${torch.available ? `${torch.torch} (${torch.python}), sigmoid loss = ${torch.formula}${torch.torchvision ? ` (torchvision ${torch.torchvision})` : ''}; rows "tuned malloc": glibc malloc set to keep freed memory (MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ = 4 GiB; see bench/backends/torch.mjs), rows "default malloc": glibc's defaults` : torch.reason}`,
  ];
}

export function markdownReport({ results, targets, referenceId, machine, context, command, date, seconds, notes }) {
  const lines = [
    '# Benchmarks',
    '',
    `Written by \`${command}\` on ${date}, in ${Math.round(seconds)} s. Rerun it to refresh this file.`,
    '',
    '## Machine',
    '',
    ...machineLines(machine, context),
    '',
    '## Method',
    '',
    `- Data: ${describeData()}.`,
    '- Sigmoid alpha = 0.25 everywhere (focal-loss and torchvision default); softmax without alpha. Loss reduction: mean.',
    '- Forward = the loss only. Forward + gradient = the loss and its gradient with respect to the logits; focal-loss writes the gradient into a preallocated `out: { grad }` buffer, so no allocation is timed (except in the rows "new gradient array": the default call); onnxruntime-node into a preallocated output tensor; tfjs uses `tf.valueAndGrad` and reads both back; PyTorch runs `loss.backward()` (forward only under `torch.no_grad()`).',
    '- Rows "float32 targets" and "float64 logits" are the same call with float32 targets, or with float64 logits and gradient (sigmoid); they and "new gradient array" run at the largest thread count only.',
    '- All rows ran in one `npm run bench` process on the same data (PyTorch in a child Python process on a copy of it).',
    `- ${LEGEND}`,
    ...notes.map((n) => `- ${n}`),
    '',
    '## Results',
  ];
  for (const sizeResult of results.sizes) {
    lines.push(
      '',
      `### ${sizeResult.size.label}`,
      '',
      `${sentence(otherText(sizeResult))}.`,
      '',
      renderMarkdown(timeTable(sizeResult)),
    );
    const ratios = ratioTable(sizeResult, referenceId);
    if (ratios) lines.push('', renderMarkdown(ratios));
    lines.push('', crossCheckText(sizeResult));
  }
  if (results.smallBatch) {
    lines.push('', '## Small batches', '', `${sentence(otherText(results.smallBatch))}.`);
    for (const { kind, table } of smallBatchTables(results.smallBatch)) {
      lines.push('', `### ${kind}`, '', renderMarkdown(table));
    }
    lines.push('', SMALL_BATCH_LEGEND);
  }
  lines.push(
    '',
    '## Targets',
    '',
    'Float32, gamma = 2, forward + gradient unless said; ratios from this run.',
    '',
    renderMarkdown(targetTable(targets)),
    '',
  );
  return lines.join('\n');
}
